"""Language-independent defaults ("xx"), and the base that every language's defaults extend.

A defaults class holds language data only: the tokenizer's special cases and rules and the
lexical attribute functions. `create_tokenizer(vocab, defaults)` builds a tokenizer from it.
"""
from typing import Callable, Dict, FrozenSet, List

from ..punctuation import TOKENIZER_INFIXES, TOKENIZER_PREFIXES, TOKENIZER_SUFFIXES
from .tokenizer_exceptions import BASE_EXCEPTIONS, token_match, url_match


class BaseDefaults:
    """Tokenizer rules and lexical attributes shared by all languages.

    Attributes:
        lang: ISO 639-1 code, "xx" for language-independent.
        tokenizer_exceptions: string -> tokens it is split into (they concatenate to it).
        prefixes / suffixes / infixes: regular expressions (strings) for the rules.
        token_match / url_match: callables (str -> match or None) keeping a chunk whole.
        lex_attr_getters: attribute ID -> function(str) overriding the generic ones.
        stop_words: the language's stop words (lower case).
    """

    lang: str = "xx"
    tokenizer_exceptions: Dict[str, List[str]] = BASE_EXCEPTIONS
    prefixes: List[str] = TOKENIZER_PREFIXES
    suffixes: List[str] = TOKENIZER_SUFFIXES
    infixes: List[str] = TOKENIZER_INFIXES
    token_match: Callable | None = token_match
    url_match: Callable | None = url_match
    lex_attr_getters: Dict[int, Callable] = {}
    stop_words: FrozenSet[str] = frozenset()


class MultiLanguageDefaults(BaseDefaults):
    lang = "xx"
