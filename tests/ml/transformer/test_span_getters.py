"""Span getters: the seed's names, sentence and strided windows, and a custom getter
registered from a --code file (the seed's custom_sent_spans)."""
from pathlib import Path

import pytest
from confection import Config

from nlp_core.ml.transformer import get_doc_spans, get_sent_spans, get_strided_spans
from nlp_core.registry import aliases_of, registry
from nlp_core.user_code import import_code

SEED_CONFIGS = Path(__file__).resolve().parents[4] / "shared" / "seed" / "configs"
CODE = Path(__file__).with_name("custom_sent_spans.py")


def spans_of(getter, doc):
    return [(s.start, s.end) for s in getter([doc])[0]]


def test_names_and_aliases():
    for name in ("doc_spans.v1", "sent_spans.v1", "strided_spans.v1"):
        assert aliases_of(registry.span_getters, f"nlp_core.{name}") == sorted(
            [f"nlp_core.{name}", f"spacy-transformers.{name}"])
    assert aliases_of(registry.annotation_setters, "nlp_core.null_annotation_setter.v1") == [
        "nlp_core.null_annotation_setter.v1", "spacy-transformers.null_annotation_setter.v1"]


def test_doc_and_sentence_spans(nlp):
    doc = nlp("one two three four five")
    assert spans_of(get_doc_spans, doc) == [(0, 5)]
    assert spans_of(get_sent_spans, doc) == [(0, 5)]  # no boundaries: one span
    doc[3].is_sent_start = True
    assert spans_of(get_sent_spans, doc) == [(0, 3), (3, 5)]
    assert get_sent_spans([nlp("")]) == [[]]


@pytest.mark.parametrize("n,window,stride,expected", [
    (10, 4, 3, [(0, 4), (3, 7), (6, 10)]),
    (10, 4, 4, [(0, 4), (4, 8), (8, 10)]),
    (3, 4, 2, [(0, 3)]),
    (0, 4, 2, []),
])
def test_strided_spans_cover_every_token(nlp, n, window, stride, expected):
    doc = nlp(" ".join(["w"] * n))
    assert [(s.start, s.end) for s in get_strided_spans([doc], window, stride)[0]] == expected


def test_strided_settings_are_checked():
    make = registry.span_getters.get("spacy-transformers.strided_spans.v1")
    with pytest.raises(ValueError, match="E334"):
        make(window=4, stride=5)


def test_seed_custom_sent_spans_from_a_code_file(nlp):
    import_code(CODE)
    block = (SEED_CONFIGS / "custom_sent_spans.cfg").read_text(encoding="utf8")
    assert '@span_getters = "custom_sent_spans"' in block
    parents = "[components]\n[components.transformer]\n[components.transformer.model]\n"
    config = Config().from_str(parents + block)
    get_spans = registry.resolve(config["components"]["transformer"]["model"])["get_spans"]
    doc = nlp(" ".join(["w"] * 60))
    doc[30].is_sent_start = True
    lengths = [len(s) for s in get_spans([doc])[0]]
    assert lengths == [25, 5, 25, 5]
