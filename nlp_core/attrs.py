"""Token and lexeme attribute IDs (the same integers spaCy uses, so arrays and DocBins agree)."""
from typing import Iterable, List, Union

from .errors import Errors, nearest
from .symbols import IDS as SYMBOL_IDS

ATTR_NAMES = (
    "IS_ALPHA", "IS_ASCII", "IS_DIGIT", "IS_LOWER", "IS_PUNCT", "IS_SPACE", "IS_TITLE",
    "IS_UPPER", "LIKE_URL", "LIKE_NUM", "LIKE_EMAIL", "IS_STOP", "IS_BRACKET", "IS_QUOTE",
    "IS_LEFT_PUNCT", "IS_RIGHT_PUNCT", "IS_CURRENCY", "ID", "ORTH", "LOWER", "NORM", "SHAPE",
    "PREFIX", "SUFFIX", "LENGTH", "LEMMA", "POS", "TAG", "DEP", "ENT_IOB", "ENT_TYPE", "HEAD",
    "SENT_START", "SPACY", "LANG", "ENT_KB_ID", "MORPH", "ENT_ID", "IDX",
)
IDS = {name: SYMBOL_IDS[name] for name in ATTR_NAMES}
NAMES = {value: name for name, value in IDS.items()}
globals().update(IDS)

IS_ALPHA: int
IS_ASCII: int
IS_DIGIT: int
IS_LOWER: int
IS_PUNCT: int
IS_SPACE: int
IS_TITLE: int
IS_UPPER: int
LIKE_URL: int
LIKE_NUM: int
LIKE_EMAIL: int
IS_STOP: int
IS_BRACKET: int
IS_QUOTE: int
IS_LEFT_PUNCT: int
IS_RIGHT_PUNCT: int
IS_CURRENCY: int
ID: int
ORTH: int
LOWER: int
NORM: int
SHAPE: int
PREFIX: int
SUFFIX: int
LENGTH: int
LEMMA: int
POS: int
TAG: int
DEP: int
ENT_IOB: int
ENT_TYPE: int
HEAD: int
SENT_START: int
SPACY: int
LANG: int
ENT_KB_ID: int
MORPH: int
ENT_ID: int
IDX: int


def intify_attr(name: Union[str, int]) -> int:
    """Map an attribute name ("ORTH", "orth", "TAG") or ID to its integer ID.

    Raises:
        ValueError: naming the unknown attribute and the closest known ones.
    """
    if isinstance(name, int):
        if name not in NAMES:
            raise ValueError(Errors.E004.format(name=name, known=nearest(str(name), IDS)))
        return name
    key = str(name).upper()
    if key.startswith("TOKEN.") or key.startswith("LEX."):
        key = key.split(".", 1)[1]
    if key not in IDS:
        raise ValueError(Errors.E004.format(name=name, known=nearest(key, IDS)))
    return IDS[key]


def intify_attrs(names: Iterable[Union[str, int]]) -> List[int]:
    return [intify_attr(n) for n in names]
