"""Alignment of two tokenizations of the same text, by character offsets.

Predicted tokens (from our tokenizer) and gold tokens (from a treebank) cover the same
characters; a predicted token is aligned to every gold token it overlaps (CoNLL 2018
style). When the two texts differ only in whitespace, offsets are compared on the text with
whitespace removed; any other difference is an error, since the gold annotation would not
describe the predicted text.
"""
from dataclasses import dataclass
from typing import List, Tuple

import numpy


@dataclass
class Ragged:
    """Variable-length rows: row i is `data[starts[i]:starts[i] + lengths[i]]`."""

    data: numpy.ndarray
    lengths: numpy.ndarray

    @property
    def starts(self) -> numpy.ndarray:
        starts = numpy.zeros(len(self.lengths), dtype=numpy.int64)
        if len(self.lengths) > 1:
            numpy.cumsum(self.lengths[:-1], out=starts[1:])
        return starts

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, i: int) -> numpy.ndarray:
        start = int(self.lengths[:i].sum())
        return self.data[start:start + int(self.lengths[i])]

    def to_lists(self) -> List[List[int]]:
        return [row.tolist() for row in numpy.split(self.data, numpy.cumsum(self.lengths)[:-1])]


@dataclass
class Alignment:
    """x2y[i]: the gold tokens predicted token i overlaps; y2x[j]: the reverse."""

    x2y: Ragged
    y2x: Ragged

    @classmethod
    def from_offsets(cls, x_spans: numpy.ndarray, y_spans: numpy.ndarray) -> "Alignment":
        """Align two sorted lists of (start, end) character spans, each of shape (n, 2)."""
        return cls(x2y=_overlaps(x_spans, y_spans), y2x=_overlaps(y_spans, x_spans))

    @classmethod
    def from_docs(cls, predicted, reference) -> "Alignment":
        x_spans = _token_spans(predicted)
        y_spans = _token_spans(reference)
        if predicted.text != reference.text:
            x_spans, y_spans = _spans_without_whitespace(predicted, reference, x_spans, y_spans)
        return cls.from_offsets(x_spans, y_spans)

    @property
    def is_one_to_one(self) -> bool:
        return bool((self.x2y.lengths == 1).all() and (self.y2x.lengths == 1).all()
                    and len(self.x2y) == len(self.y2x))


def _token_spans(doc) -> numpy.ndarray:
    idx = doc.column("idx").astype(numpy.int64)
    return numpy.stack([idx, idx + doc.column("length")], axis=1) if len(idx) else \
        numpy.zeros((0, 2), dtype=numpy.int64)


def _overlaps(a: numpy.ndarray, b: numpy.ndarray) -> Ragged:
    """For each span of `a`, the indices of the spans of `b` it overlaps (both sorted)."""
    if len(a) == 0 or len(b) == 0:
        return Ragged(numpy.zeros((0,), dtype=numpy.int64),
                      numpy.zeros((len(a),), dtype=numpy.int64))
    first = numpy.searchsorted(b[:, 1], a[:, 0], side="right")
    last = numpy.searchsorted(b[:, 0], a[:, 1], side="left")
    # zero-width spans overlap nothing
    lengths = numpy.maximum(last - first, 0)
    lengths[a[:, 1] <= a[:, 0]] = 0
    lengths = lengths.astype(numpy.int64)
    # row i holds first[i], first[i] + 1, ... (lengths[i] values), built without a Python loop
    row_starts = numpy.cumsum(lengths) - lengths
    within = numpy.arange(int(lengths.sum()), dtype=numpy.int64) - numpy.repeat(row_starts, lengths)
    data = numpy.repeat(first.astype(numpy.int64), lengths) + within
    return Ragged(data, lengths)


def _spans_without_whitespace(predicted, reference, x_spans, y_spans) -> Tuple[numpy.ndarray,
                                                                               numpy.ndarray]:
    def squeeze(text: str) -> Tuple[str, numpy.ndarray]:
        keep = numpy.fromiter((not c.isspace() for c in text), dtype=bool, count=len(text))
        # position of each original character in the squeezed text (start of next kept char)
        mapping = numpy.concatenate([[0], numpy.cumsum(keep)])
        return "".join(c for c, k in zip(text, keep) if k), mapping

    x_text, x_map = squeeze(predicted.text)
    y_text, y_map = squeeze(reference.text)
    if x_text != y_text:
        at = next((i for i, (a, b) in enumerate(zip(x_text, y_text)) if a != b),
                  min(len(x_text), len(y_text)))
        raise ValueError(
            "Cannot align the predicted and the gold tokens: their texts differ (beyond "
            f"whitespace) at non-space character {at}: predicted {x_text[at:at + 20]!r}, gold "
            f"{y_text[at:at + 20]!r}. Gold text starts {reference.text[:60]!r}. Build the "
            "predicted Doc from the gold text (or use gold tokens, --gold-preproc).")
    return x_map[x_spans], y_map[y_spans]
