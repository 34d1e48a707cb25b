"""Shared by the docbin_read / docbin_write workloads. Standard library only at import time:
it also runs under the spaCy interpreter. The library (nlp_core or spaCy) is passed in.

Data: the spaCy-written interop DocBin (200 EWT dev sentences annotated by en_core_web_sm:
tags, POS, morphs, lemmas, parse, entities) merged REPEAT times, so both libraries read and
write the very same 2,000 docs.
"""
import json
import tempfile
import zlib
from pathlib import Path
from typing import Dict, List, Tuple

from common import EWT, SHARED_DATA, best_time

INTEROP = SHARED_DATA / "interop"
SOURCE = INTEROP / "ewt-dev-sm.spacy"
EXPECTED = INTEROP / "ewt-dev-sm.jsonl"
EWT_DEV = EWT / "en_ewt-ud-dev.conllu"
REPEAT = 10
# files the nlp_core side writes for the spaCy side of the same run to load
OUT_DIR = Path(tempfile.gettempdir()) / "nlp_core_benchmarks"
OURS_BIN = OUT_DIR / "docbin_ours.spacy"
OURS_EWT_DEV = OUT_DIR / "ewt_dev_n10_ours.spacy"


def bench_bytes(doc_bin_class) -> bytes:
    """The interop file merged REPEAT times, serialised by the given DocBin class."""
    raw = SOURCE.read_bytes()
    merged = doc_bin_class(store_user_data=True)
    for _ in range(REPEAT):
        merged.merge(doc_bin_class(store_user_data=True).from_bytes(raw))
    return merged.to_bytes()


def measure_read(doc_bin_class, vocab, data: bytes, passes: int) -> Tuple[float, list]:
    """Best seconds of bytes -> list of Docs (from_bytes + get_docs), and the docs."""
    docs: list = []

    def run():
        docs[:] = list(doc_bin_class().from_bytes(data).get_docs(vocab))

    return best_time(run, passes), docs


def measure_write(doc_bin_class, docs: list, passes: int) -> float:
    """Best seconds of Docs -> bytes (DocBin(docs=...).to_bytes(), default attrs)."""
    return best_time(lambda: doc_bin_class(docs=docs).to_bytes(), passes)


def fields(doc) -> Dict[str, list]:
    """The token-level values of ewt-dev-sm.jsonl; the same code runs on either library."""
    return {
        "text": doc.text, "orth": [t.text for t in doc],
        "whitespace": [t.whitespace_ for t in doc], "tag": [t.tag_ for t in doc],
        "pos": [t.pos_ for t in doc], "morph": [str(t.morph) for t in doc],
        "dep": [t.dep_ for t in doc], "head": [t.head.i for t in doc],
        "lemma": [t.lemma_ for t in doc], "ent_iob": [t.ent_iob_ for t in doc],
        "ent_type": [t.ent_type_ for t in doc],
        "is_sent_start": [t.is_sent_start for t in doc],
        "ents": [[e.start, e.end, e.label_, e.start_char, e.end_char] for e in doc.ents],
    }


def expected_fields() -> List[dict]:
    with open(EXPECTED, encoding="utf8") as file_:
        return [json.loads(line) for line in file_]


def count_equal(docs: list, expected: List[dict]) -> int:
    """How many docs equal their expectation on every field (expectations cycle)."""
    equal = 0
    for i, doc in enumerate(docs):
        want = expected[i % len(expected)]
        got = fields(doc)
        equal += all(got[key] == want[key] for key in got)
    return equal


def payload(data: bytes) -> bytes:
    return zlib.decompress(data)
