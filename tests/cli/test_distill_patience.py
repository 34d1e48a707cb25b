"""`[distillation] patience`: distillation stops after `patience` steps without a better dev
score, as `[training] patience` does for `train` (a tiny tagger teacher and student)."""

import pytest
import srsly
from typer.testing import CliRunner

from nlp_core.cli import app
from nlp_core.config import load_config
from nlp_core.formats.conllu import read_conllu_sentences
from tests.tiny_pipelines import DEV, TRAIN, pipeline_config

runner = CliRunner()

PIPELINE = pipeline_config(width=16, depth=1, maxout_pieces=2, max_steps=6, eval_frequency=3)


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """(teacher pipeline, student config, raw text)."""
    tmp = tmp_path_factory.mktemp("patience")
    (tmp / "teacher.cfg").write_text(PIPELINE)
    result = run("train", tmp / "teacher.cfg", "--output", tmp / "teacher", "--paths.train",
                 TRAIN, "--paths.dev", DEV)
    assert result.exit_code == 0, result.output
    result = run("init", "fill-config", tmp / "teacher.cfg", tmp / "student.cfg",
                 "--distillation")
    assert result.exit_code == 0, result.output
    assert load_config(tmp / "student.cfg")["distillation"]["patience"] == 0
    raw = tmp / "raw.jsonl"
    raw.write_text("\n".join(srsly.json_dumps({"text": s.text})
                             for s in read_conllu_sentences(TRAIN)) + "\n")
    return tmp / "teacher" / "model-last", tmp / "student.cfg", raw


def distilled_steps(output):
    rows = [line.split() for line in output.splitlines() if line[:3].strip().isdigit()]
    return [int(row[1]) for row in rows]


def distill(setup, out, *options):
    teacher, config, raw = setup
    # token_acc never changes (the tokenizer does not learn), so the score never improves
    return run("distill", teacher, config, out, "--paths.raw_text", raw, "--paths.dev", DEV,
               "--distillation.max_steps", 30, "--distillation.max_epochs", 0,
               "--distillation.eval_frequency", 1, "--distillation.batcher.size", 100,
               "--training.score_weights.token_acc", 1.0,
               "--training.score_weights.tag_acc", 0.0, *options)


def test_patience_stops_distillation_early(setup, tmp_path):
    result = distill(setup, tmp_path / "out", "--distillation.patience", 2)
    assert result.exit_code == 0, result.output
    # the best score is step 0's; two steps later patience runs out
    assert distilled_steps(result.output) == [0, 1, 2]
    assert (tmp_path / "out" / "model-best").is_dir()


def test_without_patience_distillation_runs_to_max_steps(setup, tmp_path):
    result = distill(setup, tmp_path / "out", "--distillation.max_steps", 5)
    assert result.exit_code == 0, result.output
    assert distilled_steps(result.output) == [0, 1, 2, 3, 4, 5]


def test_bad_patience_is_an_error(setup, tmp_path):
    result = distill(setup, tmp_path / "out", "--distillation.patience", -1)
    assert result.exit_code == 1 and "E605" in result.output and "patience" in result.output
