"""`python -m nlp_core evaluate` on a small trained tagger."""
import io

import pytest
import srsly
from typer.testing import CliRunner

from nlp_core.cli import app
from nlp_core.cli.evaluate import format_scores
from nlp_core.cli.train import load_training_config
from nlp_core.training.loop import init_nlp, train
from tests.cli.test_train import DEV, TAGGER_CONFIG, TRAIN
from tests.shared_data import shared_path

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluate")
    config = root / "tagger.cfg"
    config.write_text(TAGGER_CONFIG)
    nlp = init_nlp(load_training_config(str(config), {"paths.train": str(TRAIN),
                                                      "paths.dev": str(DEV),
                                                      "training.max_steps": 6}))
    train(nlp, root / "out", stdout=io.StringIO(), stderr=io.StringIO())
    return root / "out" / "model-last"


def test_raw_text_scores_tokens_by_character_offsets(model, tmp_path):
    out = tmp_path / "scores.json"
    result = run("evaluate", model, DEV, "--output", out)
    assert result.exit_code == 0, result.output
    scores = srsly.read_json(out)
    assert 0.9 < scores["token_f"] < 1.0  # our tokenizer differs from EWT on a few tokens
    assert 0.0 <= scores["tag_acc"] <= 1.0 and scores["speed"] > 0
    for label in ("TOK ", "TOK P", "TOK R", "TOK F", "TAG", "SPEED"):
        assert label in result.output
    assert "UAS" not in result.output  # no parser, no row


def test_gold_tokens(model):
    result = run("evaluate", model, DEV, "--gold-preproc")
    assert result.exit_code == 0, result.output
    assert "TOK F   100.00" in result.output


def test_spacy_docbin_data(model):
    result = run("evaluate", model, shared_path("interop", "ewt-dev-sm.spacy"))
    assert result.exit_code == 0, result.output
    assert "on 200 docs" in result.output


def test_missing_data_and_model_fail_clearly(model, tmp_path):
    result = run("evaluate", model, tmp_path / "none.conllu")
    assert result.exit_code == 1 and "none.conllu" in result.output
    (tmp_path / "empty_model").mkdir()
    result = run("evaluate", tmp_path / "empty_model", DEV)
    assert result.exit_code == 1 and "config.cfg" in result.output


def test_table_shows_parser_entity_and_sentence_scores():
    scores = {"token_acc": 1.0, "tag_acc": 0.9512, "dep_uas": 0.9, "dep_las": 0.85,
              "dep_las_per_type": {"nsubj": {"p": 0.9, "r": 0.8, "f": 0.847}},
              "ents_p": 0.5, "ents_r": 0.25, "ents_f": 1 / 3,
              "ents_per_type": {"PER": {"p": 1.0, "r": 0.5, "f": 2 / 3}},
              "sents_p": 1.0, "sents_r": 1.0, "sents_f": 1.0, "pos_acc": None,
              "speed": 12345.6}
    table = format_scores(scores)
    assert "TAG     95.12" in table and "POS     -" in table
    assert "UAS     90.00" in table and "LAS     85.00" in table
    assert "NER F   33.33" in table and "SENT F  100.00" in table
    assert "SPEED   12346 words/s" in table
    assert "nsubj" in table and "PER" in table
