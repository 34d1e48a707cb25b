"""Language-independent prefix, suffix and infix rules for the tokenizer.

Each rule is a regular expression (a string). The tokenizer compiles prefixes into one
pattern anchored at the start of a chunk, suffixes into one anchored at the end, and
infixes into one pattern searched inside what is left. Where several prefix (or suffix)
rules match, the first listed alternative wins, so longer runs come before single marks.

Runs of one mark stay together ("!!!", "...", "***", "====", "$$$"), as treebanks such as
UD English EWT write them.
"""
import re
from typing import List

from .char_classes import (
    ALNUM_CLASS,
    ALPHA_CLASS,
    CLAUSE_PUNCT,
    CLOSE_BRACKETS,
    CLOSE_QUOTES,
    CURRENCY,
    DASHES,
    ELLIPSIS,
    LOWER,
    OPEN_BRACKETS,
    OPEN_QUOTES,
    SENTENCE_END,
    UNITS,
    UPPER,
    alternation,
)

# Every symbol repeated is one token: "***", "===", "~~", "__". A plus sign before a
# digit stays with the number ("+44", "+1.5").
_SYMBOL_CHARS = "#%&*=@^|~_<>\u00a7\u00b6\u00b0\u2022\u00b7\u2020\u2021"
SYMBOL_RUNS = [re.escape(c) + "+" for c in _SYMBOL_CHARS] + [r"\+(?:\++|(?![0-9]))"]
# Doubled quote marks are one token: '' `` ’’ ‘’ ‘‘.
QUOTE_PAIRS = "''|``|[\u2018\u2019][\u2018\u2019]"
# An apostrophe before a two-digit year ("'72", "’90s") belongs to the year.
_QUOTE = f"(?![\u2018\u2019'][0-9]{{2}}(?:s|$))[{OPEN_QUOTES}{CLOSE_QUOTES}]"

ELLIPSES = [r"\.\.+", ELLIPSIS + "+"]
DASH_RUNS = [r"-{2,}", f"[{DASHES}]+"]
SENTENCE_PUNCT_RUN = f"[.{SENTENCE_END}]*[{SENTENCE_END}][.{SENTENCE_END}]*"

PREFIXES: List[str] = [
    *ELLIPSES,
    *DASH_RUNS,
    SENTENCE_PUNCT_RUN,
    f"[{CURRENCY}]+",
    *SYMBOL_RUNS,
    f"[{OPEN_BRACKETS}{CLOSE_BRACKETS}]",
    QUOTE_PAIRS,
    _QUOTE,
    f"[{CLAUSE_PUNCT}]",
    r"/(?=[^\W\d_]{2})",
]

SUFFIXES: List[str] = [
    *ELLIPSES,
    *DASH_RUNS,
    SENTENCE_PUNCT_RUN,
    f"(?<=[0-9])(?:{alternation(UNITS)})",
    f"[{CURRENCY}]+",
    *SYMBOL_RUNS,
    f"[{OPEN_BRACKETS}{CLOSE_BRACKETS}]",
    QUOTE_PAIRS,
    f"[{OPEN_QUOTES}{CLOSE_QUOTES}]",
    f"[{CLAUSE_PUNCT}]",
    r"(?<=[^\W\d_]{2})/",
    # A final period leaves words in lower case, numbers, and all-caps words of two letters
    # or more ("USA."); after a single capital it marks an initial ("J.") and stays.
    f"(?<=[{LOWER}0-9{CLOSE_BRACKETS}{CLOSE_QUOTES}%{CURRENCY}{SENTENCE_END}])\\.",
    f"(?<=[{UPPER}][{UPPER}])\\.",
]

HYPHENS_CLASS = "[-\u2010\u2011]"
# hyphens between letters or digits: "search-engine", "AK-47", "1990-1995"
HYPHEN_INFIX = f"(?<={ALNUM_CLASS}){HYPHENS_CLASS}(?={ALNUM_CLASS})"

INFIXES: List[str] = [
    *ELLIPSES,
    *DASH_RUNS,
    HYPHEN_INFIX,
    # a slash between words, unless both sides are single letters ("b/c", "w/o")
    f"(?<={ALPHA_CLASS}{ALPHA_CLASS})/(?={ALNUM_CLASS})",
    f"(?<={ALNUM_CLASS})/(?={ALPHA_CLASS}{ALPHA_CLASS})",
    # commas and colons glued between words: "this,that", "Note:this"
    f"(?<={ALPHA_CLASS})[,:;](?={ALPHA_CLASS})",
    f"(?<=[0-9]),(?={ALPHA_CLASS})",
    f"(?<={ALPHA_CLASS}),(?=[0-9])",
    # a full stop between a lower-case and an upper-case letter: "end.Start"
    f"(?<=[{LOWER}])\\.(?=[{UPPER}])",
    # arithmetic between numbers and comparison signs between words
    r"(?<=[0-9])[+*^\u00d7=](?=[0-9])",
    f"(?<={ALPHA_CLASS})[=<>](?={ALPHA_CLASS})",
    f"(?<={ALPHA_CLASS})[{OPEN_BRACKETS}](?={ALNUM_CLASS})",
    f"(?<={ALNUM_CLASS})[{CLOSE_BRACKETS}](?={ALPHA_CLASS})",
]

TOKENIZER_PREFIXES = PREFIXES
TOKENIZER_SUFFIXES = SUFFIXES
TOKENIZER_INFIXES = INFIXES
