"""Long documents are annotated in pieces (beam_jobs/pieces.py), so that a worker's memory
stays bounded whatever a document's length: the pipeline never sees more than a piece, and
the joined Doc has the whole text's tokens with annotations mapped back."""
import json
import os
import subprocess
import sys

import numpy
import pytest

import nlp_core
from beam_jobs.arrow import docs_to_record_batch
from beam_jobs.model import SharedPipeline
from beam_jobs.pieces import annotate_in_pieces, cuts, join, split
from beam_jobs.records import Record
from nlp_core.tokens import Doc

SENTENCES = ["Apple Inc. sold 3 million phones in Paris last year.",
             "Mr. Smith didn't go to Washington, D.C. on Monday!",
             "\u201cWhy not?\u201d she asked (quietly).",
             "The U.S. economy grew by 2.5% according to the report."]


def _text(n_paragraphs: int, per_paragraph: int = 6) -> str:
    paragraphs = []
    for p in range(n_paragraphs):
        paragraphs.append(" ".join(SENTENCES[(p + k) % len(SENTENCES)]
                                   for k in range(per_paragraph)))
    return "\n\n".join(paragraphs) + "\n"


def _tokens(doc: Doc):
    return list(zip(doc.column("orth").tolist(), doc.column("idx").tolist(),
                    doc.column("trailing_space").tolist()))


@pytest.fixture(scope="module")
def blank():
    return nlp_core.blank("en")


def test_pieces_have_the_whole_texts_tokens_and_cut_at_paragraphs(blank):
    text = _text(12)
    doc = blank(text)
    pieces = split(doc, 700)
    assert len(pieces) > 3
    assert all(len(p.text) <= 700 for p in pieces)
    joined = join(pieces, text)
    assert joined.text == text
    assert _tokens(joined) == _tokens(doc)
    for start in cuts(doc, 700)[1:]:  # every window here holds a paragraph break
        assert text[:doc[start].idx].endswith("\n\n")


def test_cut_kinds_fall_back_to_sentences_then_any_token(blank):
    one_line = " ".join(SENTENCES * 8)  # no line breaks: cut after a sentence's end
    doc = blank(one_line)
    for start in cuts(doc, 400)[1:]:
        before = one_line[:doc[start].idx].rstrip()
        assert before[-1] in ".!?)\u201d", before[-30:]
    assert _tokens(join(split(doc, 400), one_line)) == _tokens(doc)
    run = "x" * 50 + ("-ab" * 300)  # no whitespace at all: cut at token boundaries
    doc = blank(run)
    pieces = split(doc, 200)
    if len(doc) > 1:  # the tokenizer may split the run; each cut is a token boundary
        assert "".join(p.text for p in pieces) == run
        assert _tokens(join(pieces, run)) == _tokens(doc)


def test_pipeline_calls_hold_at_most_group_chars(blank):
    calls = []

    def pipe(inputs):
        calls.append(sum(len(x if isinstance(x, str) else x.text) for x in inputs))
        return list(blank.pipe(inputs))

    shorts = [_text(1)[:900] + str(i) for i in range(7)]
    long = _text(30)
    inputs = shorts[:3] + [long] + shorts[3:]
    out = list(annotate_in_pieces(pipe, blank.make_doc, inputs, piece_chars=1000,
                                  group_chars=2500))
    assert [doc.text for doc, _ in out] == inputs
    assert max(calls) <= 2500 and sum(calls) == sum(len(x) for x in inputs)
    assert len(out[3][1]) > 5 and all(len(parts) == 1 for i, (_, parts) in enumerate(out)
                                      if i != 3)


@pytest.fixture(scope="module")
def shared_sm():
    return SharedPipeline("en_ewt_sm", piece_chars=1500)


def test_long_documents_reach_the_pipeline_in_pieces(shared_sm, monkeypatch):
    text = _text(20)
    seen = []
    original = shared_sm._pipe

    def recording(inputs):
        seen.extend(len(x if isinstance(x, str) else x.text) for x in inputs)
        return original(inputs)

    monkeypatch.setattr(shared_sm, "_pipe", recording)
    short = "A short document about Paris."
    docs, pieces, failures = shared_sm.annotate_pieces([short, text])
    assert not failures and len(docs) == 2
    doc = docs[1]
    assert doc.text == text and len(pieces[1]) > 2
    assert max(seen) <= 1500 and len(seen) == 1 + len(pieces[1]), seen  # never whole
    assert _tokens(doc) == _tokens(shared_sm.nlp.make_doc(text))
    heads = doc.column("head") + numpy.arange(len(doc))
    assert heads.min() >= 0 and heads.max() < len(doc)
    start = 0
    for piece in pieces[1]:
        alone = shared_sm.nlp(piece.text)  # each piece is annotated as a document alone
        assert [t.tag_ for t in doc[start:start + len(piece)]] == [t.tag_ for t in alone]
        assert doc[start].is_sent_start
        start += len(piece)
    assert doc.ents and all(text[e.start_char:e.end_char] == e.text for e in doc.ents)
    record = Record("long", "f", 0, 1, text, None, len(text), len(text))
    row = docs_to_record_batch([record], [doc], keep_text=True, pipeline_name="en_ewt_sm",
                               pipeline_version="1").to_pylist()[0]
    assert len(row["head"]) == len(doc) and max(row["head"]) < len(doc)
    assert [text[e["start_char"]:e["end_char"]] for e in row["ents"]] == \
        [e.text for e in doc.ents]


def test_pretokenized_docs_are_cut_at_their_sentence_starts(shared_sm):
    parsed = shared_sm.nlp(_text(6))
    starts = {s.start for s in parsed.sents}
    assert set(cuts(parsed, 1500)[1:]) <= starts and len(cuts(parsed, 1500)) > 1
    parsed.spans["mine"] = [parsed[0:2]]
    docs, pieces, failures = shared_sm.annotate_pieces([parsed.to_dict()])
    assert not failures and len(pieces[0]) > 1
    assert _tokens(docs[0]) == _tokens(parsed)
    assert [s.text for s in docs[0].spans["mine"]] == [parsed[0:2].text]


@pytest.mark.slow
def test_a_million_character_document_annotates_in_bounded_memory(tmp_path):
    """The job on one document of the default --max-chars less one, with en_ewt_sm: its
    peak RSS stays under 1.5 GB (the whole document at once took 4.4 GB)."""
    text = _text(2700, per_paragraph=8)[:999_999]
    assert len(text) == 999_999
    source = tmp_path / "long.jsonl"
    source.write_text(json.dumps({"id": "long", "text": text}) + "\n")
    # a parent of its own reports the job's peak: this process's RUSAGE_CHILDREN also holds
    # the peaks of every child earlier tests started
    parent = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
              "print('RSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
              "sys.exit(r.returncode)")
    result = subprocess.run(
        [sys.executable, "-c", parent, sys.executable, "-m", "beam_jobs.annotate",
         "--input", str(source), "--output", str(tmp_path / "out"), "--model", "en_ewt_sm",
         "--runner=FnApiRunner"],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "1 annotated" in result.stdout
    peak_mb = next(int(line.split()[1]) for line in result.stdout.splitlines()
                   if line.startswith("RSS_KB")) / 1024
    assert peak_mb < 1500, peak_mb
