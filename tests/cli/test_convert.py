"""`python -m nlp_core convert`: outputs, summary, formats, bad input."""
import json
import subprocess
import sys
from pathlib import Path

from shared_data import shared_path
from typer.testing import CliRunner

from nlp_core.cli import app
from nlp_core.formats import read_conllu
from nlp_core.tokens import DocBin
from nlp_core.vocab import Vocab

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "formats"
REPO_ROOT = Path(__file__).resolve().parent.parent.parent
runner = CliRunner()


def test_conllu_to_spacy_with_summary(tmp_path):
    src = shared_path("ud_english_ewt", "en_ewt-ud-dev.conllu")
    result = runner.invoke(app, ["convert", str(src), str(tmp_path / "out"), "--n-sents", "10"])
    assert result.exit_code == 0, result.output
    assert "201 docs, 2001 sentences, 25147 tokens, 0 entities" in result.output
    out = tmp_path / "out" / "en_ewt-ud-dev.spacy"
    docs = list(DocBin().from_disk(out).get_docs(Vocab()))
    expected = list(read_conllu(src, n_sents=10))
    assert [d.text for d in docs] == [d.text for d in expected]
    assert [[t.dep_ for t in d] for d in docs] == [[t.dep_ for t in d] for d in expected]


def test_iob_with_explicit_converter_and_jsonl_output(tmp_path):
    src = FIXTURES / "uner.iob2"
    result = runner.invoke(app, ["convert", str(src), str(tmp_path), "-c", "iob", "-n", "2",
                                 "--file-type", "jsonl"])
    assert result.exit_code == 0, result.output
    assert "1 docs, 2 sentences, 10 tokens, 3 entities" in result.output
    (record,) = [json.loads(line) for line in (tmp_path / "uner.jsonl").read_text().splitlines()]
    assert record["text"] == "Alice lives in New York. Bob ca n't come"
    assert record["ents"][:2] == ["B-PER", "O"]


def test_directory_input_keeps_relative_paths(tmp_path):
    src = tmp_path / "corpus"
    (src / "sub").mkdir(parents=True)
    (src / "a.conllu").write_bytes((FIXTURES / "sample.conllu").read_bytes())
    (src / "sub" / "b.iob2").write_bytes((FIXTURES / "uner.iob2").read_bytes())
    (src / "notes.txt").write_text("not a corpus")
    result = runner.invoke(app, ["convert", str(src), str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "a.spacy").exists()
    assert (tmp_path / "out" / "sub" / "b.spacy").exists()
    assert "Total: 4 docs, 4 sentences, 20 tokens, 6 entities" in result.output


def test_missing_input_fails_clearly(tmp_path):
    result = runner.invoke(app, ["convert", str(tmp_path / "nope.conllu"), str(tmp_path)])
    assert result.exit_code == 1
    assert "does not exist" in result.output


def test_unknown_extension_and_converter_fail_clearly(tmp_path):
    src = tmp_path / "data.txt"
    src.write_text("hello")
    result = runner.invoke(app, ["convert", str(src), str(tmp_path / "out")])
    assert result.exit_code == 1 and "--converter" in result.output
    result = runner.invoke(app, ["convert", str(src), str(tmp_path / "out"), "-c", "xml"])
    assert result.exit_code == 1 and "Unknown converter 'xml'" in result.output


def test_malformed_input_reports_line_or_skips(tmp_path):
    src = tmp_path / "bad.conllu"
    src.write_text("1\tok\tok\tADJ\tJJ\t_\t0\troot\t_\t_\n\n1\tbroken\n\n", encoding="utf8")
    result = runner.invoke(app, ["convert", str(src), str(tmp_path / "out")])
    assert result.exit_code == 1
    assert f"{src}:3:" in result.output
    result = runner.invoke(app, ["convert", str(src), str(tmp_path / "out"), "--on-error", "skip"])
    assert result.exit_code == 0, result.output
    assert "1 docs, 1 sentences, 1 tokens, 0 entities, 1 bad records skipped" in result.output
    assert f"first bad record: [E159] {src}:3:" in result.output


def test_text_jsonl_without_lang_explains_the_fix(tmp_path):
    src = tmp_path / "texts.jsonl"
    src.write_text('{"text": "Hello world"}\n', encoding="utf8")
    result = runner.invoke(app, ["convert", str(src), str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "--lang" in result.output


def test_help_and_module_entry_point():
    proc = subprocess.run([sys.executable, "-m", "nlp_core", "convert", "--help"],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert proc.returncode == 0
    assert "--n-sents" in proc.stdout and "--converter" in proc.stdout
