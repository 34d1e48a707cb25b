"""Character classes for tokenizer rules, as regular-expression fragments.

Names ending in `_CLASS` are complete classes (`[...]`) ready to drop into a pattern; the
others are class *bodies* (the text between the brackets) so that rules can combine them,
e.g. `f"[{LOWER}{DIGITS}]"`. Letters in general are `ALPHA_CLASS` (`[^\\W\\d_]`, every
Unicode letter); upper and lower case are built once from the Unicode database for the
scripts that have case.
"""
import re
import unicodedata
from typing import Callable, Iterable, List

# Code point ranges holding every cased letter outside the astral planes' rarer scripts.
_CASED_RANGES = ((0x0041, 0x2D00), (0xA640, 0xA800), (0xAB30, 0xAB70), (0xFB00, 0xFB07),
                 (0xFF21, 0xFF5B), (0x10400, 0x10450), (0x1D400, 0x1D800))


def class_body(chars: Iterable[str]) -> str:
    """A regex class body matching exactly `chars`, with consecutive code points as ranges."""
    points = sorted({ord(c) for c in chars})
    parts: List[str] = []
    i = 0
    while i < len(points):
        j = i
        while j + 1 < len(points) and points[j + 1] == points[j] + 1:
            j += 1
        start, end = re.escape(chr(points[i])), re.escape(chr(points[j]))
        if j == i:
            parts.append(start)
        elif j == i + 1:
            parts.append(start + end)
        else:
            parts.append(f"{start}-{end}")
        i = j + 1
    return "".join(parts)


def _scan(test: Callable[[str], bool], ranges=_CASED_RANGES) -> str:
    return class_body(chr(p) for lo, hi in ranges for p in range(lo, hi) if test(chr(p)))


LOWER = _scan(lambda c: c.isalpha() and c.islower())
UPPER = _scan(lambda c: c.isalpha() and c.isupper())
LOWER_CLASS = f"[{LOWER}]"
UPPER_CLASS = f"[{UPPER}]"
ALPHA_CLASS = r"[^\W\d_]"
ALNUM_CLASS = r"[^\W_]"
DIGITS = "0-9"

CURRENCY = _scan(lambda c: unicodedata.category(c) == "Sc", ((0x20, 0x10000),))
HYPHENS = class_body("-\u2010\u2011\u2012\u2212")
DASHES = class_body("\u2013\u2014\u2015")
ELLIPSIS = "\u2026"
APOSTROPHES = class_body("'\u2019`\u2018\u02bc")
OPEN_QUOTES = class_body("\"'`\u2018\u201a\u201b\u201c\u201e\u201f\u00ab\u2039\u300c\u300e"
                         "\u301d\uff02")
CLOSE_QUOTES = class_body("\"'\u2019\u201d\u00bb\u203a\u300d\u300f\u301e\u301f\uff02")
OPEN_BRACKETS = class_body("([{<\uff08\uff3b\uff5b\u3008\u300a\u3010\u3014")
CLOSE_BRACKETS = class_body(")]}>\uff09\uff3d\uff5d\u3009\u300b\u3011\u3015")
# Marks that end a clause or sentence, in scripts whose text has no spaces before them too.
SENTENCE_END = class_body("!?\u00a1\u00bf\u061f\u06d4\u0964\u0965\u3002\uff01\uff1f\uff0e")
CLAUSE_PUNCT = class_body(",;:\u060c\u061b\u3001\uff0c\uff1a\uff1b")
# Symbols split off words wherever they touch them.
SYMBOLS = class_body("#%&*+=@^|~\u00a7\u00b6\u00b0\u2022\u00b7\u2020\u2021\u2122\u00ae\u00a9"
                     "\u00ac\u00b1\u00d7\u00f7\u2190\u2192\u2191\u2193\u2194\u21d2\u2713\u2714"
                     "\u2605\u2606\u2665\u2764")

UNITS = (
    "km", "km²", "km³", "m", "m²", "m³", "dm", "cm", "cm²", "cm³", "mm", "mm²", "µm", "nm",
    "yd", "in", "ft", "mi", "kg", "g", "mg", "µg", "t", "lb", "lbs", "oz", "mph", "kph",
    "km/h", "m/s", "mps", "l", "L", "ml", "mL", "cl", "dl", "gal", "Hz", "kHz", "MHz", "GHz",
    "W", "kW", "MW", "GW", "kWh", "MWh", "GWh", "V", "kV", "mAh", "B", "KB", "kb", "MB", "mb",
    "GB", "gb", "TB", "tb", "Gbps", "Mbps", "kbps", "°", "°C", "°F", "°K", "K", "k", "M", "bn",
    "x", "MM", "am", "pm", "AM", "PM", "a.m.", "p.m.", "a.m", "p.m", "hrs", "hr", "min",
    "mins", "sec", "secs", "ms", "yrs", "pcs", "px", "pt", "dpi",
)


def alternation(items: Iterable[str]) -> str:
    """`a|b|c` of escaped items, longest first so that the longest alternative wins."""
    return "|".join(re.escape(i) for i in sorted(set(items), key=lambda s: (-len(s), s)))
