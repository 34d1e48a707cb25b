""".spacy input and pipelines with components: the annotation columns hold what the Docs
hold (checked against the values spaCy itself wrote for the interop fixture), a corrupt
DocBin is one dead letter, so is one that would inflate past --max-decompressed-mb, and a
document the pipeline fails on is dead-lettered alone."""
import json
import os
import shutil
import zlib

import pytest
import srsly
from shared_data import shared_path

import nlp_core
from beam_jobs import annotate
from nlp_core.language import Language
from nlp_core.tokens import DocBin, Span
from nlp_core.tokens.docbin import DocBinTooLarge


def _args(pattern, output, *extra):
    return ["--input", pattern, "--output", str(output), "--runner=FnApiRunner", *extra]


def test_spacy_files_keep_their_annotations(tmp_path, read_table):
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(shared_path("interop", "ewt-dev-sm.spacy"), inputs / "ewt.spacy")
    (inputs / "broken.spacy").write_bytes(b"not a docbin")
    summary = annotate.run(_args(str(inputs / "*.spacy"), tmp_path / "out", "--model",
                                 "blank:en", "--keep-text"))
    assert summary["input_format"] == "spacy"
    assert summary["counts"]["read"] == 201 and summary["reconciled"]
    _, dead = read_table(tmp_path / "out", "dead_letter")
    assert [(d["error_type"], d["source"].endswith("broken.spacy")) for d in dead] \
        == [("bad_docbin", True)]
    _, rows = read_table(tmp_path / "out", "annotations")
    expected = [json.loads(line) for line in
                shared_path("interop", "ewt-dev-sm.jsonl").read_text().splitlines()]
    assert len(rows) == len(expected) == 200
    for row, exp in zip(rows, expected):
        assert row["offset"] == exp["i"] and row["text"] == exp["text"]
        assert row["doc_id"] == f"{row['source']}@{exp['i']}"
        for column in ("tag", "pos", "lemma", "dep", "head"):
            assert row[column] == exp[column], (exp["i"], column)
        assert row["sent_start"][0] is True
        assert [i for i, s in enumerate(row["sent_start"]) if s] \
            == [i for i, s in enumerate(exp["is_sent_start"]) if s]
        assert [(e["start_char"], e["end_char"], e["label"]) for e in row["ents"]] \
            == [(start_char, end_char, label) for _, _, label, start_char, end_char
                in exp["ents"]]
        assert row["spans"] is None


@Language.component("beam_test_tag_x")
def tag_x_or_fail(doc):
    """Tags every token 'X', marks the first token as an entity; fails on 'BOOM'."""
    if "BOOM" in doc.text:
        raise ValueError("cannot annotate BOOM")
    doc.set_column("tag", [doc.vocab.strings.add("X")] * len(doc))
    doc.ents = [Span(doc, 0, 1, label="FIRST")]
    doc.spans["firsts"] = [Span(doc, 0, 1, label="W"), Span(doc, 0, len(doc))]
    return doc


def test_pipeline_directory_and_failing_documents(tmp_path, read_table):
    nlp = nlp_core.blank("en", meta={"name": "tagx", "version": "1.2.3"})
    nlp.add_pipe("beam_test_tag_x")
    nlp.to_disk(tmp_path / "model")
    records = [{"id": "ok", "text": "Fine text here."}, {"id": "bad", "text": "BOOM goes it"},
               {"id": "ok2", "text": "Also fine"}]
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    summary = annotate.run(_args(str(tmp_path / "in.jsonl"), tmp_path / "out", "--model",
                                 str(tmp_path / "model"), "--batch-size", "8"))
    assert summary["model"]["name"] == "en_tagx" and summary["model"]["version"] == "1.2.3"
    assert summary["counts"]["dead_letter_by_reason"] == {"annotation_error": 1}
    _, dead = read_table(tmp_path / "out", "dead_letter")
    assert dead[0]["doc_id"] == "bad" and "cannot annotate BOOM" in dead[0]["message"]
    assert dead[0]["raw"] == "BOOM goes it" and dead[0]["line"] == 2
    _, rows = read_table(tmp_path / "out", "annotations")
    assert [r["doc_id"] for r in rows] == ["ok", "ok2"]
    for row in rows:
        n = len(row["token_start"])
        assert row["tag"] == ["X"] * n and row["pos"] is None and row["dep"] is None
        assert row["ents"] == [{"start_char": 0, "end_char": row["token_end"][0],
                                "label": "FIRST"}]
        assert row["spans"] == [
            {"group": "firsts", "start_char": 0, "end_char": row["token_end"][0],
             "label": "W"},
            {"group": "firsts", "start_char": 0, "end_char": row["token_end"][-1],
             "label": None}]
        assert row["pipeline"] == {"name": "en_tagx", "version": "1.2.3"}


def test_span_groups_from_spacy_input(tmp_path, read_table):
    nlp = nlp_core.blank("en")
    doc = nlp("Acme Corp hired Jane Doe.")
    doc.spans["people"] = [Span(doc, 3, 5, label="PERSON")]
    DocBin(docs=[doc, nlp("No groups.")], store_user_data=True).to_disk(tmp_path / "d.spacy")
    annotate.run(_args(str(tmp_path / "d.spacy"), tmp_path / "out", "--model", "blank:en"))
    _, rows = read_table(tmp_path / "out", "annotations")
    assert rows[0]["spans"] == [{"group": "people", "start_char": 16, "end_char": 24,
                                 "label": "PERSON"}]
    assert rows[1]["spans"] is None and rows[0]["ents"] is None


def _bomb(n_bytes):
    """zlib data that inflates to `n_bytes` (a DocBin-looking msgpack map of zeros)."""
    return zlib.compress(srsly.msgpack_dumps({"version": "0.1", "attrs": [65],
                                              "tokens": b"\0" * n_bytes}), 9)


def test_docbin_inflation_can_be_capped():
    nlp = nlp_core.blank("en")
    data = DocBin(docs=[nlp("Two words.")]).to_bytes()
    docs = DocBin().from_bytes(data, max_size=len(zlib.decompress(data)))
    assert [d.text for d in docs.get_docs(nlp.vocab)] == ["Two words."]
    with pytest.raises(DocBinTooLarge, match=r"bomb\.spacy: the DocBin inflates to more than "
                                              r"1048576 bytes"):
        DocBin().from_bytes(_bomb(8 << 20), source="bomb.spacy", max_size=1 << 20)
    with pytest.raises(ValueError, match="not zlib-compressed"):  # a cut stream, as before
        DocBin().from_bytes(data[:-3], max_size=1 << 20)


def test_spacy_files_past_the_decompression_cap_are_dead_letters(tmp_path, read_table):
    inputs = tmp_path / "in"
    inputs.mkdir()
    nlp = nlp_core.blank("en")
    DocBin(docs=[nlp("Small and fine.")]).to_disk(inputs / "fine.spacy")
    (inputs / "bomb.spacy").write_bytes(_bomb(3 << 20))  # ~3 KB on disk
    (inputs / "big.spacy").write_bytes(os.urandom(3 << 19))  # over the cap before inflating
    summary = annotate.run(_args(str(inputs / "*.spacy"), tmp_path / "out", "--model",
                                 "blank:en", "--max-decompressed-mb", "1"))
    assert summary["counts"]["read"] == 3 and summary["counts"]["annotated"] == 1
    _, dead = read_table(tmp_path / "out", "dead_letter")
    assert [(os.path.basename(d["source"]), d["error_type"]) for d in dead] \
        == [("big.spacy", "file_too_large"), ("bomb.spacy", "file_too_large")]
    assert all("raise --max-decompressed-mb (now 1)" in d["message"] for d in dead)
