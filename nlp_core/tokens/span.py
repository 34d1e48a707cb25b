"""Span: a slice `doc[start:end]` of tokens, optionally labelled. A view; holds no arrays."""
from typing import Iterator, Optional, Union

import numpy

from ..display_html import repr_html
from ..errors import Errors
from ..vectors_similarity import vector_norm
from . import vector_attrs as VA
from .annotation import ANNOTATION_DTYPES
from .underscore import Underscore, make_extension_api


class Span:
    """Tokens [start, end) of a Doc.

    Args:
        doc: the parent Doc.
        start, end: token indices, 0 <= start <= end <= len(doc).
        label, kb_id, span_id: str or string ID.
    """

    __slots__ = ("doc", "start", "end", "label", "kb_id", "id")

    set_extension, get_extension, has_extension, remove_extension = make_extension_api(
        "span_extensions")

    def __init__(self, doc, start: int, end: int, label: Union[str, int] = 0,
                 kb_id: Union[str, int] = 0, span_id: Union[str, int] = 0):
        if not 0 <= start <= end <= len(doc):
            raise IndexError(Errors.E011.format(start=start, end=end, n=len(doc)))
        self.doc = doc
        self.start = int(start)
        self.end = int(end)
        self.label = self._key(label)
        self.kb_id = self._key(kb_id)
        self.id = self._key(span_id)

    def _key(self, value: Union[str, int]) -> int:
        if isinstance(value, str):
            return self.doc.vocab.strings.add(value)
        if isinstance(value, (int, numpy.integer)):
            return int(value)
        raise TypeError(Errors.E023.format(value=value))

    # --- string views ------------------------------------------------------------------

    def _string(self, key: int) -> str:
        return self.doc.vocab.strings[key] if key else ""

    @property
    def label_(self) -> str:
        return self._string(self.label)

    @label_.setter
    def label_(self, value: str) -> None:
        self.label = self._key(value)

    @property
    def kb_id_(self) -> str:
        return self._string(self.kb_id)

    @kb_id_.setter
    def kb_id_(self, value: str) -> None:
        self.kb_id = self._key(value)

    @property
    def id_(self) -> str:
        return self._string(self.id)

    @id_.setter
    def id_(self, value: str) -> None:
        self.id = self._key(value)

    # --- text and offsets --------------------------------------------------------------

    @property
    def start_char(self) -> int:
        if self.start == self.end:
            return int(self.doc._cols["idx"][self.start]) if self.start < len(self.doc) \
                else len(self.doc.text)
        return int(self.doc._cols["idx"][self.start])

    @property
    def end_char(self) -> int:
        if self.start == self.end:
            return self.start_char
        last = self.end - 1
        return int(self.doc._cols["idx"][last] + self.doc._cols["length"][last])

    @property
    def text(self) -> str:
        return self.doc.text[self.start_char:self.end_char]

    @property
    def text_with_ws(self) -> str:
        end = self.end_char
        if self.end > self.start and self.doc._cols["trailing_space"][self.end - 1]:
            end += 1
        return self.doc.text[self.start_char:end]

    @property
    def lemma_(self) -> str:
        return "".join(t.lemma_ + t.whitespace_ for t in self).strip()

    def __len__(self) -> int:
        return self.end - self.start

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step != 1:
                raise ValueError("Span slices must be contiguous (step 1).")
            return Span(self.doc, self.start + start, self.start + max(start, stop))
        i = int(key)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(Errors.E007.format(i=key, n=len(self)))
        return self.doc[self.start + i]

    def __iter__(self) -> Iterator:
        for i in range(self.start, self.end):
            yield self.doc[i]

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        """What a notebook shows: the span's tokens as a document, drawn by
        `nlp_core.display` (arcs when parsed, else entities)."""
        return repr_html(self)

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other) -> bool:
        if not isinstance(other, Span):
            return False
        return (self.doc is other.doc and self.start == other.start and self.end == other.end
                and self.label == other.label and self.kb_id == other.kb_id
                and self.id == other.id)

    def __hash__(self) -> int:
        return hash((id(self.doc), self.start, self.end, self.label, self.kb_id, self.id))

    @property
    def _(self) -> Underscore:
        return Underscore(Underscore.span_extensions, self, start=self.start_char,
                          end=self.end_char)

    # --- vectors -----------------------------------------------------------------------

    @property
    def vector(self):
        """The mean of the tokens' vectors:
        float32 (width,); `tokens.vector_attrs` says where it comes from."""
        return VA.span_vector(self.doc, self.start, self.end)

    @property
    def has_vector(self) -> bool:
        return VA.span_has_vector(self.doc, self.start, self.end, whole_doc=False)

    @property
    def vector_norm(self) -> float:
        """L2 norm of `vector` (0.0 when it is all zeros)."""
        return vector_norm(self.vector)

    def similarity(self, other) -> float:
        """Cosine of `vector` with `other.vector` (Lexeme, Token, Span or Doc): 1.0 for the
        same words, 0.0 with a warning (W011) when a side has no vector."""
        return VA.similarity("Span", self.vector, tuple(t.orth for t in self), other, self.doc.vocab,
                             has_vector=self.has_vector)

    @property
    def vocab(self):
        return self.doc.vocab

    # --- structure ---------------------------------------------------------------------

    @property
    def root(self):
        """The token of the span whose head lies outside it (the highest one, first if tied)."""
        if self.start == self.end:
            raise ValueError("An empty span has no root.")
        heads = self.doc._heads()
        best, best_depth = self.start, None
        for i in range(self.start, self.end):
            depth, node, steps = 0, i, 0
            while self.start <= heads[node] < self.end and heads[node] != node \
                    and steps < len(heads):
                node = int(heads[node])
                depth += 1
                steps += 1
            # tokens whose chain leaves the span soonest are closest to the root
            if best_depth is None or depth < best_depth:
                best, best_depth = i, depth
        return self.doc[best]

    @property
    def sent(self) -> "Span":
        for start, end in self.doc._sent_bounds():
            if start <= self.start < end:
                return Span(self.doc, start, max(end, self.end))
        raise ValueError(Errors.E008)

    @property
    def sents(self) -> Iterator["Span"]:
        for start, end in self.doc._sent_bounds():
            if end > self.start and start < self.end:
                yield Span(self.doc, start, end)

    @property
    def ents(self) -> tuple:
        return tuple(e for e in self.doc.ents if e.start >= self.start and e.end <= self.end)

    def char_span(self, start_idx: int, end_idx: int, label: Union[int, str] = 0,
                  kb_id: Union[int, str] = 0, alignment_mode: str = "strict") -> Optional["Span"]:
        """Like Doc.char_span, with offsets relative to the span's start."""
        offset = self.start_char
        return self.doc.char_span(start_idx + offset, end_idx + offset, label=label,
                                  kb_id=kb_id, alignment_mode=alignment_mode)

    def as_doc(self):
        """A new Doc holding just this span's tokens and annotations."""
        # doc.py imports this module to make Spans: Span reaches Doc only when called
        from .doc import Doc

        cols = self.doc._cols
        sl = slice(self.start, self.end)
        spaces = cols["trailing_space"][sl].copy()
        text = self.text_with_ws
        doc = Doc.from_columns(self.doc.vocab, text, cols["orth"][sl].copy(),
                               cols["length"][sl].copy(), spaces)
        for name in ANNOTATION_DTYPES:
            if name in cols:
                doc._cols[name] = cols[name][sl].copy()
        if "head" in doc._cols:
            targets = doc._cols["head"] + numpy.arange(len(doc))
            outside = (targets < 0) | (targets >= len(doc))
            doc._cols["head"][outside] = 0
        if "ent_iob" in doc._cols and len(doc) and doc._cols["ent_iob"][0] == 1:
            doc._cols["ent_iob"][0] = 3
        return doc

    def copy_to(self, doc) -> "Span":
        return Span(doc, self.start, self.end, self.label, self.kb_id, self.id)

    def shifted(self, doc, offset: int) -> "Span":
        return Span(doc, self.start + offset, self.end + offset, self.label, self.kb_id, self.id)
