"""doc.text == text for every input: a property test over random Unicode text, and
hand-picked hard cases (odd whitespace, emoji sequences, combining marks, RTL, controls)."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlp_core.tokenizer.reference import tokenize_reference

HARD_CASES = [
    "\u00a0lead\u00a0and\u00a0trail\u00a0",
    "line\u2028sep\u2029para\r\nwin\rmac\x0bvt\x0cff\x1cfs\x85nel",
    "\u200b\u200c\u200d zero width \ufeffbom",
    "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466 family, "
    "\U0001F44D\U0001F3FD thumbs, \U0001F1FA\U0001F1F8 flag!",
    "e\u0301te\u0301 n\u0303 a\u0308\u0304\u0301",
    "\u05e9\u05dc\u05d5\u05dd (\u05e2\u05d5\u05dc\u05dd)! \u0645\u0631\u062d\u0628\u0627\u061f",
    "\x00\x01\x02 ctrl\x7f\x9f",
    "\ud800 lone surrogate \udfff",
    "   ", "\t\n", "...", "'", "''", "-", "U.S.", "a" * 600 + " " + "b" * 600,
    "don't\u00a0can't\u3000won't",
]


@pytest.mark.parametrize("text", HARD_CASES)
def test_hard_cases_round_trip(en_tokenizer, text):
    doc = en_tokenizer(text)
    assert doc.text == text
    assert "".join(t.text + t.whitespace_ for t in doc) == text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=80))
def test_random_unicode_round_trips(en_tokenizer, text):
    doc = en_tokenizer(text)
    assert doc.text == text
    assert "".join(t.text + t.whitespace_ for t in doc) == text
    assert all(t.text for t in doc)
    splitter = en_tokenizer._splitter
    words, _ = tokenize_reference(text, splitter.split, splitter.split_final)
    assert [t.text for t in doc] == words


_PIECES = st.sampled_from([" ", "  ", "\n", "\t", "\u00a0", "don't", "U.S.", "e-mail", "(",
                           ")", ".", "...", "!!", "foo@bar.com", "http://x.org/a-b", ":)",
                           "Mr.", "5km", "'s", "\"", "-", "/", "\U0001F44D\U0001F3FD", "x"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=30).map("".join))
def test_tokenizer_like_text_round_trips(en_tokenizer, text):
    doc = en_tokenizer(text)
    assert doc.text == text
    second = en_tokenizer(text)
    assert [t.text for t in second] == [t.text for t in doc]
