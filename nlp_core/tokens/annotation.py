"""The values and dtypes that Doc, Span, Token and DocBin share: which annotation columns a
Doc stores and with what dtype, the attribute ID of each column, the IOB codes and the
Universal POS tags.

The values match spaCy's, so arrays and `.spacy` files move between the two libraries
unchanged.
"""
from typing import Union

import numpy

from .. import attrs as A
from ..errors import Errors
from ..symbols import IDS as SYMBOL_IDS

# the columns every Doc has: they define the tokens (`Doc.from_columns` takes them)
CORE_DTYPES = {
    "orth": numpy.uint64, "length": numpy.int32, "trailing_space": numpy.bool_,
    "idx": numpy.int32,
}
CORE_COLUMNS = tuple(CORE_DTYPES)
# the columns a Doc stores once a value is written (absent reads as all zero)
ANNOTATION_DTYPES = {
    "norm": numpy.uint64, "lemma": numpy.uint64, "tag": numpy.uint64, "pos": numpy.uint64,
    "dep": numpy.uint64, "morph": numpy.uint64, "ent_type": numpy.uint64,
    "ent_kb_id": numpy.uint64, "ent_id": numpy.uint64, "head": numpy.int32,
    "sent_start": numpy.int8, "ent_iob": numpy.uint8,
}
COLUMN_DTYPES = {**CORE_DTYPES, **ANNOTATION_DTYPES}
# attribute ID -> column name, for the attributes a Doc stores per token
COLUMN_OF_ATTR = {
    A.ORTH: "orth", A.SPACY: "trailing_space", A.IDX: "idx", A.LENGTH: "length",
    A.NORM: "norm", A.LEMMA: "lemma", A.TAG: "tag", A.POS: "pos", A.DEP: "dep", A.MORPH: "morph",
    A.ENT_TYPE: "ent_type", A.ENT_KB_ID: "ent_kb_id", A.ENT_ID: "ent_id", A.HEAD: "head",
    A.SENT_START: "sent_start", A.ENT_IOB: "ent_iob",
}
IOB_STRINGS = ("", "I", "O", "B")
IOB_VALUES = {"": 0, "I": 1, "O": 2, "B": 3}
UNIVERSAL_POS = ("ADJ", "ADP", "ADV", "AUX", "CONJ", "CCONJ", "DET", "INTJ", "NOUN", "NUM",
                 "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X", "EOL", "SPACE")


def pos_id(value: Union[str, int]) -> int:
    """The symbol ID of a Universal POS tag ("NOUN" -> 92); "" or 0 means unset."""
    if isinstance(value, int):
        return value
    if value == "":
        return 0
    if value not in UNIVERSAL_POS:
        raise ValueError(Errors.E017.format(value=value, known=", ".join(UNIVERSAL_POS[:6])))
    return SYMBOL_IDS[value]
