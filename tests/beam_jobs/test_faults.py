"""Faults while annotating: a pipeline that raises on some documents of a batch
dead-letters exactly those (with the exception's type and message) and annotates the rest;
the batch is not lost."""
import json

import nlp_core
from beam_jobs import annotate
from beam_jobs.model import SharedPipeline
from nlp_core.language import Language

MARKER = "KABOOM"


@Language.component("beam_test_fail_on_marker")
def fail_on_marker(doc):
    """Raises on any document that contains MARKER; tags every other token 'OK'."""
    if MARKER in doc.text:
        raise RuntimeError(f"refusing {doc.text[:20]!r}")
    doc.set_column("tag", [doc.vocab.strings.add("OK")] * len(doc))
    return doc


def _model(tmp_path):
    nlp = nlp_core.blank("en", meta={"name": "faulty"})
    nlp.add_pipe("beam_test_fail_on_marker")
    nlp.to_disk(tmp_path / "model")
    return str(tmp_path / "model")


def test_shared_pipeline_isolates_the_failing_inputs(tmp_path):
    pipeline = SharedPipeline(_model(tmp_path))
    texts = [f"text number {i}" for i in range(300)]
    bad = {7, 150, 151, 299}
    for i in bad:
        texts[i] = f"{MARKER} {i}"
    docs, pieces, failures = pipeline.annotate_pieces(texts)
    assert [i for i, _ in failures] == sorted(bad)
    assert failures[0][1] == f"RuntimeError: refusing '{MARKER} 7'"
    assert [d.text for d in docs] == [t for i, t in enumerate(texts) if i not in bad]
    assert all(d[0].tag_ == "OK" for d in docs) and len(pieces) == len(docs)


def test_one_failing_document_does_not_fail_its_batch(tmp_path, read_table):
    records = [{"id": f"d{i}", "text": f"Document {i} is fine."} for i in range(500)]
    records[123]["text"] = f"This one says {MARKER}."
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    summary = annotate.run(["--input", str(tmp_path / "in.jsonl"), "--output",
                            str(tmp_path / "out"), "--model", _model(tmp_path),
                            "--batch-size", "1000", "--runner=FnApiRunner"])
    assert summary["reconciled"]
    assert summary["counts"]["annotated"] == 499
    assert summary["counts"]["dead_letter_by_reason"] == {"annotation_error": 1}
    _, dead = read_table(tmp_path / "out", "dead_letter")
    assert [(d["doc_id"], d["error_type"], d["line"]) for d in dead] \
        == [("d123", "annotation_error", 124)]
    assert dead[0]["message"] == f"RuntimeError: refusing 'This one says {MARKER}'"
    assert dead[0]["raw"] == records[123]["text"]
    _, rows = read_table(tmp_path / "out", "annotations")
    assert sorted(r["doc_id"] for r in rows) == sorted(f"d{i}" for i in range(500) if i != 123)
    assert all(set(r["tag"]) == {"OK"} for r in rows)
