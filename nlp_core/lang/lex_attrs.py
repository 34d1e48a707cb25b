"""Language-independent lexical attribute functions: str -> value.

Each language may replace any of them (English adds number words, stop words and norm
exceptions in `lang/en`). Values are computed once per distinct string by the Vocab.
"""
import re
import unicodedata
from typing import Callable, Dict

from .. import attrs

BRACKETS = frozenset("()[]{}<>")
QUOTES = frozenset("'\"`‘’‚‛“”„‟«»‹›「」『』〝〞〟＂＇")
LEFT_PUNCT = frozenset("([{<‘‚‛“„‟«‹「『〝")
RIGHT_PUNCT = frozenset(")]}>’”»›」』〞〟")

_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$")
_URL_TLD = re.compile(r"\.(com|org|net|edu|gov|io|co|uk|de|info|biz|us|ca|au|fr|jp|ru|ch|it|nl|se|no|es|mil)(\W|$)", re.I)


def lower(text: str) -> str:
    return text.lower()


def prefix(text: str) -> str:
    return text[:1]


def suffix(text: str) -> str:
    return text[-3:]


def word_shape(text: str) -> str:
    """Orthographic shape: X for upper, x for lower, d for digit, other chars kept; runs of
    the same shape character are cut after four ("Xxxxx" for "Hello", "dddd" for "19999")."""
    if len(text) >= 100:
        return "LONG"
    shape = []
    last = ""
    run = 0
    for char in text:
        if char.isalpha():
            shape_char = "X" if char.isupper() else "x"
        elif char.isdigit():
            shape_char = "d"
        else:
            shape_char = char
        if shape_char == last:
            run += 1
        else:
            run = 0
            last = shape_char
        if run < 4:
            shape.append(shape_char)
    return "".join(shape)


def is_ascii(text: str) -> bool:
    return text.isascii()


def is_punct(text: str) -> bool:
    if not text:
        return False
    return all(unicodedata.category(c).startswith("P") for c in text)


def is_space(text: str) -> bool:
    return text.isspace()


def is_bracket(text: str) -> bool:
    return text in BRACKETS


def is_quote(text: str) -> bool:
    return len(text) > 0 and all(c in QUOTES for c in text) or text in ("''", "``")


def is_left_punct(text: str) -> bool:
    return text in LEFT_PUNCT or text == "``"


def is_right_punct(text: str) -> bool:
    return text in RIGHT_PUNCT or text == "''"


def is_currency(text: str) -> bool:
    return len(text) > 0 and all(unicodedata.category(c) == "Sc" for c in text)


def like_email(text: str) -> bool:
    return bool(_EMAIL.match(text))


def like_url(text: str) -> bool:
    """True for strings that look like web addresses: scheme, www., or a known domain ending."""
    if len(text) < 3:
        return False
    lowered = text.lower()
    if lowered.startswith(("http://", "https://", "ftp://", "www.", "file://")):
        return True
    if text[0] == "." or text[-1] == "." or "@" in text:
        return False
    if "." not in text:
        return False
    return bool(_URL_TLD.search(lowered))


def like_num(text: str) -> bool:
    if text.startswith(("+", "-", "±", "~")):
        text = text[1:]
    text = text.replace(",", "").replace(".", "")
    if text.isdigit():
        return True
    if text.count("/") == 1:
        num, denom = text.split("/")
        return num.isdigit() and denom.isdigit()
    return False


def is_stop(text: str) -> bool:
    return False


LEX_ATTRS: Dict[int, Callable[[str], object]] = {
    attrs.LOWER: lower,
    attrs.NORM: lower,
    attrs.SHAPE: word_shape,
    attrs.PREFIX: prefix,
    attrs.SUFFIX: suffix,
    attrs.IS_ALPHA: str.isalpha,
    attrs.IS_ASCII: is_ascii,
    attrs.IS_DIGIT: str.isdigit,
    attrs.IS_LOWER: str.islower,
    attrs.IS_UPPER: str.isupper,
    attrs.IS_TITLE: str.istitle,
    attrs.IS_PUNCT: is_punct,
    attrs.IS_SPACE: is_space,
    attrs.LIKE_URL: like_url,
    attrs.LIKE_NUM: like_num,
    attrs.LIKE_EMAIL: like_email,
    attrs.IS_STOP: is_stop,
    attrs.IS_BRACKET: is_bracket,
    attrs.IS_QUOTE: is_quote,
    attrs.IS_LEFT_PUNCT: is_left_punct,
    attrs.IS_RIGHT_PUNCT: is_right_punct,
    attrs.IS_CURRENCY: is_currency,
}
