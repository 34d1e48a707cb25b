"""Dependency style: each sentence as rows of inline SVG, words with their tags, arcs above.

Layout, all computed here (no script on the page):

1. Each word gets a slot wide enough for its text and tag (estimated from character widths,
   generously); slots are widened where an arc's label would not fit over its arc.
2. Slots fill rows up to `wrap_width` pixels; a sentence longer than that wraps. An arc
   whose words lie on different rows is drawn in pieces: open at the row's edge on the
   first row, across every row in between (up to 4 rows; a longer arc shows its two ends),
   and into its dependent on the last one, each piece labelled. A row draws at most 60
   arc pieces, the shortest, and says how many it left out.
3. Per row, an arc piece's level (height) is one more than the highest level among the
   shorter pieces whose pixels (line or label) it overlaps, so labels and horizontal lines
   never sit on top of each other.

Right-to-left documents are laid out the same way and mirrored: the first word is on the
right. Arrows point at the dependent. Every word, tag and label is escaped.
"""
import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from .display_data import DisplayDoc, sentence_blocks
from .display_style import FONT_FAMILY, escape, text_width

MARGIN = 12.0
MAX_ROWS_CROSSED = 4  # an arc over more rows is drawn as its two ends only
MAX_PIECES_PER_ROW = 60  # arcs drawn in one row at most (their levels grow with the count)
ARC_COLOUR = "#404040"


@dataclass
class _Piece:
    dep: int  # the dependent token (absolute index)
    head: int
    lo: float  # left end, in token positions; row edges as first - 0.5 / last + 0.5
    hi: float
    label: str
    level: int = 0
    xa: float = 0.0  # ends in pixels (left end = the `lo` side, mirrored for RTL)
    xb: float = 0.0
    label_x: float = 0.0  # the label's centre and width
    label_w: float = 0.0

    def extent(self) -> Tuple[float, float]:
        """The pixels the piece's line and label take up, left to right."""
        low = min(self.xa, self.xb, self.label_x - self.label_w / 2)
        high = max(self.xa, self.xb, self.label_x + self.label_w / 2)
        return low, high


MAX_WORD_CHARS = 60


def _word(text: str) -> str:
    """A token as drawn: whitespace as a visible symbol, a very long token shortened."""
    if text.isspace():
        return "\u21b5" if "\n" in text else "\u2423"
    if len(text) > MAX_WORD_CHARS:
        return text[:MAX_WORD_CHARS - 1] + "\u2026"
    return text


def _under(doc: DisplayDoc, i: int, fine_grained: bool) -> str:
    tags = doc.tags if (fine_grained or doc.pos is None) else doc.pos
    if tags is None:
        return ""
    return _word(tags[i]) if tags[i] else ""


def _slot_widths(doc: DisplayDoc, lo: int, hi: int, fs: float, options) -> List[float]:
    widths = []
    for i in range(lo, hi):
        w = text_width(_word(doc.text[doc.starts[i]:doc.ends[i]]), fs)
        w = max(w, text_width(_under(doc, i, options["fine_grained"]), fs * 0.8))
        if options["add_lemma"] and doc.lemmas is not None:
            w = max(w, text_width(doc.lemmas[i], fs * 0.8))
        widths.append(max(w, fs * 1.5) + fs * 1.2)
    return widths


def _centres(widths: Sequence[float], arcs: Sequence[Tuple[int, int, str]], lo: int,
             fs: float) -> List[float]:
    """Word centres (block coordinates), gaps widened so each label fits over its arc."""
    gaps = [(a + b) / 2 for a, b in zip(widths, widths[1:])]
    for a, b, label in sorted(arcs, key=lambda arc: arc[1] - arc[0]):
        need = text_width(label, fs * 0.75) + fs * 2.0
        have = sum(gaps[a - lo:b - lo])
        if need > have:
            extra = (need - have) / (b - a)
            for g in range(a - lo, b - lo):
                gaps[g] += extra
    centres = [widths[0] / 2]
    for gap in gaps:
        centres.append(centres[-1] + gap)
    return centres


def _rows(centres: Sequence[float], widths: Sequence[float],
          wrap_width: Optional[float]) -> List[Tuple[int, int]]:
    """(first, end) slot index ranges of each row."""
    rows, first = [], 0
    for i in range(1, len(centres) + 1):
        if i == len(centres):
            rows.append((first, i))
            break
        right = centres[i] + widths[i] / 2
        left = centres[first] - widths[first] / 2
        if wrap_width is not None and right - left > wrap_width - 2 * MARGIN:
            rows.append((first, i))
            first = i
    return rows


def _levels(pieces: List[_Piece]) -> int:
    """Level of each piece: one above every shorter piece whose pixels (line or label) it
    overlaps; returns the highest level."""
    done: List[Tuple[float, float, int]] = []
    for piece in sorted(pieces, key=lambda p: (p.extent()[1] - p.extent()[0], p.lo)):
        low, high = piece.extent()
        piece.level = 1 + max((level for a, b, level in done if a < high - 1 and b > low + 1),
                              default=0)
        done.append((low, high, piece.level))
    return max((p.level for p in pieces), default=0)


def _place(piece: _Piece, x_of, offset: float, lfs: float, row_width: float) -> None:
    """Pixel ends and label position of a piece; its ends sit beside the word's centre, so
    arcs meeting at one word do not touch."""
    xa, xb = x_of(piece.lo), x_of(piece.hi)
    sign = 1.0 if xb >= xa else -1.0
    if piece.lo == int(piece.lo):
        xa += sign * offset
    if piece.hi == int(piece.hi):
        xb -= sign * offset
    piece.xa, piece.xb = xa, xb
    piece.label_w = text_width(piece.label, lfs) + 6 if piece.label else 0.0
    # a piece cut at the row's edge may be shorter than its label: keep the label inside
    piece.label_x = min(max((xa + xb) / 2, piece.label_w / 2), row_width - piece.label_w / 2)


def render_dep(doc: DisplayDoc, options: Dict) -> str:
    """The dependency view of one document: a div per sentence block, an SVG per row."""
    fs = float(options["font_size"])
    direction = options["direction"] or doc.direction
    # rows wider than the page (wrap_width None) scroll inside the document's box
    out = [f'<div class="nc-dep" dir="{direction}" style="font-family: {FONT_FAMILY}; '
           f'overflow-x: auto">']
    if doc.heads is None:
        out.append('<p class="nc-note">No dependency parse in this document: words and '
                   'tags only.</p>')
    for lo, hi in sentence_blocks(doc):
        out.append(_render_block(doc, lo, hi, fs, direction, options))
    out.append("</div>")
    return "".join(out)


def _render_block(doc: DisplayDoc, lo: int, hi: int, fs: float, direction: str,
                  options: Dict) -> str:
    arcs = []
    if doc.heads is not None:
        for i in range(lo, hi):
            h = doc.heads[i]
            if h != i and lo <= h < hi:
                label = doc.deps[i] if doc.deps is not None else ""
                arcs.append((min(i, h), max(i, h), label, i, h))
    widths = _slot_widths(doc, lo, hi, fs, options)
    centres = _centres(widths, [(a, b, label) for a, b, label, _, _ in arcs], lo, fs)
    rows = _rows(centres, widths, options["wrap_width"])
    row_of = {}
    for r, (first, end) in enumerate(rows):
        for k in range(first, end):
            row_of[k + lo] = r
    pieces: List[List[_Piece]] = [[] for _ in rows]
    for a, b, label, dep, head in arcs:
        ra, rb = row_of[a], row_of[b]
        for r in range(ra, rb + 1):
            if ra < r < rb and rb - ra > MAX_ROWS_CROSSED:
                continue  # a very long arc: its two ends only
            first, end = rows[r]
            left = a if r == ra else first + lo - 0.5
            right = b if r == rb else end + lo - 0.5
            pieces[r].append(_Piece(dep, head, left, right, label))
    parts = ['<div class="nc-sent">']
    for r, (first, end) in enumerate(rows):
        row_pieces = pieces[r]
        if len(row_pieces) > MAX_PIECES_PER_ROW:
            # (a flat parse of a long text): the shortest arcs, which say the most
            row_pieces = sorted(row_pieces, key=lambda p: p.hi - p.lo)[:MAX_PIECES_PER_ROW]
            parts.append(f'<div class="nc-note" style="color: #a40; font-size: 0.8em">'
                         f'{len(pieces[r]) - MAX_PIECES_PER_ROW} of the arcs in the next row '
                         f'are not drawn: more than {MAX_PIECES_PER_ROW} meet there.</div>')
        parts.append(_render_row(doc, lo, first, end, centres, widths, row_pieces, fs,
                                 direction, options))
    parts.append("</div>")
    return "".join(parts)


def _render_row(doc: DisplayDoc, lo: int, first: int, end: int, centres: Sequence[float],
                widths: Sequence[float], pieces: List[_Piece], fs: float, direction: str,
                options: Dict) -> str:
    lfs = fs * 0.75
    level_h = lfs * 1.6 + 4
    left = centres[first] - widths[first] / 2
    width = float(math.ceil(centres[end - 1] + widths[end - 1] / 2 - left + 2 * MARGIN))
    def x_of(position: float) -> float:
        """Token position (absolute index, or a row edge) -> x in this row's SVG."""
        if position < first + lo:
            x = 0.0
        elif position > end - 1 + lo:
            x = width
        else:
            x = centres[int(position) - lo] - left + MARGIN
        return width - x if direction == "rtl" else x

    for piece in pieces:
        _place(piece, x_of, fs * 0.3, lfs, width)
    n_levels = _levels(pieces)
    y_base = MARGIN + lfs * 0.7 + n_levels * level_h
    y_word = y_base + fs * 0.6 + fs
    y_tag = y_word + fs * 1.25
    y_lemma = y_tag + fs * 1.15
    show_lemma = options["add_lemma"] and doc.lemmas is not None
    height = math.ceil((y_lemma if show_lemma else y_tag) + fs * 0.6)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="nc-dep-row" '
           f'width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" '
           f'style="display: block; max-width: none; overflow: visible" '
           f'font-family="{FONT_FAMILY}" direction="{direction}">']
    for k in range(first, end):
        i = k + lo
        x = x_of(i)
        word = escape(_word(doc.text[doc.starts[i]:doc.ends[i]]))
        out.append(f'<text class="nc-word" data-i="{i}" x="{x:.1f}" y="{y_word:.1f}" '
                   f'font-size="{fs:.0f}" text-anchor="middle" fill="#111">{word}</text>')
        tag = _under(doc, i, options["fine_grained"])
        if tag:
            out.append(f'<text class="nc-tag" data-i="{i}" x="{x:.1f}" y="{y_tag:.1f}" '
                       f'font-size="{fs * 0.8:.1f}" text-anchor="middle" '
                       f'fill="#555">{escape(tag)}</text>')
        if show_lemma and doc.lemmas[i]:
            out.append(f'<text class="nc-lemma" data-i="{i}" x="{x:.1f}" y="{y_lemma:.1f}" '
                       f'font-size="{fs * 0.8:.1f}" text-anchor="middle" font-style="italic" '
                       f'fill="#777">{escape(doc.lemmas[i])}</text>')
    for piece in pieces:
        out.append(_render_piece(piece, y_base, y_base - piece.level * level_h, lfs, doc))
    out.append("</svg>")
    return "".join(out)


def _render_piece(piece: _Piece, y_base: float, y_top: float, lfs: float,
                  doc: DisplayDoc) -> str:
    xa, xb = piece.xa, piece.xb
    open_a, open_b = piece.lo != int(piece.lo), piece.hi != int(piece.hi)
    sign = 1.0 if xb >= xa else -1.0
    radius = min(6.0, abs(xb - xa) / 2, (y_base - y_top) / 2)
    path = [f"M{xa:.1f},{y_top:.1f}" if open_a else
            f"M{xa:.1f},{y_base:.1f} L{xa:.1f},{y_top + radius:.1f} "
            f"Q{xa:.1f},{y_top:.1f} {xa + sign * radius:.1f},{y_top:.1f}"]
    if open_b:
        path.append(f"L{xb:.1f},{y_top:.1f}")
    else:
        path.append(f"L{xb - sign * radius:.1f},{y_top:.1f} "
                    f"Q{xb:.1f},{y_top:.1f} {xb:.1f},{y_top + radius:.1f} L{xb:.1f},{y_base:.1f}")
    head = doc.text[doc.starts[piece.head]:doc.ends[piece.head]]
    dep = doc.text[doc.starts[piece.dep]:doc.ends[piece.dep]]
    title = escape(f"{piece.label}: {head} \u2192 {dep}")
    out = [f'<g class="nc-arc" data-dep="{piece.dep}" data-head="{piece.head}">'
           f'<title>{title}</title>'
           f'<path class="nc-arc-line" d="{" ".join(path)}" fill="none" '
           f'stroke="{ARC_COLOUR}" stroke-width="1.5"/>']
    dep_x = None
    if piece.dep == piece.lo and not open_a:
        dep_x = xa
    elif piece.dep == piece.hi and not open_b:
        dep_x = xb
    if dep_x is not None:
        size = 4.5
        out.append(f'<path class="nc-arrow" d="M{dep_x:.1f},{y_base:.1f} '
                   f'L{dep_x - size:.1f},{y_base - size * 1.6:.1f} '
                   f'L{dep_x + size:.1f},{y_base - size * 1.6:.1f} Z" fill="{ARC_COLOUR}"/>')
    if piece.label:
        mid, w = piece.label_x, piece.label_w
        out.append(f'<rect class="nc-arc-label-bg" x="{mid - w / 2:.1f}" '
                   f'y="{y_top - lfs * 0.7:.1f}" width="{w:.1f}" height="{lfs * 1.4:.1f}" '
                   f'fill="#fff"/>'
                   f'<text class="nc-arc-label" x="{mid:.1f}" y="{y_top + lfs * 0.35:.1f}" '
                   f'font-size="{lfs:.1f}" text-anchor="middle" fill="{ARC_COLOUR}" '
                   f'direction="ltr">{escape(piece.label)}</text>')
    out.append("</g>")
    return "".join(out)
