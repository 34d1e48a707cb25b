"""Named groups of (possibly overlapping) spans: `doc.spans["key"]`.

The byte format matches spaCy's, so span groups survive a DocBin round trip with either
library: a group is msgpack {"name", "attrs", "spans": [40-byte big-endian records of id,
kb_id, label (uint64), start, end, start_char, end_char (int32)]}; all groups of a Doc are
msgpack {group_bytes: [names sharing it]}.
"""
import struct
from typing import Dict, Iterable, Iterator, List

import srsly

from ..errors import Errors
from .span import Span

_SPAN_RECORD = struct.Struct(">QQQllll")


class SpanGroup:
    """A named list of Spans of one Doc, with a dict of group attributes."""

    def __init__(self, doc, *, name: str = "", attrs: dict | None = None,
                 spans: Iterable[Span] = ()):
        self.doc = doc
        self.name = name
        self.attrs = dict(attrs or {})
        self._spans: List[Span] = []
        self.extend(spans)

    def append(self, span: Span) -> None:
        if span.doc is not self.doc:
            raise ValueError(Errors.E022.format(name=self.name))
        self._spans.append(span)

    def extend(self, spans: Iterable[Span]) -> None:
        for span in spans:
            self.append(span)

    def __len__(self) -> int:
        return len(self._spans)

    def __getitem__(self, i):
        return self._spans[i]

    def __setitem__(self, i: int, span: Span) -> None:
        if span.doc is not self.doc:
            raise ValueError(Errors.E022.format(name=self.name))
        self._spans[i] = span

    def __delitem__(self, i: int) -> None:
        del self._spans[i]

    def __iter__(self) -> Iterator[Span]:
        return iter(self._spans)

    def __repr__(self) -> str:
        return repr(self._spans)

    @property
    def has_overlap(self) -> bool:
        spans = sorted(self._spans, key=lambda s: (s.start, s.end))
        return any(b.start < a.end for a, b in zip(spans, spans[1:]))

    def copy(self, doc=None) -> "SpanGroup":
        doc = self.doc if doc is None else doc
        return SpanGroup(doc, name=self.name, attrs=self.attrs,
                         spans=[s.copy_to(doc) for s in self._spans])

    def to_bytes(self) -> bytes:
        records = [_SPAN_RECORD.pack(s.id, s.kb_id, s.label, s.start, s.end, s.start_char,
                                     s.end_char) for s in self._spans]
        return srsly.msgpack_dumps({"name": self.name, "attrs": self.attrs, "spans": records})

    def from_bytes(self, data: bytes) -> "SpanGroup":
        msg = srsly.msgpack_loads(data)
        self.name = msg["name"]
        self.attrs = dict(msg["attrs"])
        self._spans = []
        n = len(self.doc)
        for record in msg["spans"]:
            span_id, kb_id, label, start, end, _start_char, _end_char = \
                _SPAN_RECORD.unpack(record)
            if not 0 <= start <= end <= n:
                raise ValueError(f"Span group {self.name!r} holds a span {start}:{end} outside "
                                 f"its Doc of {n} tokens: the data is corrupt.")
            self._spans.append(Span(self.doc, start, end, label=label, kb_id=kb_id,
                                    span_id=span_id))
        return self


class SpanGroups(dict):
    """`doc.spans`: a dict of name -> SpanGroup; assigning a list makes a group."""

    def __init__(self, doc, items: Dict[str, Iterable[Span]] | None = None):
        super().__init__()
        self.doc = doc
        for key, value in (items or {}).items():
            self[key] = value

    def __setitem__(self, key: str, value) -> None:
        if not isinstance(value, SpanGroup):
            value = SpanGroup(self.doc, name=key, spans=value)
        elif value.doc is not self.doc:
            value = value.copy(self.doc)
        super().__setitem__(key, value)

    def setdefault(self, key: str, default=None) -> SpanGroup:
        if key not in self:
            self[key] = default if default is not None else []
        return self[key]

    def to_bytes(self) -> bytes:
        if not self:
            return srsly.msgpack_dumps([])
        by_bytes: Dict[bytes, List[str]] = {}
        for key, group in self.items():
            by_bytes.setdefault(group.to_bytes(), []).append(key)
        return srsly.msgpack_dumps(by_bytes)

    def from_bytes(self, data: bytes) -> "SpanGroups":
        msg = srsly.msgpack_loads(data) if data else []
        self.clear()
        if isinstance(msg, list):
            return self
        for group_bytes, keys in msg.items():
            group = SpanGroup(self.doc).from_bytes(group_bytes)
            for key in keys:
                super().__setitem__(key, group if key == keys[0] else group.copy())
        return self
