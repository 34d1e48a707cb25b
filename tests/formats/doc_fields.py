"""Token-level views of a Doc as plain lists, for comparing Docs attribute by attribute."""
from typing import Any, Dict

FIELDS = ("text", "orth", "whitespace", "tag", "pos", "morph", "dep", "head", "lemma",
          "ent_iob", "ent_type", "is_sent_start", "ents")


def doc_fields(doc) -> Dict[str, Any]:
    """The fields of ../shared/data/interop/ewt-dev-sm.jsonl, computed from `doc`."""
    return {
        "text": doc.text,
        "orth": [t.text for t in doc],
        "whitespace": [t.whitespace_ for t in doc],
        "tag": [t.tag_ for t in doc],
        "pos": [t.pos_ for t in doc],
        "morph": [str(t.morph) for t in doc],
        "dep": [t.dep_ for t in doc],
        "head": [t.head.i for t in doc],
        "lemma": [t.lemma_ for t in doc],
        "ent_iob": [t.ent_iob_ for t in doc],
        "ent_type": [t.ent_type_ for t in doc],
        "is_sent_start": [t.is_sent_start for t in doc],
        "ents": [[e.start, e.end, e.label_, e.start_char, e.end_char] for e in doc.ents],
    }


def assert_docs_equal(got, expected, where: str = "") -> None:
    """Every field of `doc_fields` agrees, reported field by field."""
    a, b = doc_fields(got), doc_fields(expected)
    for key in FIELDS:
        assert a[key] == b[key], f"{where} {key}: {a[key]!r} != {b[key]!r}"
