"""Span getters: which stretches of each doc the transformer reads as one input.

A span getter is `get_spans(docs) -> List[List[Span]]`, one list per doc. The transformer
encodes each span's wordpieces as one sequence (with the model's special tokens around
it); a span longer than the model's maximum length is cut into consecutive pieces, so no
doc is too long. Where spans overlap (`strided_spans`), a wordpiece's vector is the mean
of its vectors in every window that holds it. Register your own with
`@registry.span_getters("name")` and pass the file with `--code`.

    [components.transformer.model.get_spans]
    @span_getters = "spacy-transformers.strided_spans.v1"
    window = 128
    stride = 96
"""
from typing import Callable, Iterable, List

from ...errors import Errors
from ...registry import registry
from ...tokens import Doc, Span

SpanGetter = Callable[[Iterable[Doc]], List[List[Span]]]


def get_doc_spans(docs: Iterable[Doc]) -> List[List[Span]]:
    """Each doc as one span."""
    return [[doc[:]] for doc in docs]


def get_sent_spans(docs: Iterable[Doc]) -> List[List[Span]]:
    """Each sentence as one span; a doc without sentence boundaries is one span."""
    spans = []
    for doc in docs:
        if not len(doc):
            spans.append([])
        elif doc.has_annotation("SENT_START") or doc.has_annotation("DEP"):
            spans.append(list(doc.sents))
        else:
            spans.append([doc[:]])
    return spans


def get_strided_spans(docs: Iterable[Doc], window: int, stride: int) -> List[List[Span]]:
    """Windows of `window` tokens starting every `stride` tokens; the last one ends at
    the end of the doc."""
    spans = []
    for doc in docs:
        n = len(doc)
        starts = range(0, max(n - window, 0) + stride, stride) if n else range(0)
        doc_spans = []
        for start in starts:
            doc_spans.append(doc[start:min(start + window, n)])
            if start + window >= n:
                break
        spans.append(doc_spans)
    return spans


@registry.span_getters("nlp_core.doc_spans.v1", aliases=["spacy-transformers.doc_spans.v1"])
def configure_doc_spans() -> SpanGetter:
    """The whole doc is one input (best for short texts)."""
    return get_doc_spans


@registry.span_getters("nlp_core.sent_spans.v1", aliases=["spacy-transformers.sent_spans.v1"])
def configure_sent_spans() -> SpanGetter:
    """One input per sentence (needs sentence boundaries before the transformer; a doc
    without them is one input)."""
    return get_sent_spans


@registry.span_getters("nlp_core.strided_spans.v1",
                       aliases=["spacy-transformers.strided_spans.v1"])
def configure_strided_spans(window: int = 128, stride: int = 96) -> SpanGetter:
    """Overlapping windows of `window` tokens every `stride` tokens (stride < window gives
    every token context on both sides; overlapping wordpieces are averaged).

    Raises:
        ValueError: E334 unless 0 < stride <= window.
    """
    if window < 1 or stride < 1 or stride > window:
        raise ValueError(Errors.E334.format(window=window, stride=stride))

    def get_spans(docs: Iterable[Doc]) -> List[List[Span]]:
        return get_strided_spans(docs, window, stride)

    return get_spans
