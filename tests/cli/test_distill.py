"""`python -m nlp_core distill` end to end: a tiny tagger + parser teacher trained here on
60 EWT sentences teaches a fresh student (config from `init fill-config --distillation`)
on their raw text for a few steps; model-best and model-last load and annotate. Plus
`init config --distillation` and the errors that name what to fix."""
import re

import pytest
import srsly
from typer.testing import CliRunner

import nlp_core
from nlp_core.cli import app
from nlp_core.config import load_config
from nlp_core.formats.conllu import read_conllu_sentences
from tests.tiny_pipelines import DEV, TRAIN, pipeline_config

runner = CliRunner()

def pipeline(width: int) -> str:
    return pipeline_config(width=width, depth=2, maxout_pieces=3, parser=True, max_steps=12,
                           eval_frequency=6)


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    """A teacher trained here for a few steps (its outputs need not be good, only fixed)."""
    tmp = tmp_path_factory.mktemp("teacher")
    config = tmp / "teacher.cfg"
    config.write_text(pipeline(24))
    result = run("train", config, "--output", tmp / "out", "--paths.train", TRAIN,
                 "--paths.dev", DEV)
    assert result.exit_code == 0, result.output
    return tmp / "out" / "model-last"


@pytest.fixture(scope="module")
def raw_text(tmp_path_factory):
    """The train sentences' text as JSONL (no annotation), one bad line among them."""
    path = tmp_path_factory.mktemp("raw") / "text.jsonl"
    lines = [srsly.json_dumps({"text": sent.text}) for sent in read_conllu_sentences(TRAIN)]
    lines.insert(5, "{not json")
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return path


@pytest.fixture
def student_config(tmp_path):
    """The student's config completed by `init fill-config --distillation`."""
    partial = tmp_path / "partial.cfg"
    partial.write_text(pipeline(16))
    path = tmp_path / "student.cfg"
    result = run("init", "fill-config", partial, path, "--distillation")
    assert result.exit_code == 0, result.output
    config = load_config(path)
    assert config["distillation"]["corpus"] == "corpora.distillation"
    assert config["corpora"]["distillation"]["@readers"] == "nlp_core.JsonlCorpus.v1"
    return path


def test_distill_writes_students_that_load(teacher, raw_text, student_config, tmp_path):
    out = tmp_path / "out"
    result = run("distill", teacher, student_config, out, "--paths.raw_text", raw_text,
                 "--paths.dev", DEV, "--distillation.max_steps", 6,
                 "--distillation.eval_frequency", 3, "--distillation.batcher.size", 200)
    assert result.exit_code == 0, result.output
    assert "LOSS TAGGER" in result.output and "LOSS PARSER" in result.output
    held = re.search(r"teacher cache: (\d+) docs held \(\d+ of 1024 MiB\); (\d+) served, "
                     r"(\d+) run", result.output)
    assert held and int(held[1]) == int(held[3]) > 0, result.output
    rows = [line.split() for line in result.output.splitlines() if line[:3].strip().isdigit()]
    assert [row[1] for row in rows] == ["0", "3", "6"]
    teacher_nlp = nlp_core.load(teacher)
    for name in ("model-best", "model-last"):
        student = nlp_core.load(out / name)
        assert student.pipe_names == ["tok2vec", "tagger", "parser"]
        assert student.get_pipe("tagger").labels == teacher_nlp.get_pipe("tagger").labels
        assert set(student.get_pipe("parser").labels) == \
            set(teacher_nlp.get_pipe("parser").labels)
        # the student's own width, not the teacher's
        assert student.get_pipe("tok2vec").model.get_dim("nO") == 16
        doc = student("The cat sat on the mat.")
        assert all(token.tag_ for token in doc) and all(token.dep_ for token in doc)
    meta = srsly.read_json(out / "model-best" / "meta.json")
    assert "tag_acc" in meta["performance"] and "dep_las" in meta["performance"]
    assert meta["performance"]["tagger_loss"] >= 0


def test_init_config_distillation_block(tmp_path):
    path = tmp_path / "student.cfg"
    result = run("init", "config", path, "--pipeline", "tagger,parser", "--distillation")
    assert result.exit_code == 0, result.output
    config = load_config(path)
    block = config["distillation"]
    assert block["student_to_teacher"] == {} and block["max_epochs"] == 1
    assert block["optimizer"]["@optimizers"] == "Adam.v1"
    assert config["paths"]["raw_text"] is None
    plain = tmp_path / "plain.cfg"
    assert run("init", "config", plain, "--pipeline", "tagger").exit_code == 0
    assert "distillation" not in load_config(plain)


def test_errors_name_what_to_fix(teacher, raw_text, student_config, tmp_path):
    result = run("distill", teacher, student_config, tmp_path / "out")
    assert result.exit_code == 1
    assert "paths.raw_text" in result.output and "paths.dev" in result.output
    result = run("distill", tmp_path / "no_teacher", student_config, tmp_path / "out",
                 "--paths.raw_text", raw_text, "--paths.dev", DEV)
    assert result.exit_code == 1 and "E606" in result.output and "no_teacher" in result.output
    result = run("distill", teacher, student_config, tmp_path / "out",
                 "--paths.raw_text", raw_text, "--paths.dev", DEV,
                 "--distillation.student_to_teacher", '{"parser": "nope"}')
    assert result.exit_code == 1 and "E604" in result.output and "nope" in result.output
    result = run("distill", teacher, student_config, tmp_path / "out",
                 "--paths.raw_text", raw_text, "--paths.dev", DEV,
                 "--distillation.max_steps", -3)
    assert result.exit_code == 1 and "E605" in result.output and "max_steps" in result.output
    result = run("distill", teacher, student_config, tmp_path / "out",
                 "--paths.raw_text", raw_text, "--paths.dev", DEV,
                 "--distillation.teacher_cache_mb", -1)
    assert result.exit_code == 1 and "E605" in result.output \
        and "teacher_cache_mb" in result.output
