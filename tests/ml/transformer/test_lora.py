"""LoRA adapters on the HF encoder (nlp_core/ml/transformer/lora.py): only the adapters
train, the base weights stay bit-identical, predictions use merged weights that agree with
the unmerged sum, bfloat16 / int8 run on them, and a saved pipeline reads them back."""
import numpy
import pytest
import torch
from pipeline.toy_pipelines import TOY, make_examples
from safetensors import safe_open
from thinc.api import fix_random_seed
from typer.testing import CliRunner

import nlp_core
from nlp_core.cli import app
from nlp_core.ml.transformer.lora import (
    LoraLinear,
    add_adapters,
    lora_layers,
    merged_copy,
    weights_changed,
)
from tests.tiny_pipelines import DEV, TRAIN

DOC_SPANS = {"@span_getters": "spacy-transformers.doc_spans.v1"}
TEXTS = [text for text, _, _ in TOY] + ["the cat sat on the mat and the dog ran fast " * 3]


@pytest.fixture(autouse=True)
def _seeded():
    fix_random_seed(0)


def lora_nlp(path, *, rank=4, **settings):
    nlp = nlp_core.blank("en")
    nlp.add_pipe("transformer", config={"model": {
        "name": str(path), "get_spans": DOC_SPANS, "lora_rank": rank, **settings}})
    nlp.add_pipe("tagger", config={"model": {"tok2vec": {
        "@architectures": "spacy-transformers.TransformerListener.v1", "grad_factor": 1.0,
        "pooling": {"@layers": "reduce_mean.v1"}}}})
    return nlp


def encoder_of(nlp):
    return nlp.get_pipe("transformer").model.encoder


def outputs(nlp, texts=TEXTS):
    return [doc._.trf_data.wordpiece_output.copy() for doc in nlp.pipe(texts)]


def randomise_adapters(encoder, seed=1):
    """Adapters with non-zero B, as after training, so that they change the output."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, layer in lora_layers(encoder):
            layer.lora_b.copy_(torch.randn(layer.lora_b.shape, generator=generator) * 0.05)
    weights_changed(encoder)


def test_training_steps_only_the_adapters(tiny_bert):
    nlp = lora_nlp(tiny_bert)
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    encoder = encoder_of(nlp)
    wrapped = [name for name, _ in lora_layers(encoder)]
    # 2 layers x (query, key, value, attention.output.dense, intermediate.dense,
    # output.dense); the pooler's dense layer is no target
    assert len(wrapped) == 12 and not any("pooler" in name for name in wrapped)
    trainable = {n for n, p in encoder.named_parameters() if p.requires_grad}
    assert trainable and all(n.endswith((".lora_a", ".lora_b")) for n in trainable)
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    losses = [nlp.update(examples, sgd=optimizer)["tagger"] for _ in range(8)]
    assert losses[-1] < losses[0]
    after = encoder.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == trainable
    # the optimizer keeps state for the adapters only
    shim_id = nlp.get_pipe("transformer").model.shims[0].id
    keys = {name for key, name in optimizer.mom1 if key == shim_id}
    assert keys == {"encoder." + name for name in trainable}


def test_adapters_receive_every_listeners_gradient_with_learn_rate_scale(tiny_bert):
    nlp = lora_nlp(tiny_bert)
    nlp.get_pipe("transformer").cfg["learn_rate_scale"] = 0.5
    nlp.add_pipe("tagger", name="upos", config={"attr": "pos", "model": {"tok2vec": {
        "@architectures": "spacy-transformers.TransformerListener.v1", "grad_factor": 1.0,
        "pooling": {"@layers": "reduce_max.v1"}}}})
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    encoder = encoder_of(nlp)
    first = {n: p.detach().clone() for n, p in encoder.named_parameters()}
    for _ in range(3):
        losses = nlp.update(examples, sgd=optimizer)
    assert losses["transformer"] > 0 and losses["upos"] > 0
    moved = {n for n, p in encoder.named_parameters() if not torch.equal(p, first[n])}
    assert moved == {n for n, p in encoder.named_parameters() if p.requires_grad}


def test_merged_prediction_equals_the_unmerged_sum(tiny_bert):
    nlp = lora_nlp(tiny_bert)
    nlp.initialize(lambda: make_examples(nlp))
    encoder = encoder_of(nlp)
    randomise_adapters(encoder)
    layer = encoder.encoder.layer[0].attention.self.query
    x = torch.randn(3, 5, layer.in_features)
    with torch.no_grad():
        merged = layer(x)
        plain_base = layer.base(x)
    unmerged = layer(x).detach()  # gradient wanted: base + scale * B A x
    assert layer._merged  # the merged weight is kept for the next prediction
    torch.testing.assert_close(merged, unmerged, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(merged, plain_base, atol=1e-4)
    # the whole encoder: a prediction (merged) against a training forward (unmerged)
    predicted = outputs(nlp)
    trf = nlp.get_pipe("transformer")
    full, _ = trf.model.begin_update([nlp.make_doc(t) for t in TEXTS])
    for got, want in zip(predicted, full.doc_data):
        numpy.testing.assert_allclose(got, want.wordpiece_output, rtol=1e-4, atol=1e-5)


def test_merged_weight_follows_an_update(tiny_bert):
    nlp = lora_nlp(tiny_bert)
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(3):
        nlp.update(examples, sgd=optimizer)
    first = outputs(nlp)
    for _ in range(3):
        nlp.update(examples, sgd=optimizer)
    second = outputs(nlp)
    trf = nlp.get_pipe("transformer")
    full, _ = trf.model.begin_update([nlp.make_doc(t) for t in TEXTS])
    assert any(not numpy.allclose(a, b, atol=1e-6) for a, b in zip(first, second))
    for got, want in zip(second, full.doc_data):
        numpy.testing.assert_allclose(got, want.wordpiece_output, rtol=1e-4, atol=1e-5)


def test_bfloat16_and_int8_run_on_the_merged_weights(tiny_bert):
    nlp = lora_nlp(tiny_bert)
    nlp.initialize(lambda: make_examples(nlp))
    trf = nlp.get_pipe("transformer")
    base_only = outputs(nlp)  # B = 0: the adapters change nothing yet
    randomise_adapters(encoder_of(nlp))
    want = outputs(nlp)
    shift = max(numpy.abs(w - b).max() for w, b in zip(want, base_only))
    for value in ("bfloat16", "int8"):
        trf.cpu_inference = value
        trf._sync_settings()
        got = outputs(nlp)
        for g, w in zip(got, want):
            assert numpy.abs(g - w).max() <= 0.05 * numpy.abs(w).max()
        error = max(numpy.abs(g - w).max() for g, w in zip(got, want))
        assert error < shift / 2  # the adapters are in the int8 / bfloat16 arithmetic
    int8 = trf.model.shims[0]._model._int8[0]
    assert not any(isinstance(m, LoraLinear) for m in int8.modules())
    assert torch.ao.nn.quantized.dynamic.Linear in {type(m) for m in int8.modules()}


def test_merged_copy_is_a_plain_encoder(tiny_bert):
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(str(tiny_bert)).eval()
    add_adapters(encoder, rank=2, alpha=4.0, targets=["query", "value"], dropout=0.1)
    randomise_adapters(encoder)
    plain = merged_copy(encoder)
    assert not any(isinstance(m, LoraLinear) for m in plain.modules())
    assert [type(m) for m in encoder.modules()].count(LoraLinear) == 4
    ids = torch.tensor([[2, 40, 41, 42, 3]])
    with torch.no_grad():
        torch.testing.assert_close(plain(input_ids=ids).last_hidden_state,
                                   encoder(input_ids=ids).last_hidden_state)


def test_saved_pipeline_reads_its_adapters_back(tiny_bert, tmp_path):
    nlp = lora_nlp(tiny_bert)
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(4):
        nlp.update(examples, sgd=optimizer)
    randomise_adapters(encoder_of(nlp))
    want = outputs(nlp)
    tags = [[t.tag_ for t in doc] for doc in nlp.pipe(TEXTS)]
    nlp.to_disk(tmp_path / "pipeline")
    folder = tmp_path / "pipeline" / "transformer" / "model"
    with safe_open(str(folder / "model.safetensors"), framework="pt") as handle:
        keys = set(handle.keys())  # the plain encoder's names: loadable by HF alone
    assert "encoder.layer.0.attention.self.query.weight" in keys
    assert not any(".base." in k or "lora_" in k for k in keys)
    with safe_open(str(folder / "adapters.safetensors"), framework="pt") as handle:
        assert len(list(handle.keys())) == 24
    loaded = nlp_core.load(tmp_path / "pipeline")
    for got, w in zip(outputs(loaded), want):
        numpy.testing.assert_array_equal(got, w)
    assert [[t.tag_ for t in doc] for doc in loaded.pipe(TEXTS)] == tags
    assert {n for n, p in encoder_of(loaded).named_parameters() if p.requires_grad} == \
        {n for n, p in encoder_of(nlp).named_parameters() if p.requires_grad}


def test_lora_settings_are_checked(tiny_bert):
    for key, value in (("lora_rank", -1), ("lora_alpha", 0), ("lora_targets", []),
                       ("lora_dropout", 1.0)):
        with pytest.raises(ValueError, match=f"E710.*{key}"):
            lora_nlp(tiny_bert, **{key: value})
    nlp = lora_nlp(tiny_bert, lora_targets=["no_such_layer"])
    with pytest.raises(ValueError, match="E711.*no_such_layer.*query"):
        nlp.initialize(lambda: make_examples(nlp))


def test_rank_zero_changes_nothing(tiny_bert):
    nlp = lora_nlp(tiny_bert, rank=0)
    nlp.initialize(lambda: make_examples(nlp))
    encoder = encoder_of(nlp)
    assert not lora_layers(encoder)
    assert all(p.requires_grad for p in encoder.parameters())


LORA_TRAIN_CONFIG = """
[nlp]
lang = "en"
pipeline = ["transformer", "tagger"]

[components]

[components.transformer]
factory = "transformer"
learn_rate_scale = 2.0

[components.transformer.model]
@architectures = "spacy-transformers.TransformerModel.v3"
name = "{name}"
lora_rank = 4
lora_alpha = 8.0
lora_targets = ["query", "value"]

[components.transformer.model.get_spans]
@span_getters = "spacy-transformers.doc_spans.v1"

[components.tagger]
factory = "tagger"

[components.tagger.model]
@architectures = "spacy.Tagger.v2"

[components.tagger.model.tok2vec]
@architectures = "spacy-transformers.TransformerListener.v1"
grad_factor = 1.0

[components.tagger.model.tok2vec.pooling]
@layers = "reduce_mean.v1"

[training]
max_steps = 6
eval_frequency = 3

[training.batcher]
@batchers = "spacy.batch_by_words.v1"
size = 300
"""


def test_train_command_trains_the_adapters(tiny_bert, tmp_path):
    config = tmp_path / "lora.cfg"
    config.write_text(LORA_TRAIN_CONFIG.format(name=tiny_bert))
    result = CliRunner().invoke(app, ["train", str(config), "--output", str(tmp_path / "out"),
                                      "--paths.train", str(TRAIN), "--paths.dev", str(DEV)])
    assert result.exit_code == 0, result.output
    trained = nlp_core.load(tmp_path / "out" / "model-last")
    encoder = encoder_of(trained)
    assert len(lora_layers(encoder)) == 4
    assert any(float(layer.lora_b.detach().abs().max()) > 0 for _, layer in lora_layers(encoder))
    fresh = lora_nlp(tiny_bert, lora_targets=["query", "value"])
    fresh.initialize(lambda: make_examples(fresh))
    base = {k: v for k, v in encoder_of(fresh).state_dict().items() if "lora_" not in k}
    for key, value in encoder.state_dict().items():
        if "lora_" not in key:
            assert torch.equal(value, base[key]), key


def test_merged_weight_follows_the_layer_to_another_dtype():
    layer = LoraLinear(torch.nn.Linear(6, 5), rank=2, alpha=4.0, dropout=0.0)
    with torch.no_grad():
        layer.lora_b.normal_()
        layer(torch.randn(2, 6))  # the float32 merged weight is kept
    layer.double()
    x = torch.randn(2, 6, dtype=torch.float64)
    with torch.no_grad():
        merged = layer(x)
    unmerged = layer(x).detach()
    assert merged.dtype == torch.float64
    torch.testing.assert_close(merged, unmerged)
