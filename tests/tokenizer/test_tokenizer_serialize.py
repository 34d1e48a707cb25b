"""Serialisation: rules and special cases as msgpack data, never pickle."""
import re

import pytest
import srsly

from nlp_core.tokenizer import Tokenizer
from nlp_core.vocab import Vocab


def texts(doc):
    return [t.text for t in doc]


SAMPLE = "(Don't) e-mail foo@bar.com about the U.S. plans... ok? :) gimme"


def test_bytes_round_trip(fresh_en_tokenizer):
    fresh_en_tokenizer.add_special_case("gimme", ["gim", "me"])
    data = fresh_en_tokenizer.to_bytes()
    loaded = Tokenizer(Vocab()).from_bytes(data)
    assert texts(loaded(SAMPLE)) == texts(fresh_en_tokenizer(SAMPLE))
    assert loaded.rules == fresh_en_tokenizer.rules
    assert loaded.to_bytes() == data


def test_disk_round_trip(fresh_en_tokenizer, tmp_path):
    path = tmp_path / "tokenizer"
    fresh_en_tokenizer.to_disk(path)
    loaded = Tokenizer(Vocab()).from_disk(path)
    assert texts(loaded(SAMPLE)) == texts(fresh_en_tokenizer(SAMPLE))


def test_data_is_plain_msgpack(fresh_en_tokenizer):
    data = srsly.msgpack_loads(fresh_en_tokenizer.to_bytes())
    assert data["format"] == "nlp_core.tokenizer"
    assert data["rules"]["don't"] == ["do", "n't"]
    assert set(data["prefix_search"]) == {"pattern", "flags", "method"}


def test_exclude(fresh_en_tokenizer):
    data = srsly.msgpack_loads(fresh_en_tokenizer.to_bytes(exclude=["rules"]))
    assert "rules" not in data
    loaded = Tokenizer(Vocab(), rules={"ab": ["a", "b"]}).from_bytes(
        fresh_en_tokenizer.to_bytes(), exclude=["rules"])
    assert loaded.rules == {"ab": ["a", "b"]}


def test_custom_function_cannot_be_serialised(vocab):
    tokenizer = Tokenizer(vocab, token_match=lambda s: s == "x")
    with pytest.raises(ValueError, match="E103"):
        tokenizer.to_bytes()
    assert tokenizer.to_bytes(exclude=["token_match"])


def test_flags_survive(vocab):
    tokenizer = Tokenizer(vocab, infix_finditer=re.compile("x", re.IGNORECASE).finditer)
    loaded = Tokenizer(Vocab()).from_bytes(tokenizer.to_bytes())
    assert texts(loaded("aXb")) == ["a", "X", "b"]


@pytest.mark.parametrize("data", [b"not msgpack \xc1", srsly.msgpack_dumps({"a": 1}),
                                  srsly.msgpack_dumps({"format": "nlp_core.tokenizer",
                                                       "version": 99})])
def test_corrupt_data_raises_value_error(vocab, data):
    with pytest.raises(ValueError, match="E104"):
        Tokenizer(vocab).from_bytes(data)


def test_copy_for_worker_processes(fresh_en_tokenizer):
    import pickle

    copy = pickle.loads(pickle.dumps(fresh_en_tokenizer))
    assert texts(copy(SAMPLE)) == texts(fresh_en_tokenizer(SAMPLE))
