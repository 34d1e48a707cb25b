"""Doc arrays -> Arrow: the vectorised columns agree with the Doc's own Token / Span views,
for every mix of annotated and unannotated documents in one batch."""
import random

import pyarrow as pa
import pytest

from beam_jobs.arrow import dead_letters_to_record_batch, docs_to_record_batch
from beam_jobs.records import DeadLetter, Record
from nlp_core.tokens import Doc
from nlp_core.vocab import Vocab
from schemas import annotations, dead_letter

LABELS = ["PER", "ORG", "LOC"]


def _record(i):
    return Record(f"id-{i}", "src", i, None, None, None, 0, 0)


def _batch(docs):
    return docs_to_record_batch([_record(i) for i in range(len(docs))], docs, keep_text=True,
                                pipeline_name="en_test", pipeline_version="1")


def _random_doc(vocab, rng, n):
    words = [rng.choice(["a", "bb", "ccc", "Dd", "!"]) for _ in range(n)]
    doc = Doc(vocab, words=words, spaces=[rng.random() < 0.7 for _ in words])
    if rng.random() < 0.8:  # raw IOB codes, including I after O and label changes inside I
        iob = [rng.choice([0, 1, 1, 2, 2, 3]) for _ in range(n)]
        doc.set_column("ent_iob", iob)
        doc.set_column("ent_type", [vocab.strings.add(rng.choice(LABELS)) if v in (1, 3) else 0
                                    for v in iob])
    if rng.random() < 0.5:
        doc.set_column("tag", [vocab.strings.add(rng.choice(["NN", "VB"]))
                               if rng.random() < 0.9 else 0 for _ in range(n)])
    if rng.random() < 0.5 and n:
        heads = [rng.randrange(n) for _ in range(n)]
        deps = [rng.choice(["nsubj", "obj"]) for _ in range(n)]
        doc = Doc(vocab, words=words, spaces=doc.column("trailing_space").tolist(),
                  heads=heads, deps=deps, ents=doc_ents(doc))
    return doc


def doc_ents(doc):
    if not doc.has_column("ent_iob"):
        return None
    iob = ["", "I", "O", "B"]
    return [f"{iob[v]}-{doc.vocab.strings[int(t)]}" if v in (1, 3) else iob[v]
            for v, t in zip(doc.column("ent_iob").tolist(), doc.column("ent_type").tolist())]


@pytest.mark.parametrize("seed", range(5))
def test_columns_match_token_and_span_views(seed):
    rng = random.Random(seed)
    vocab = Vocab(lang="en")
    docs = [_random_doc(vocab, rng, rng.randrange(0, 12)) for _ in range(40)]
    batch = _batch(docs)
    assert batch.schema.equals(annotations.SCHEMA, check_metadata=True)
    for row, doc in zip(batch.to_pylist(), docs):
        assert row["token_start"] == [t.idx for t in doc]
        assert row["token_end"] == [t.idx + len(t.text) for t in doc]
        if doc.has_annotation("ENT_IOB"):
            assert row["ents"] == [{"start_char": e.start_char, "end_char": e.end_char,
                                    "label": e.label_} for e in doc.ents]
        else:
            assert row["ents"] is None
        if doc.has_annotation("TAG"):
            assert row["tag"] == [t.tag_ or None for t in doc]
        else:
            assert row["tag"] is None
        if doc.has_annotation("DEP"):
            assert row["head"] == [t.head.i for t in doc]
            assert row["dep"] == [t.dep_ for t in doc]
            starts = [s.start for s in doc.sents]
            assert [i for i, s in enumerate(row["sent_start"]) if s] == starts
        else:
            assert row["head"] is None and row["dep"] is None


def test_string_columns_are_dictionary_encoded_per_batch():
    vocab = Vocab(lang="en")
    docs = [Doc(vocab, words=["a", "b", "c"], tags=["NN", None, "NN"]),
            Doc(vocab, words=["d"], tags=["VB"])]
    column = _batch(docs).column("tag")
    assert pa.types.is_dictionary(column.type.value_type)
    assert sorted(column.values.dictionary.to_pylist()) == ["", "NN", "VB"]
    assert column.to_pylist() == [["NN", None, "NN"], ["VB"]]


def test_empty_batch_and_dead_letters():
    assert _batch([]).num_rows == 0
    letter = DeadLetter("f.jsonl", 3, 10, None, "bad_json", "invalid JSON", "{x", 2)
    rows = dead_letters_to_record_batch([letter])
    assert rows.schema.equals(dead_letter.SCHEMA, check_metadata=True)
    assert rows.to_pylist() == [letter._asdict()]
    assert dead_letters_to_record_batch([]).num_rows == 0


def _sent_start_docs(vocab, rng):
    """Docs of every sentence-start case: set by a senter (with and without a parse), only
    the first token's value, derived from a parse never materialised, none, empty."""
    docs = []
    for k in range(60):
        n = rng.randrange(0, 9)
        doc = Doc(vocab, words=["w"] * n)
        case = k % 5
        if n and case in (0, 1):  # a senter's starts: 1 / -1, some tokens left 0
            doc.set_column("sent_start", [1] + [rng.choice([1, -1, -1, 0]) for _ in range(n - 1)])
        if n and case == 2:
            doc.set_column("sent_start", [1] + [0] * (n - 1))
        if n and case in (1, 2, 3):  # a parse: roots at random, heads before them
            heads = [0 if i == 0 or rng.random() < 0.3 else -rng.randrange(1, i + 1)
                     for i in range(n)]
            doc.set_column("head", heads)
            doc.set_column("dep", [vocab.strings.add("ROOT" if h == 0 else "dep")
                                   for h in heads])
        docs.append(doc)
    return docs


@pytest.mark.parametrize("seed", range(3))
def test_sent_starts_are_the_ones_each_doc_sets_or_derives(seed):
    vocab = Vocab(lang="en")
    expected = []
    for doc in _sent_start_docs(vocab, random.Random(seed)):
        if doc.ensure_sent_starts():
            expected.append([None if v == 0 else bool(v == 1)
                             for v in doc.column("sent_start").tolist()])
        else:
            expected.append(None)
    docs = _sent_start_docs(vocab, random.Random(seed))
    assert _batch(docs).column("sent_start").to_pylist() == expected
    assert any(row is None for row in expected) and any(row for row in expected)
