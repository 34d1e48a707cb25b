"""English lexical attributes: number words (LIKE_NUM), stop words (IS_STOP) and norms (NORM)."""
from typing import Callable, Dict

from ... import attrs
from ..lex_attrs import like_num as _generic_like_num
from .norm_exceptions import NORM_EXCEPTIONS
from .stop_words import STOP_WORDS

CARDINALS = frozenset("""
zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty
ninety hundred thousand million billion trillion quadrillion dozen dozens hundreds
thousands millions billions trillions
""".split())

ORDINALS = frozenset("""
first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth
thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth
thirtieth fortieth fiftieth sixtieth seventieth eightieth ninetieth hundredth thousandth
millionth billionth trillionth
""".split())

_ORDINAL_ENDINGS = ("st", "nd", "rd", "th")


def like_num(text: str) -> bool:
    """Digits ("1,000", "3/4"), ordinals in digits ("21st") or English number words."""
    if _generic_like_num(text):
        return True
    lowered = text.lower()
    if lowered.endswith(_ORDINAL_ENDINGS) and lowered[:-2].isdigit():
        return True
    if lowered in CARDINALS or lowered in ORDINALS:
        return True
    # "twenty-one", "forty-second"
    parts = lowered.split("-")
    return len(parts) > 1 and all(p in CARDINALS or p in ORDINALS for p in parts)


def is_stop(text: str) -> bool:
    return text.lower() in STOP_WORDS


def norm(text: str) -> str:
    """The normalised form: a listed exception (spelling variant, contraction) or lower case."""
    found = NORM_EXCEPTIONS.get(text)
    if found is not None:
        return found
    lowered = text.lower()
    return NORM_EXCEPTIONS.get(lowered, lowered)


LEX_ATTRS: Dict[int, Callable[[str], object]] = {
    attrs.LIKE_NUM: like_num,
    attrs.IS_STOP: is_stop,
    attrs.NORM: norm,
}
