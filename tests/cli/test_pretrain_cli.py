"""`python -m nlp_core pretrain` end to end (issue 15): the seed's two pretraining configs
run verbatim (appended to an `init config` pipeline, then `init fill-config --pretraining`),
write checkpoints, resume with the same loss curve, and `[initialize] init_tok2vec` refuses
a checkpoint of another width and a missing path before training starts."""
import json
from pathlib import Path

import numpy
import pytest
from shared_data import REPO_ROOT
from typer.testing import CliRunner
from vector_files import glove_table

from nlp_core.cli import app
from nlp_core.config import load_config
from nlp_core.strings import StringStore
from nlp_core.training.pretrain_checkpoint import read_checkpoint
from nlp_core.vectors import Vectors

SEED_CONFIGS = REPO_ROOT.parent / "shared" / "seed" / "configs"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "training"
TRAIN = FIXTURES / "ewt-train-60.conllu"
DEV = FIXTURES / "ewt-dev-20.conllu"
runner = CliRunner()
# small batches so that the tiny corpus gives several steps
FAST = ["--pretraining.batcher.size", "150"]


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def texts(tmp_path_factory) -> Path:
    prefix = "# text = "
    lines = [line[len(prefix):].strip() for line in TRAIN.read_text(encoding="utf8")
             .splitlines() if line.startswith(prefix)]
    path = tmp_path_factory.mktemp("raw") / "text.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in lines[:30]),
                    encoding="utf8")
    return path


@pytest.fixture(scope="module")
def vectors_dir(tmp_path_factory) -> Path:
    words, table = glove_table(2000)
    vectors = Vectors(strings=StringStore(words), data=table, keys=words)
    path = tmp_path_factory.mktemp("vectors")
    vectors.to_disk(path)
    return path


def _seed_config(tmp_path: Path, seed_name: str, width: int = 96) -> Path:
    """The seed block appended verbatim to an `init config` pipeline, then filled."""
    seed = SEED_CONFIGS / seed_name
    assert seed.exists(), "../shared/seed is missing"
    base = tmp_path / "base.cfg"
    assert run("init", "config", base, "--pipeline", "tagger,parser", "--force").exit_code == 0
    text = base.read_text(encoding="utf8").replace("width = 96", f"width = {width}")
    partial = tmp_path / f"partial_{width}.cfg"
    partial.write_text(text + "\n" + seed.read_text(encoding="utf8"), encoding="utf8")
    filled = tmp_path / f"{seed.stem}_{width}.cfg"
    result = run("init", "fill-config", partial, filled, "--pretraining")
    assert result.exit_code == 0, result.output
    return filled


def _losses(out: Path):
    return [json.loads(line)["loss"] for line in
            (out / "log.jsonl").read_text().splitlines()]


def test_characters_seed_config_pretrains_and_resumes_with_the_same_losses(tmp_path, texts):
    config = _seed_config(tmp_path, "pretraining_characters.cfg")
    whole = tmp_path / "whole"
    result = run("pretrain", config, whole, "--paths.raw_text", texts,
                 "--pretraining.max_epochs", 2, "--pretraining.n_save_every", 5, *FAST)
    assert result.exit_code == 0, result.output
    assert "words/s" in result.output and "Corpus, epoch 0" in result.output
    for name in ("model0.bin", "model1.bin", "model-last.bin"):
        assert (whole / name).exists()
    assert not list(whole.glob("*.temp.bin"))  # removed at the end of each epoch
    last = read_checkpoint(whole / "model-last.bin")
    assert last.provenance["objective"] == {"name": "spacy.PretrainCharacters.v1",
                                            "maxout_pieces": 3, "hidden_size": 300,
                                            "n_characters": 4}
    assert last.provenance["architecture"]["@architectures"] == "spacy.Tok2Vec.v2"
    assert last.provenance["corpus"]["fingerprint"].startswith("blake2b:")
    assert last.provenance["epoch"] == 1 and last.resume is not None
    assert read_checkpoint(whole / "model0.bin").resume is None  # weights only
    curve = _losses(whole)
    n_epoch0 = sum(1 for line in (whole / "log.jsonl").read_text().splitlines()
                   if json.loads(line)["epoch"] == 0)
    assert len(curve) >= 4 and n_epoch0 >= 2
    # a run of one epoch, resumed from its model-last.bin for the second
    resumed = tmp_path / "resumed"
    assert run("pretrain", config, resumed, "--paths.raw_text", texts,
               "--pretraining.max_epochs", 1, *FAST).exit_code == 0
    result = run("pretrain", config, resumed, "--paths.raw_text", texts,
                 "--pretraining.max_epochs", 2, "--resume-path", resumed / "model-last.bin",
                 *FAST)
    assert result.exit_code == 0, result.output
    numpy.testing.assert_allclose(_losses(resumed), curve, rtol=1e-5)


@pytest.mark.slow
def test_resume_from_the_middle_of_an_epoch(tmp_path, texts):
    config = _seed_config(tmp_path, "pretraining_characters.cfg")
    whole = tmp_path / "whole"
    assert run("pretrain", config, whole, "--paths.raw_text", texts,
               "--pretraining.max_epochs", 2, *FAST).exit_code == 0
    curve = _losses(whole)
    # a run stopped after 1 step, resumed from its model-last.bin
    stopped = tmp_path / "stopped"
    assert run("pretrain", config, stopped, "--paths.raw_text", texts,
               "--pretraining.max_epochs", 2, "--max-steps", 1, *FAST).exit_code == 0
    result = run("pretrain", config, stopped, "--paths.raw_text", texts,
                 "--pretraining.max_epochs", 2, "--resume-path", stopped / "model-last.bin",
                 *FAST)
    assert result.exit_code == 0, result.output
    numpy.testing.assert_allclose(_losses(stopped), curve, rtol=1e-5)
    # weights-only epoch files do not resume
    result = run("pretrain", config, tmp_path / "again", "--paths.raw_text", texts,
                 "--resume-path", whole / "model0.bin", *FAST)
    assert result.exit_code == 1 and "E528" in result.output


def test_vectors_seed_config_pretrains_with_a_vectors_table(tmp_path, texts, vectors_dir):
    config = _seed_config(tmp_path, "pretraining_vectors.cfg")
    out = tmp_path / "out"
    result = run("pretrain", config, out, "--paths.raw_text", texts, "--paths.vectors",
                 vectors_dir, "--pretraining.max_epochs", 1, *FAST)
    assert result.exit_code == 0, result.output
    assert (out / "model0.bin").exists() and (out / "model-last.bin").exists()
    checkpoint = read_checkpoint(out / "model-last.bin")
    assert checkpoint.provenance["objective"]["name"] == "spacy.PretrainVectors.v1"
    assert checkpoint.provenance["objective"]["loss"] == "cosine"
    assert all(numpy.isfinite(_losses(out)))
    # without a table it says what is missing
    result = run("pretrain", config, tmp_path / "none", "--paths.raw_text", texts, *FAST)
    assert result.exit_code == 1
    assert "vectors objective" in result.output and "vectors" in result.output


def test_config_without_pretraining_section_is_refused(tmp_path, texts):
    base = tmp_path / "base.cfg"
    run("init", "config", base, "--pipeline", "tagger", "--force")
    result = run("pretrain", base, tmp_path / "out", "--paths.raw_text", texts)
    assert result.exit_code == 1 and "E521" in result.output and "--pretraining" in result.output


def _train(config: Path, init: Path, tmp_path: Path):
    return run("train", config, "--paths.train", TRAIN, "--paths.dev", DEV,
               "--paths.init_tok2vec", init, "--training.max_steps", 2,
               "--output", tmp_path / "trained")


def test_init_tok2vec_checks_width_and_path_before_training(tmp_path, texts):
    config96 = _seed_config(tmp_path, "pretraining_characters.cfg", width=96)
    config128 = _seed_config(tmp_path, "pretraining_characters.cfg", width=128)
    out = tmp_path / "pre"
    assert run("pretrain", config96, out, "--paths.raw_text", texts, "--max-steps", 1,
               "--pretraining.max_epochs", 1, *FAST).exit_code == 0
    result = _train(config128, out / "model-last.bin", tmp_path)
    assert result.exit_code == 1
    assert "width 96 != 128" in result.output and "E527" in result.output
    assert "Pipeline:" not in result.output  # refused before the training loop started
    result = _train(config96, tmp_path / "nothing.bin", tmp_path)
    assert result.exit_code == 1 and "E366" in result.output
    result = _train(config96, out / "model-last.bin", tmp_path)
    assert result.exit_code == 0, result.output
    assert "init_tok2vec: " in result.output and "multi_hash_embed" in result.output
    meta = json.loads((tmp_path / "trained" / "model-last" / "meta.json").read_text())
    assert meta["init_tok2vec"]["checksum"].startswith("sha256:")


def test_init_config_adds_the_pretraining_section_on_request(tmp_path):
    assert run("init", "config", tmp_path / "p.cfg", "--pipeline", "tagger",
               "--pretraining").exit_code == 0
    config = load_config(tmp_path / "p.cfg")
    assert config["pretraining"]["objective"]["@architectures"] == (
        "nlp_core.PretrainCharacters.v1")
    assert config["corpora"]["pretrain"]["@readers"] == "nlp_core.JsonlCorpus.v1"
    assert run("init", "config", tmp_path / "t.cfg", "--pipeline", "tagger").exit_code == 0
    assert "pretraining" not in load_config(tmp_path / "t.cfg")


def test_epoch_resume_needs_a_resume_path(tmp_path, texts):
    config = _seed_config(tmp_path, "pretraining_characters.cfg")
    result = run("pretrain", config, tmp_path / "out", "--paths.raw_text", texts,
                 "--epoch-resume", 2)
    assert result.exit_code == 1 and "E533" in result.output
    assert "--resume-path" in result.output
