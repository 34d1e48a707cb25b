"""Entity and span styles: the text as HTML with marks (entities) or stacked bars (spans).

Entities are `<mark>`s inside the running text, one colour per label, with the label after
the entity's words; a line height well above the marks' padding keeps marks on neighbouring
lines apart. Span groups may overlap: each span gets the lowest free slot (a bar under its
tokens) among the spans it overlaps, and its label is written on its first token's bar.
Right-to-left text flows right to left (`dir="rtl"`). All text is escaped.
"""
from collections import Counter
from typing import Dict, List, Sequence, Tuple

from .display_data import DisplayDoc
from .display_style import FONT_FAMILY, escape, label_colour, label_list, text_width

MARK_STYLE = ("padding: 0.25em 0.4em; margin: 0 0.2em; line-height: 1; border-radius: 0.35em; "
              "box-decoration-break: clone; -webkit-box-decoration-break: clone; color: #111")
MAX_SLOTS = 20  # overlapping spans stacked under a token at most
LABEL_STYLE = ("font-size: 0.7em; font-weight: bold; line-height: 1; vertical-align: middle; "
               "margin-inline-start: 0.5em; text-transform: uppercase")


def legend(labels: Sequence[str], colours: Dict[str, str], counts: Counter) -> str:
    """A row of label chips with their colours (and counts)."""
    if not labels:
        return ""
    chips = "".join(
        f'<span class="nc-legend-item" data-label="{escape(label)}" style="display: '
        f'inline-block; margin: 0.2em 0.4em 0.2em 0; padding: 0.15em 0.5em; border-radius: '
        f'0.35em; background: {label_colour(label, colours)}; font-size: 0.8em">'
        f'{escape(label or "(no label)")} <span style="color: #444">{counts[label]}</span></span>'
        for label in labels)
    return f'<div class="nc-legend" dir="ltr" style="margin: 0.4em 0">{chips}</div>'


def render_ent(doc: DisplayDoc, options: Dict) -> str:
    """The entity view of one document: its text with each entity marked and labelled."""
    colours = options["colors"]
    wanted = options["ents"]
    ents = [e for e in doc.ents if wanted is None or e[2] in wanted]
    direction = options["direction"] or doc.direction
    counts = Counter(label for _, _, label in ents)
    out = [legend(label_list(counts), colours, counts),
           f'<div class="nc-ents" dir="{direction}" style="font-family: {FONT_FAMILY}; '
           f'line-height: 2.6; white-space: pre-wrap; overflow-wrap: anywhere">']
    position = 0
    for start, end, label in ents:
        out.append(escape(doc.text[position:start]))
        out.append(f'<mark class="nc-ent" data-label="{escape(label)}" data-start="{start}" '
                   f'data-end="{end}" style="background: {label_colour(label, colours)}; '
                   f'{MARK_STYLE}">{escape(doc.text[start:end])}'
                   f'<span class="nc-ent-label" style="{LABEL_STYLE}">{escape(label)}</span>'
                   f'</mark>')
        position = end
    out.append(escape(doc.text[position:]))
    out.append("</div>")
    return "".join(out)


def _slots(ranges: Sequence[Tuple[int, int]]) -> List[int]:
    """A slot per token range: the lowest one no overlapping earlier range holds."""
    order = sorted(range(len(ranges)), key=lambda k: (ranges[k][0], -ranges[k][1]))
    slots = [0] * len(ranges)
    taken: List[Tuple[int, int, int]] = []
    for k in order:
        start, end = ranges[k]
        busy = {slot for s, e, slot in taken if s < end and e > start}
        slot = 0
        while slot in busy:
            slot += 1
        slots[k] = slot
        taken.append((start, end, slot))
    return slots


def render_span(doc: DisplayDoc, options: Dict) -> str:
    """The span-group view of one document: tokens with a bar per span under them."""
    colours = options["colors"]
    key = options["spans_key"]
    spans = [s for s in doc.spans if key is None or s[0] == key]
    ranges = [doc.token_span(start, end) for _, start, end, _ in spans]
    keep = [k for k, (a, b) in enumerate(ranges) if b > a]
    spans = [spans[k] for k in keep]
    ranges = [ranges[k] for k in keep]
    slots = _slots(ranges)
    dropped = sum(slot >= MAX_SLOTS for slot in slots)
    if dropped:  # every slot is a row under every token: the page grows with their product
        keep = [k for k, slot in enumerate(slots) if slot < MAX_SLOTS]
        spans, ranges, slots = ([x[k] for k in keep] for x in (spans, ranges, slots))
    n_slots = max(slots, default=-1) + 1
    direction = options["direction"] or doc.direction
    counts = Counter(label for _, _, _, label in spans)
    cover: Dict[Tuple[int, int], int] = {}  # (token, slot) -> span number
    for k, (a, b) in enumerate(ranges):
        for i in range(a, b):
            cover[(i, slots[k])] = k
    # A label is written from its span's first token on and may run over the span's other
    # tokens; where the span's words are narrower than its label (estimated, in ems), its
    # last token is widened by the difference.
    word_ems = [text_width(doc.text[s:e], 1.0) + 0.35 for s, e in zip(doc.starts, doc.ends)]
    min_ems: Dict[int, float] = {}
    for k, (a, b) in enumerate(ranges):
        need = text_width(spans[k][3], 0.7) + 0.5 - sum(word_ems[a:b])
        if need > 0:
            min_ems[b - 1] = max(min_ems.get(b - 1, 0.0), word_ems[b - 1] + need)
    out = [legend(label_list(counts), colours, counts)]
    if dropped:
        out.append(f'<div class="nc-note" style="color: #a40; font-size: 0.8em">{dropped} '
                   f'span(s) not drawn: more than {MAX_SLOTS} overlap.</div>')
    out += [f'<div class="nc-spans" dir="{direction}" style="font-family: {FONT_FAMILY}; '
           f'line-height: 1.4">']
    for i in range(len(doc)):
        word = doc.text[doc.starts[i]:doc.ends[i]]
        gap = i + 1 < len(doc) and doc.starts[i + 1] > doc.ends[i]
        min_width = min_ems.get(i, 0.0)
        out.append(f'<span class="nc-tok" data-i="{i}" style="display: inline-block; '
                   f'vertical-align: top; margin-bottom: 0.6em; min-width: {min_width:.1f}em">'
                   f'<span class="nc-tok-text" style="display: block; padding-inline-end: '
                   f'{0.35 if gap else 0.05}em; white-space: pre">{escape(word)}</span>')
        for slot in range(n_slots):
            k = cover.get((i, slot))
            if k is None:
                out.append('<span class="nc-slot" style="display: block; height: 1.1em; '
                           'border-top: 4px solid transparent"></span>')
                continue
            group, start, end, label = spans[k]
            is_end = ranges[k][1] == i + 1
            title = escape(f"{group}: {label} ({doc.text[start:end]})")
            text = ""
            if ranges[k][0] == i:
                text = (f'<span class="nc-span-label" style="font-size: 0.7em; '
                        f'font-weight: bold; white-space: nowrap; padding-inline-start: 0.2em">'
                        f'{escape(label)}</span>')
            out.append(f'<span class="nc-slot nc-span-bar" data-span="{k}" '
                       f'data-label="{escape(label)}" title="{title}" style="display: block; '
                       f'height: 1.1em; border-top: 4px solid {label_colour(label, colours)}; '
                       f'margin-inline-end: {0.3 if is_end else 0}em">{text}</span>')
        out.append("</span>")
    out.append("</div>")
    return "".join(out)
