"""`python -m nlp_core train CONFIG --resume-from PIPELINE`: fine-tune a trained pipeline
(a tiny tagger trained here) with rehearsal on raw text, and the errors that name what to
fix."""

import numpy
import pytest
import srsly
from typer.testing import CliRunner

import nlp_core
from nlp_core.cli import app
from nlp_core.formats.conllu import read_conllu_sentences
from nlp_core.tokens import Doc, DocBin
from nlp_core.vocab import Vocab
from tests.tiny_pipelines import DEV, TRAIN, pipeline_config

runner = CliRunner()

BASE = pipeline_config(width=24, depth=1, maxout_pieces=2, max_steps=10, eval_frequency=5,
                       batch_words=400)

FINETUNE = """
[paths]
raw_text = null

[corpora]

[corpora.raw]
@readers = "nlp_core.JsonlCorpus.v1"
path = ${paths.raw_text}

[training]
max_steps = 4
eval_frequency = 2
rehearse_corpus = "corpora.raw"
"""


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """(trained base pipeline, fine-tuning config, new-tag corpus, raw text)."""
    tmp = tmp_path_factory.mktemp("resume")
    (tmp / "base.cfg").write_text(BASE)
    result = run("train", tmp / "base.cfg", "--output", tmp / "base", "--paths.train", TRAIN,
                 "--paths.dev", DEV)
    assert result.exit_code == 0, result.output
    (tmp / "finetune.cfg").write_text(FINETUNE)
    docbin = DocBin()
    for sent in read_conllu_sentences(DEV):
        tags = ["NEWTAG" if tag == "DT" else None for tag in sent.tags]
        docbin.add(Doc(Vocab(), sent.words, sent.spaces, tags=tags))
    docbin.to_disk(tmp / "new_tag.spacy")
    (tmp / "raw.jsonl").write_text("\n".join(srsly.json_dumps({"text": s.text})
                                             for s in read_conllu_sentences(TRAIN)) + "\n")
    return tmp / "base" / "model-last", tmp / "finetune.cfg", tmp / "new_tag.spacy", \
        tmp / "raw.jsonl"


def test_resume_from_fine_tunes_with_rehearsal(files, tmp_path):
    base, config, new_tag, raw = files
    result = run("train", config, "--resume-from", base, "--output", tmp_path / "out",
                 "--paths.train", new_tag, "--paths.dev", DEV, "--paths.raw_text", raw)
    assert result.exit_code == 0, result.output
    assert "Fine-tuning" in result.output and "Rehearsing on corpora.raw" in result.output
    assert "LOSS REHEARSE_TAGGER" in result.output
    old = nlp_core.load(base)
    tuned = nlp_core.load(tmp_path / "out" / "model-last")
    # the base's components and labels, the new tag added, the fine-tuning settings saved
    assert tuned.pipe_names == old.pipe_names
    assert set(tuned.get_pipe("tagger").labels) == set(old.get_pipe("tagger").labels) | {
        "NEWTAG"}
    assert tuned.config["training"]["rehearse_corpus"] == "corpora.raw"
    assert tuned.config["components"] == old.config["components"]
    assert tuned.meta["performance"]["rehearse_tagger_loss"] > 0
    # the tagger's weights moved from the base's (this is training, not a copy)
    W_old = old.get_pipe("tagger").model.get_ref("output_layer").get_param("W")
    W_new = tuned.get_pipe("tagger").model.get_ref("output_layer").get_param("W")
    assert W_new.shape[0] == W_old.shape[0] + 1
    assert not numpy.allclose(W_new[:W_old.shape[0]], W_old)


def test_rehearse_corpus_without_resume_from_is_an_error(files, tmp_path):
    _, _, _, raw = files
    config = tmp_path / "fresh.cfg"
    config.write_text(BASE.replace("[training]", "[paths]\nraw_text = null\n\n[corpora]\n\n"
                                   "[corpora.raw]\n@readers = \"nlp_core.JsonlCorpus.v1\"\n"
                                   "path = ${paths.raw_text}\n\n[training]\n"
                                   "rehearse_corpus = \"corpora.raw\""))
    result = run("train", config, "--paths.train", TRAIN, "--paths.dev", DEV,
                 "--paths.raw_text", raw)
    assert result.exit_code == 1
    assert "E610" in result.output and "--resume-from" in result.output


def test_resume_from_errors_name_what_to_fix(files, tmp_path):
    base, config, new_tag, raw = files
    result = run("train", config, "--resume-from", tmp_path / "nothing", "--paths.train",
                 new_tag, "--paths.dev", DEV, "--paths.raw_text", raw)
    assert result.exit_code == 1 and "E613" in result.output and "nothing" in result.output
    result = run("train", config, "--resume-from", base, "--paths.train", new_tag,
                 "--paths.dev", DEV, "--paths.raw_text", raw,
                 "--components.tok2vec.model.encode.depth", 3)
    assert result.exit_code == 1 and "E611" in result.output
    assert "components.tok2vec.model.encode.depth" in result.output


def test_help_shows_the_config_sections_it_names():
    """Help texts name config sections in brackets; they are printed as written (Rich markup
    would drop "[nlp]" and leave "its  and  and weights")."""
    result = runner.invoke(app, ["train", "--help"])
    assert result.exit_code == 0
    assert "[nlp] and [components]" in " ".join(result.output.split())
    result = runner.invoke(app, ["pretrain", "--help"])
    assert "with a [pretraining] section" in " ".join(result.output.split())
