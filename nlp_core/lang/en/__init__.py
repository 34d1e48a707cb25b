"""English language data: tokenizer rules and special cases, stop words, number words, norms."""
from ..xx import BaseDefaults
from ..xx.tokenizer_exceptions import token_match, url_match
from .lex_attrs import LEX_ATTRS
from .punctuation import INFIXES, PREFIXES, SUFFIXES
from .stop_words import STOP_WORDS
from .tokenizer_exceptions import TOKENIZER_EXCEPTIONS


class EnglishDefaults(BaseDefaults):
    """English defaults for `create_tokenizer` and the Vocab's lexical attributes."""

    lang = "en"
    tokenizer_exceptions = TOKENIZER_EXCEPTIONS
    prefixes = PREFIXES
    suffixes = SUFFIXES
    infixes = INFIXES
    token_match = token_match
    url_match = url_match
    lex_attr_getters = LEX_ATTRS
    stop_words = STOP_WORDS


__all__ = ["EnglishDefaults"]
