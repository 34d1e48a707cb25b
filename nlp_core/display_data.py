"""What the visualiser draws: one `DisplayDoc` per document, from a Doc or an annotations row.

A `DisplayDoc` holds plain Python lists (token character offsets, tags, heads, entities,
spans), so the renderers never touch a Doc or Arrow: a Doc is read through its public API
(`doc.text`, tokens' `idx` / `tag_` / `head.i`, `doc.ents`, `doc.spans`) without importing
`nlp_core.tokens` (so `Doc._repr_html_` can call down into this module), and a row of the
annotate job's `annotations` table (schemas/README.md) maps onto it directly.

Rows are untrusted: `from_row` checks every offset, head and list length and raises
`DisplayDataError` naming the row and what is wrong; entities and spans that do not fit the
text are dropped one by one and reported in `problems`, so one bad value does not hide the
rest of a document.
"""
import bisect
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .errors import Errors

RTL_CLASSES = ("R", "AL")
MAX_SPANS = 1000  # per document: spans stack in slots, a quadratic layout


class DisplayDataError(ValueError):
    """A document or row that cannot be drawn; the message names it and the problem."""


@dataclass
class DisplayDoc:
    """One document as the renderers see it.

    Attributes:
        text: the document text.
        starts, ends: character offsets of each token (end exclusive), `n` each.
        tags, pos, lemmas, deps: per-token strings ('' where unset), or None when absent.
        heads: absolute head index of each token (a root is its own head), or None.
        sent_starts: token indices where a sentence starts (always includes 0).
        ents: (start_char, end_char, label) entities, sorted, not overlapping.
        spans: (group, start_char, end_char, label) spans; may overlap.
        title: shown above the document (a doc id), or None.
        meta: (name, value) pairs shown under the title.
        problems: what was dropped or cut while reading, in words.
        direction: 'ltr' or 'rtl' (from the first strong character unless given).
    """

    text: str
    starts: List[int]
    ends: List[int]
    tags: Optional[List[str]] = None
    pos: Optional[List[str]] = None
    lemmas: Optional[List[str]] = None
    deps: Optional[List[str]] = None
    heads: Optional[List[int]] = None
    sent_starts: List[int] = field(default_factory=lambda: [0])
    ents: List[Tuple[int, int, str]] = field(default_factory=list)
    spans: List[Tuple[str, int, int, str]] = field(default_factory=list)
    title: Optional[str] = None
    meta: List[Tuple[str, str]] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)
    direction: str = "ltr"

    def __len__(self) -> int:
        return len(self.starts)

    def words(self) -> List[str]:
        return [self.text[s:e] for s, e in zip(self.starts, self.ends)]

    def token_span(self, start_char: int, end_char: int) -> Tuple[int, int]:
        """Tokens overlapping [start_char, end_char) as a (start, end) token range."""
        first = bisect.bisect_right(self.ends, start_char)
        last = bisect.bisect_left(self.starts, end_char)
        return first, max(first, last)


def text_direction(text: str) -> str:
    """'rtl' when the first strongly directional character is right-to-left, else 'ltr'."""
    for char in text[:2000]:
        kind = unicodedata.bidirectional(char)
        if kind in RTL_CLASSES:
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


def from_doc(doc: Any, *, title: Optional[str] = None) -> DisplayDoc:
    """A DisplayDoc from a Doc (or a Span, drawn as the document it spans)."""
    if hasattr(doc, "as_doc") and hasattr(doc, "doc"):
        doc = doc.as_doc()
    tokens = list(doc)
    starts = [t.idx for t in tokens]
    ends = [t.idx + len(t.text) for t in tokens]

    def strings(attr: str, name: str) -> Optional[List[str]]:
        return [getattr(t, attr) for t in tokens] if doc.has_annotation(name) else None

    heads = [t.head.i for t in tokens] if doc.has_annotation("DEP") else None
    sent_starts = [0]
    if doc.has_annotation("SENT_START") or heads is not None:
        sent_starts = [s.start for s in doc.sents] or [0]
    user_title = doc.user_data.get("title") if isinstance(doc.user_data, dict) else None
    result = DisplayDoc(
        text=doc.text, starts=starts, ends=ends, tags=strings("tag_", "TAG"),
        pos=strings("pos_", "POS"), lemmas=strings("lemma_", "LEMMA"),
        deps=strings("dep_", "DEP"), heads=heads, sent_starts=sent_starts,
        ents=[(e.start_char, e.end_char, e.label_) for e in doc.ents],
        spans=[(name, s.start_char, s.end_char, s.label_)
               for name, group in doc.spans.items() for s in group],
        title=title if title is not None else (str(user_title) if user_title else None))
    result.direction = text_direction(result.text)
    return result


def _check_list(row: Dict[str, Any], name: str, n: int, where: str) -> Optional[list]:
    values = row.get(name)
    if values is None:
        return None
    if not isinstance(values, list) or len(values) != n:
        got = len(values) if isinstance(values, list) else type(values).__name__
        raise DisplayDataError(Errors.E583.format(where=where, column=name, n=n, got=got))
    return values


def _strings(values: Optional[list]) -> Optional[List[str]]:
    return None if values is None else ["" if v is None else str(v) for v in values]


def from_row(row: Dict[str, Any], *, max_tokens: int) -> DisplayDoc:
    """A DisplayDoc from one `annotations` row (a dict of its columns; missing = null).

    Raises DisplayDataError when the row cannot be drawn at all (no text, offsets that do
    not fit the text, head indices out of range). Documents longer than `max_tokens` are
    cut there (noted in `problems`).
    """
    doc_id = row.get("doc_id")
    where = f"row doc_id={doc_id!r} ({row.get('source')!r} offset {row.get('offset')!r})"
    text = row.get("text")
    if not isinstance(text, str):
        raise DisplayDataError(Errors.E582.format(where=where))
    starts, ends = row.get("token_start"), row.get("token_end")
    if not isinstance(starts, list) or not isinstance(ends, list) or len(starts) != len(ends):
        raise DisplayDataError(Errors.E583.format(
            where=where, column="token_end", n=len(starts) if isinstance(starts, list) else 0,
            got=len(ends) if isinstance(ends, list) else type(ends).__name__))
    n_all = len(starts)
    prev_end = 0
    for i, (s, e) in enumerate(zip(starts, ends)):
        if not (isinstance(s, int) and isinstance(e, int) and prev_end <= s < e <= len(text)):
            raise DisplayDataError(Errors.E584.format(where=where, i=i, start=s, end=e,
                                                      n_chars=len(text)))
        prev_end = e
    columns = {name: _check_list(row, name, n_all, where)
               for name in ("tag", "pos", "lemma", "dep", "head", "sent_start")}
    heads = columns["head"]
    if heads is not None:
        for i, h in enumerate(heads):
            if not isinstance(h, int) or not 0 <= h < n_all:
                raise DisplayDataError(Errors.E585.format(where=where, i=i, head=h, n=n_all))
    problems = []
    n = min(n_all, max_tokens)
    if n < n_all:
        problems.append(f"showing the first {n} of {n_all} tokens")
    cut_chars = ends[n - 1] if n else 0
    result = DisplayDoc(text=text[:cut_chars] if n < n_all else text,
                        starts=list(starts[:n]), ends=list(ends[:n]), title=str(doc_id),
                        problems=problems)
    for attr, name in (("tags", "tag"), ("pos", "pos"), ("lemmas", "lemma"), ("deps", "dep")):
        values = _strings(columns[name])
        setattr(result, attr, None if values is None else values[:n])
    if heads is not None:
        # a head beyond the cut points at the token itself: the arc is not drawn
        result.heads = [h if h < n else i for i, h in enumerate(heads[:n])]
    sent = columns["sent_start"]
    if sent is not None:
        result.sent_starts = [0] + [i for i, v in enumerate(sent[:n]) if v and i > 0]
    result.ents = _checked_ents(row.get("ents"), result, problems)
    result.spans = _checked_spans(row.get("spans"), result, problems)
    pipeline = row.get("pipeline")
    if isinstance(pipeline, dict):
        result.meta.append(("pipeline", f"{pipeline.get('name')} {pipeline.get('version')}"))
    result.meta[:0] = [("source", str(row.get("source"))), ("offset", str(row.get("offset"))),
                       ("tokens", str(n_all))]
    result.direction = text_direction(result.text)
    return result


def _fits(start: Any, end: Any, doc: DisplayDoc) -> bool:
    return isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(doc.text)


def _checked_ents(values: Any, doc: DisplayDoc, problems: List[str]) -> List[Tuple[int, int, str]]:
    if not isinstance(values, list):
        return []
    ents, bad = [], 0
    for value in values:
        value = value if isinstance(value, dict) else {}
        start, end = value.get("start_char"), value.get("end_char")
        if _fits(start, end, doc):
            ents.append((start, end, "" if value.get("label") is None else str(value["label"])))
        elif not (isinstance(start, int) and start >= len(doc.text)):  # not just cut off
            bad += 1
    ents.sort()
    kept = []
    for ent in ents:
        if kept and ent[0] < kept[-1][1]:
            bad += 1
            continue
        kept.append(ent)
    if bad:
        problems.append(f"{bad} entit{'y' if bad == 1 else 'ies'} dropped: offsets outside "
                        "the text or overlapping another entity")
    return kept


def _checked_spans(values: Any, doc: DisplayDoc,
                   problems: List[str]) -> List[Tuple[str, int, int, str]]:
    if not isinstance(values, list):
        return []
    spans, bad = [], 0
    for value in values:
        value = value if isinstance(value, dict) else {}
        start, end = value.get("start_char"), value.get("end_char")
        if _fits(start, end, doc):
            label = value.get("label")
            spans.append((str(value.get("group")), start, end, "" if label is None else str(label)))
        elif not (isinstance(start, int) and start >= len(doc.text)):
            bad += 1
    if bad:
        problems.append(f"{bad} span(s) dropped: offsets outside the text")
    if len(spans) > MAX_SPANS:
        problems.append(f"showing the first {MAX_SPANS} of {len(spans)} spans")
        spans = spans[:MAX_SPANS]
    return spans


def sentence_blocks(doc: DisplayDoc) -> List[Tuple[int, int]]:
    """Token ranges drawn as one block each: the sentences, merged where an arc crosses a
    sentence boundary (so every arc lies inside one block)."""
    n = len(doc)
    if not n:
        return []
    cuts = set(s for s in doc.sent_starts if 0 < s < n)
    if doc.heads is not None:
        reach = [0] * (n + 1)  # +1 / -1 where arcs open / close, summed: arcs over a point
        for i, h in enumerate(doc.heads):
            lo, hi = min(i, h), max(i, h)
            if lo != hi:
                reach[lo + 1] += 1
                reach[hi + 1] -= 1
        open_arcs = 0
        for i in range(1, n):
            open_arcs += reach[i]
            if open_arcs > 0:
                cuts.discard(i)
    bounds = [0] + sorted(cuts) + [n]
    return list(zip(bounds, bounds[1:]))


def tokens_of(doc: DisplayDoc, spans: Sequence[Tuple[int, int]]) -> List[Tuple[int, int]]:
    """Character spans -> token ranges (tokens overlapping each span)."""
    return [doc.token_span(start, end) for start, end in spans]
