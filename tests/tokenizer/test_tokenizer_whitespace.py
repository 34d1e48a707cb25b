"""Whitespace conventions: one ' ' after a token is its trailing whitespace; any other
whitespace is a token of its own. The text always comes back exactly."""
import pytest

from nlp_core.tokenizer.reference import split_whitespace, tokenize_reference


def texts(doc):
    return [t.text for t in doc]



@pytest.mark.parametrize("text,expected", [
    ("hello world", [("hello", " "), ("world", "")]),
    ("hello ", [("hello", " ")]),
    ("hello  ", [("hello", " "), (" ", "")]),
    ("hello  world", [("hello", " "), (" ", ""), ("world", "")]),
    (" hello", [(" ", ""), ("hello", "")]),
    ("  hello", [("  ", ""), ("hello", "")]),
    ("a\nb", [("a", ""), ("\n", ""), ("b", "")]),
    ("a \n b", [("a", " "), ("\n ", ""), ("b", "")]),
    ("a\t\tb", [("a", ""), ("\t\t", ""), ("b", "")]),
    ("a\u00a0b", [("a", ""), ("\u00a0", ""), ("b", "")]),
    ("a \u00a0 b", [("a", " "), ("\u00a0 ", ""), ("b", "")]),
    ("a\r\nb", [("a", ""), ("\r\n", ""), ("b", "")]),
    ("a\u2028b", [("a", ""), ("\u2028", ""), ("b", "")]),
    (" ", [(" ", "")]),
    ("\n", [("\n", "")]),
    ("", []),
])
def test_whitespace_tokens(en_tokenizer, text, expected):
    doc = en_tokenizer(text)
    assert [(t.text, t.whitespace_) for t in doc] == expected
    assert doc.text == text


def test_offsets_point_into_the_text(en_tokenizer):
    text = "  Hello,  world!\n\tI'm (here)  "
    doc = en_tokenizer(text)
    for token in doc:
        assert text[token.idx:token.idx + len(token.text)] == token.text
    assert doc.text == text


@pytest.mark.parametrize("text", [
    "Hello world!", "  lead and trail  ", "tabs\tand\nnewlines\r\n", "a  b   c    d",
    "(Mr. Smith's dog) can't swim... 100% sure!", "e-mail me: foo@bar.com.",
    "\u00a0\u2028\u3000x\u200by", "", "See the U.S.", "etc. etc.", "No.  ",
])
def test_native_loop_matches_reference(en_tokenizer, text):
    doc = en_tokenizer(text)
    splitter = en_tokenizer._splitter
    words, spaces = tokenize_reference(text, splitter.split, splitter.split_final)
    assert [t.text for t in doc] == words
    assert [bool(t.whitespace_) for t in doc] == spaces


def test_split_whitespace_reference():
    assert split_whitespace("a b  c\n") == [("a", True), ("b", True), (" ", False),
                                             ("c", False), ("\n", False)]
    assert split_whitespace(" x") == [(" ", False), ("x", False)]


def test_long_text_uses_heap_buffers(en_tokenizer):
    text = "word, " * 2000 + "end."
    doc = en_tokenizer(text)
    assert doc.text == text
    assert texts(doc)[:3] == ["word", ",", "word"]
    assert len(doc) == 4002
