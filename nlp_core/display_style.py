"""Shared pieces of the visualiser's HTML: escaping, label colours, text width estimates and
the options each style accepts.

Everything a document brings (text, labels, ids, metadata) goes through `escape` before it
reaches the page; colours go into `style` attributes only after `check_colour` accepted them.
"""
import html
import re
import unicodedata
import zlib
from typing import Any, Dict, Iterable, Mapping

from .errors import Errors

FONT_FAMILY = "'DejaVu Sans', Arial, Helvetica, sans-serif"
# Literal values only: a colour from a user's options must not open a new CSS declaration.
_COLOUR = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20}|(rgb|hsl)a?\([0-9., %]{1,40}\))$")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Soft colours for common entity labels (OntoNotes and UNER names); others hash onto PALETTE.
LABEL_COLOURS = {
    "PERSON": "#aa9cfc", "PER": "#aa9cfc", "ORG": "#7aecec", "GPE": "#feca74",
    "LOC": "#ff9561", "DATE": "#bfe1d9", "TIME": "#bfe1d9", "MONEY": "#e4e7d2",
    "PERCENT": "#e4e7d2", "CARDINAL": "#e4e7d2", "ORDINAL": "#e4e7d2", "QUANTITY": "#e4e7d2",
    "NORP": "#c887fb", "FAC": "#9cc9cc", "PRODUCT": "#bfeeb7", "EVENT": "#ffeb80",
    "WORK_OF_ART": "#f0d0ff", "LAW": "#ff8197", "LANGUAGE": "#ff8197", "MISC": "#ddd",
}
PALETTE = ("#f4a3a8", "#a3d9f4", "#c3f4a3", "#f4e1a3", "#d6a3f4", "#a3f4e0", "#f4c6a3",
           "#b9c3f4", "#e8f4a3", "#f4a3d8", "#a3f4b4", "#cbb8a0")

OPTIONS = {
    "dep": {"direction", "colors", "font_size", "wrap_width", "fine_grained", "add_lemma"},
    "ent": {"direction", "colors", "ents"},
    "span": {"direction", "colors", "spans_key"},
}
DEFAULTS: Dict[str, Any] = {"direction": None, "colors": {}, "font_size": 16,
                            "wrap_width": 960, "fine_grained": False, "add_lemma": False,
                            "ents": None, "spans_key": None}


def escape(text: Any) -> str:
    """HTML-escaped text (quotes too, so it is safe in attributes); control characters that
    HTML cannot hold become U+FFFD."""
    return html.escape(_CONTROL.sub("\ufffd", str(text)), quote=True)


def check_colour(value: Any, label: Any) -> str:
    if not isinstance(value, str) or not _COLOUR.match(value):
        raise ValueError(Errors.E586.format(label=label, value=value))
    return value


def label_colour(label: str, colours: Mapping[str, str]) -> str:
    if label in colours:
        return colours[label]
    if label.upper() in LABEL_COLOURS:
        return LABEL_COLOURS[label.upper()]
    return PALETTE[zlib.crc32(label.encode("utf8", "replace")) % len(PALETTE)]


def resolve_options(style: str, options: Mapping[str, Any] | None) -> Dict[str, Any]:
    """The options of `style` with defaults filled in; unknown names and bad values raise."""
    if style not in OPTIONS:
        raise ValueError(Errors.E580.format(style=style, styles=", ".join(sorted(OPTIONS))))
    options = dict(options or {})
    unknown = sorted(set(options) - OPTIONS[style])
    if unknown:
        raise ValueError(Errors.E581.format(names=", ".join(map(repr, unknown)), style=style,
                                            known=", ".join(sorted(OPTIONS[style]))))
    resolved = {name: DEFAULTS[name] for name in OPTIONS[style]}
    resolved.update(options)
    if resolved["direction"] not in (None, "ltr", "rtl"):
        raise ValueError(Errors.E581.format(names=f"direction={resolved['direction']!r}",
                                            style=style, known="'ltr', 'rtl' or None"))
    colours = resolved["colors"]
    if not isinstance(colours, Mapping):
        raise ValueError(Errors.E586.format(label="colors", value=colours))
    resolved["colors"] = {str(k): check_colour(v, k) for k, v in colours.items()}
    if style == "dep":
        for name, low, high in (("font_size", 6, 72), ("wrap_width", 200, 100000)):
            value = resolved[name]
            if value is None and name == "wrap_width":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    not low <= value <= high:
                raise ValueError(Errors.E581.format(
                    names=f"{name}={value!r}", style=style, known=f"a number {low}-{high}"))
    return resolved


def char_width(char: str) -> float:
    """Approximate advance of one character, in ems, for a sans-serif font."""
    if unicodedata.combining(char):
        return 0.0
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 1.0
    if char.isupper() or char in "mwMW@%":
        return 0.78
    if char in "ijlI.,:;'!|":
        return 0.34
    return 0.62


def text_width(text: str, font_size: float) -> float:
    """Approximate width of `text` in pixels at `font_size` (generous, so that words drawn
    side by side by these estimates do not collide)."""
    return sum(char_width(c) for c in text) * font_size


def label_list(labels: Iterable[str]) -> list:
    return sorted(set(labels), key=lambda label: (label.upper(), label))
