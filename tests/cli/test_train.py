"""`python -m nlp_core train` end to end: a small tok2vec + tagger on 60 EWT sentences."""
import sys

import pytest
import srsly
from typer.testing import CliRunner

import nlp_core
from nlp_core.cli import app
from tests.tiny_pipelines import DEV, TRAIN, pipeline_config

runner = CliRunner()

# The shared setup of the seed (tok2vec component + listener), with small widths.
TAGGER_CONFIG = pipeline_config(width=16, depth=2, maxout_pieces=3, max_steps=12,
                                eval_frequency=4, batch_words=200)


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def config_path(tmp_path):
    path = tmp_path / "tagger.cfg"
    path.write_text(TAGGER_CONFIG)
    return path


def train(config_path, output, *extra):
    result = run("train", config_path, "--output", output, "--paths.train", TRAIN,
                 "--paths.dev", DEV, *extra)
    assert result.exit_code == 0, result.output
    return result.output


def test_train_writes_models_that_load_and_evaluate(config_path, tmp_path):
    output = train(config_path, tmp_path / "out")
    assert "LOSS TOK2VEC" in output and "LOSS TAGGER" in output and "TAG_ACC" in output
    rows = [line.split() for line in output.splitlines() if line[:3].strip().isdigit()]
    assert [row[1] for row in rows] == ["0", "4", "8", "12"]
    for name in ("model-best", "model-last"):
        nlp = nlp_core.load(tmp_path / "out" / name)
        assert nlp.pipe_names == ["tok2vec", "tagger"]
        assert nlp.get_pipe("tagger").labels
        doc = nlp("The cat sat on the mat.")
        assert all(token.tag_ for token in doc)
    meta = srsly.read_json(tmp_path / "out" / "model-best" / "meta.json")
    scores_path = tmp_path / "scores.json"
    result = run("evaluate", tmp_path / "out" / "model-best", DEV, "--output", scores_path,
                 "--gold-preproc")
    assert result.exit_code == 0, result.output
    scores = srsly.read_json(scores_path)
    assert scores["token_acc"] == 1.0
    assert scores["tag_acc"] == pytest.approx(meta["performance"]["tag_acc"], abs=0.02)
    assert "TAG" in result.output and "words/s" in result.output


def test_same_seed_same_scores(config_path, tmp_path):
    first = train(config_path, tmp_path / "a", "--training.max_steps", "8")
    second = train(config_path, tmp_path / "b", "--training.max_steps", "8")

    def scores(text):
        return [line.split()[:-1] for line in text.splitlines() if line[:3].strip().isdigit()]

    assert scores(first) == scores(second)
    perf = [srsly.read_json(tmp_path / d / "model-last" / "meta.json")["performance"]
            for d in ("a", "b")]
    assert perf[0] == perf[1]
    third = train(config_path, tmp_path / "c", "--training.max_steps", "8",
                  "--system.seed", "7")
    assert scores(third) != scores(first)


def test_missing_values_are_named(config_path, tmp_path):
    result = run("train", config_path, "--output", tmp_path / "out")
    assert result.exit_code == 1
    assert "paths.train" in result.output and "paths.dev" in result.output


def test_missing_corpus_names_the_config_key(config_path, tmp_path):
    result = run("train", config_path, "--paths.train", tmp_path / "nope.spacy",
                 "--paths.dev", DEV)
    assert result.exit_code == 1
    assert "nope.spacy" in result.output
    assert "[corpora.train] path" in result.output and "--paths.train" in result.output


def test_bad_override_is_an_error(config_path):
    result = run("train", config_path, "oops")
    assert result.exit_code == 1 and "oops" in result.output


CODE = '''
from typing import List

import numpy

from nlp_core.ml import StaticVectors
from nlp_core.registry import registry

print("I was imported!")


@registry.architectures("my_example.MyEmbedding.v1")
def MyEmbedding(output_width: int):
    print("I was called!")
    return StaticVectors(nO=output_width)


class SmallVectors:
    """A vectors table for the test (the project has no vectors loader yet)."""

    def __init__(self, vocab, words: List[str], width: int = 8):
        rng = numpy.random.default_rng(0)
        self.keys = {vocab.strings.add(w): i for i, w in enumerate(words)}
        self.data = rng.normal(size=(len(words), width)).astype("float32")

    @property
    def shape(self):
        return self.data.shape

    def find(self, *, keys):
        return numpy.asarray([self.keys.get(int(k), -1) for k in keys], dtype="int64")


@registry.callbacks("my_example.add_vectors.v1")
def add_vectors():
    def after_creation(nlp):
        nlp.vocab.vectors = SmallVectors(nlp.vocab, ["the", "The", "of", ",", ".", "to"])
        return nlp

    return after_creation
'''

CUSTOM_CONFIG = """
[nlp]
lang = "en"
pipeline = ["tagger"]

[nlp.after_creation]
@callbacks = "my_example.add_vectors.v1"

[components]

[components.tagger]
factory = "tagger"

[components.tagger.model]
@architectures = "spacy.Tagger.v2"

[components.tagger.model.tok2vec]
@architectures = "spacy.Tok2Vec.v2"

[components.tagger.model.tok2vec.embed]
@architectures = "my_example.MyEmbedding.v1"
output_width = 16

[components.tagger.model.tok2vec.encode]
@architectures = "spacy.MaxoutWindowEncoder.v2"
width = 16
depth = 1
window_size = 1
maxout_pieces = 3

[training]
max_steps = 4
eval_frequency = 2
"""


def test_code_registers_the_seed_custom_embedding(tmp_path, capfd):
    code = tmp_path / "my_code.py"
    code.write_text(CODE)
    config = tmp_path / "custom.cfg"
    config.write_text(CUSTOM_CONFIG)
    without = run("train", config, "--paths.train", TRAIN, "--paths.dev", DEV)
    assert without.exit_code == 1 and "--code" in without.output
    try:
        output = train(config, tmp_path / "out", "--code", code)
    finally:
        sys.modules.pop("my_code", None)
    printed = capfd.readouterr().out + output
    assert "I was imported!" in printed and "I was called!" in printed
    assert (tmp_path / "out" / "model-last" / "config.cfg").is_file()


def test_gpu_id_without_a_gpu_fails_clearly(config_path, monkeypatch):
    import thinc.api

    def no_gpu(gpu_id=0):
        raise ValueError("No GPU devices detected (cupy is not installed)")

    # on a machine with a GPU, pretend it has none, so the test checks the same message
    monkeypatch.setattr(thinc.api, "require_gpu", no_gpu)
    result = run("train", config_path, "--paths.train", TRAIN, "--paths.dev", DEV,
                 "--gpu-id", "0")
    assert result.exit_code == 1
    assert "--gpu-id 0" in result.output and "cupy" in result.output


def test_a_gpu_run_parses_on_the_cores_but_one(monkeypatch):
    """setup_gpu (train, evaluate, distill, pretrain --gpu-id) with the device faked:
    the inference loops of the parser and NER take the cores but one; -1 leaves them."""
    from nlp_core.cli import train as train_cli
    from nlp_core.ml import parse_threads

    monkeypatch.setattr(train_cli, "require_gpu", lambda gpu_id: None)
    monkeypatch.setattr(parse_threads, "usable_cpus", lambda: 4)
    try:
        train_cli.setup_gpu(-1)
        assert parse_threads.parse_threads() == 1
        train_cli.setup_gpu(0)
        assert parse_threads.parse_threads() == 3
    finally:
        parse_threads.set_parse_threads(1)
