"""Fixtures for tokenizer tests: the English tokenizer is built once per session (its
regular expressions take a moment to compile)."""
import pytest

from nlp_core.lang import get_lang_defaults
from nlp_core.tokenizer import create_tokenizer
from nlp_core.vocab import Vocab


def make_en_tokenizer():
    defaults = get_lang_defaults("en")
    return create_tokenizer(Vocab(lex_attr_getters=defaults.lex_attr_getters, lang="en"),
                            defaults)


@pytest.fixture(scope="session")
def en_tokenizer():
    return make_en_tokenizer()


@pytest.fixture
def fresh_en_tokenizer():
    """A tokenizer of one's own, for tests that change rules."""
    return make_en_tokenizer()
