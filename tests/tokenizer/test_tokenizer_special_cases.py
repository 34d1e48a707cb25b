"""Special cases: contractions, informal fusions, abbreviations, emoticons."""
import pytest

from nlp_core.tokenizer import Tokenizer


def texts(doc):
    return [t.text for t in doc]



@pytest.mark.parametrize("text,expected", [
    ("don't", ["do", "n't"]),
    ("Don't", ["Do", "n't"]),
    ("DON'T", ["DO", "N'T"]),
    ("don\u2019t", ["do", "n\u2019t"]),
    ("can't", ["ca", "n't"]),
    ("won't", ["wo", "n't"]),
    ("dont", ["do", "nt"]),
    ("cannot", ["can", "not"]),
    ("gonna", ["gon", "na"]),
    ("Gonna", ["Gon", "na"]),
    ("I'm", ["I", "'m"]),
    ("they're", ["they", "'re"]),
    ("we'll", ["we", "'ll"]),
    ("it's", ["it", "'s"]),
    ("Bush's", ["Bush", "'s"]),
    ("mustn't've", ["must", "n't", "'ve"]),
    ("James'", ["James", "'"]),
])
def test_contractions(en_tokenizer, text, expected):
    assert texts(en_tokenizer(text)) == expected


@pytest.mark.parametrize("text", ["Mr.", "Dr.", "e.g.", "i.e.", "U.S.", "U.S.A.", "Inc.",
                                  "vs.", "etc.", "Sept.", "a.m.", "J."])
def test_abbreviations_keep_their_period(en_tokenizer, text):
    assert texts(en_tokenizer(f"{text} x")) == [text, "x"]


@pytest.mark.parametrize("text,expected", [
    ("I live in the U.S.", ["I", "live", "in", "the", "U.S", "."]),
    ("apples, pears, etc.", ["apples", ",", "pears", ",", "etc", "."]),
    ("nor would I.", ["nor", "would", "I", "."]),
    ("etc. etc.", ["etc.", "etc", "."]),
])
def test_a_text_final_abbreviation_gives_up_its_period(en_tokenizer, text, expected):
    assert texts(en_tokenizer(text)) == expected


@pytest.mark.parametrize("emoticon", [":)", ":-)", ";)", ":(", ":D", "<3", ":P", "^_^"])
def test_emoticons(en_tokenizer, emoticon):
    assert texts(en_tokenizer(f"nice {emoticon} x")) == ["nice", emoticon, "x"]


def test_special_case_after_stripping_punctuation(en_tokenizer):
    assert texts(en_tokenizer("(don't)")) == ["(", "do", "n't", ")"]
    assert texts(en_tokenizer('"can\'t."')) == ['"', "ca", "n't", ".", '"']
    assert texts(en_tokenizer("(:)")) == ["(", ":)"]


def test_add_special_case(vocab):
    tokenizer = Tokenizer(vocab)
    assert texts(tokenizer("gimme that")) == ["gimme", "that"]
    tokenizer.add_special_case("gimme", ["gim", "me"])
    assert texts(tokenizer("gimme that")) == ["gim", "me", "that"]
    tokenizer.add_special_case("lemme", [{"ORTH": "lem"}, {"ORTH": "me"}])
    assert texts(tokenizer("lemme")) == ["lem", "me"]
    assert tokenizer.rules["lemme"] == ["lem", "me"]


@pytest.mark.parametrize("string,substrings,code", [
    ("gimme", ["gim", "mee"], "E101"),
    ("gimme", ["gim"], "E101"),
    ("gimme", ["gim", "", "me"], "E101"),
    ("gim me", ["gim", " me"], "E102"),
    ("", [], "E102"),
])
def test_invalid_special_cases_are_rejected(vocab, string, substrings, code):
    tokenizer = Tokenizer(vocab)
    with pytest.raises(ValueError, match=code):
        tokenizer.add_special_case(string, substrings)


def test_rules_setter_replaces_all(vocab):
    tokenizer = Tokenizer(vocab, rules={"ab": ["a", "b"]})
    assert texts(tokenizer("ab")) == ["a", "b"]
    tokenizer.rules = {"cd": ["c", "d"]}
    assert texts(tokenizer("ab cd")) == ["ab", "c", "d"]
