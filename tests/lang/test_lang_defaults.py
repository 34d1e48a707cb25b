"""Language defaults: lookup by code, English lexical attributes, the generic rules."""
import pytest

from nlp_core import attrs
from nlp_core.lang import get_lang_defaults
from nlp_core.lang.en import EnglishDefaults
from nlp_core.tokenizer import create_tokenizer
from nlp_core.vocab import Vocab


def test_get_lang_defaults():
    assert get_lang_defaults("en") is EnglishDefaults
    xx = get_lang_defaults("xx")
    assert xx.lang == "xx"
    for defaults in (EnglishDefaults, xx):
        for name in ("tokenizer_exceptions", "prefixes", "suffixes", "infixes",
                     "token_match", "url_match", "lex_attr_getters", "stop_words"):
            assert hasattr(defaults, name)


def test_unknown_language_names_known_ones():
    with pytest.raises(ValueError, match=r"E100.*'en'"):
        get_lang_defaults("eng")


def test_english_exceptions_join_back():
    for string, pieces in EnglishDefaults.tokenizer_exceptions.items():
        assert "".join(pieces) == string, string


@pytest.mark.parametrize("word,expected", [("the", True), ("The", True), ("n't", True),
                                           ("tokenizer", False), ("Google", False)])
def test_is_stop(word, expected):
    vocab = Vocab(lex_attr_getters=EnglishDefaults.lex_attr_getters, lang="en")
    assert vocab[word].is_stop is expected


@pytest.mark.parametrize("word,expected", [("ten", True), ("Twenty-one", True),
                                           ("first", True), ("21st", True), ("1,000", True),
                                           ("3/4", True), ("tent", False), ("one-off", False)])
def test_like_num(word, expected):
    assert EnglishDefaults.lex_attr_getters[attrs.LIKE_NUM](word) is expected


@pytest.mark.parametrize("word,norm", [("n't", "not"), ("'m", "am"), ("ca", "can"),
                                       ("Colour", "color"), ("\u2019", "'"),
                                       ("Hello", "hello"), ("gon", "going")])
def test_norm(word, norm):
    vocab = Vocab(lex_attr_getters=EnglishDefaults.lex_attr_getters, lang="en")
    assert vocab[word].norm_ == norm


def test_language_independent_tokenizer():
    xx = get_lang_defaults("xx")
    tokenizer = create_tokenizer(Vocab(), xx)
    doc = tokenizer("Bonjour, le monde! (voir www.exemple.fr) :)")
    assert [t.text for t in doc] == ["Bonjour", ",", "le", "monde", "!", "(", "voir",
                                     "www.exemple.fr", ")", ":)"]
    # no English clitic rules here
    assert [t.text for t in tokenizer("l'homme's")] == ["l'homme's"]


def test_english_rules_are_strings():
    for rules in (EnglishDefaults.prefixes, EnglishDefaults.suffixes, EnglishDefaults.infixes):
        assert rules and all(isinstance(r, str) for r in rules)
