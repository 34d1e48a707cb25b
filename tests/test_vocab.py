import numpy

from nlp_core import attrs
from nlp_core.vocab import Vocab


def test_lexeme_attributes(vocab):
    lex = vocab["Hello"]
    assert lex.orth_ == "Hello" and lex.lower_ == "hello" and lex.norm_ == "hello"
    assert lex.shape_ == "Xxxxx" and lex.prefix_ == "H" and lex.suffix_ == "llo"
    assert lex.is_alpha and lex.is_title and not lex.is_lower and not lex.is_digit
    assert vocab["1999"].shape_ == "dddd" and vocab["1999"].is_digit
    assert vocab["123456"].shape_ == "dddd"
    assert vocab["10,000.5"].like_num and not vocab["ten-ish"].like_num
    assert vocab["!"].is_punct and vocab["("].is_bracket and vocab["("].is_left_punct
    assert vocab["$"].is_currency and vocab['"'].is_quote
    assert vocab["https://example.com/a"].like_url and vocab["www.example.org"].like_url
    assert not vocab["e.g."].like_url
    assert vocab["jane.doe@example.co.uk"].like_email
    assert vocab["\n"].is_space and not vocab["x"].is_space


def test_lexeme_changes_are_shared(vocab):
    vocab["gonna"].norm_ = "going to"
    assert vocab["gonna"].norm_ == "going to"


def test_attr_array_looks_up_each_type_once(vocab):
    orths = numpy.array([vocab.strings.add(w) for w in ["The", "the", "THE", "The"]],
                        dtype=numpy.uint64)
    lower = vocab.attr_array(orths, attrs.LOWER)
    assert len(set(lower.tolist())) == 1
    assert vocab.strings[int(lower[0])] == "the"
    flags = vocab.attr_array(orths, attrs.IS_TITLE)
    assert flags.tolist() == [1, 0, 0, 1]


def test_language_getters_override_defaults():
    vocab = Vocab(lex_attr_getters={attrs.IS_STOP: lambda s: s.lower() == "the"})
    assert vocab["The"].is_stop and not vocab["cat"].is_stop


def test_vocab_disk_round_trip(tmp_path, vocab):
    vocab.strings.add("zebra")
    vocab.to_disk(tmp_path)
    loaded = Vocab().from_disk(tmp_path)
    assert "zebra" in loaded.strings
