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
    assert set(data["patterns"]["prefix_search"]) == {"pattern", "flags", "method"}


def _spacy_reader(data: dict, vocab) -> Tokenizer:
    """What spaCy 3.x's Tokenizer.from_bytes does with the map: each field it knows that
    holds a string is compiled without flags and called with spaCy's method; `exceptions`
    become the special cases; every other key is ignored."""
    methods = {"prefix_search": "search", "suffix_search": "search",
               "infix_finditer": "finditer", "token_match": "match", "url_match": "match"}
    functions = {name: getattr(re.compile(data[name]), method)
                 for name, method in methods.items() if isinstance(data.get(name), str)}
    return Tokenizer(vocab, rules=data["exceptions"], **functions)


def test_spacy_reads_our_file_as_the_same_tokenizer(fresh_en_tokenizer):
    """The keys spaCy reads describe the same tokenizer: built from them alone, spaCy's way,
    it tokenizes EWT dev exactly as ours (a file spaCy cannot read would make it fall back
    to splitting on whitespace, silently)."""
    from shared_data import shared_path

    data = srsly.msgpack_loads(fresh_en_tokenizer.to_bytes())
    assert data["exceptions"]["don't"] == [{65: "do"}, {65: "n't"}]
    assert data["faster_heuristics"] is True
    assert all(isinstance(data[name], str) for name in
               ("prefix_search", "suffix_search", "infix_finditer", "url_match"))
    as_spacy = _spacy_reader(data, Vocab())
    lines = [line[len("# text = "):] for line in shared_path(
        "ud_english_ewt", "en_ewt-ud-dev.conllu").read_text(encoding="utf8").splitlines()
        if line.startswith("# text = ")]
    assert len(lines) > 2000
    for line in lines + [SAMPLE, "see https://example.com/a?b=1 now"]:
        assert texts(as_spacy(line)) == texts(fresh_en_tokenizer(line)), line


def test_flags_and_fullmatch_become_spacy_patterns(vocab):
    tokenizer = Tokenizer(vocab, infix_finditer=re.compile("x", re.IGNORECASE).finditer,
                          token_match=re.compile(r"(?u)[a-z]+\d").fullmatch)
    data = srsly.msgpack_loads(tokenizer.to_bytes())
    assert data["infix_finditer"] == "(?i)x"
    assert re.compile(data["token_match"]).match("ab1") is not None
    assert re.compile(data["token_match"]).match("ab1c") is None  # anchored like fullmatch
    assert texts(_spacy_reader(data, Vocab())("aXb")) == ["a", "X", "b"]


def test_reads_the_tokenizer_file_spacy_wrote(vocab):
    from shared_data import shared_path

    path = shared_path("interop", "vectors-small-spacy", "tokenizer")
    tokenizer = Tokenizer(vocab).from_disk(path)
    assert texts(tokenizer("Don't stop, Mr. Smith (really).")) == [
        "Do", "n't", "stop", ",", "Mr.", "Smith", "(", "really", ")", "."]
    assert tokenizer.rules["don't"] == ["do", "n't"]


def test_version_1_files_still_load(fresh_en_tokenizer):
    data = srsly.msgpack_loads(fresh_en_tokenizer.to_bytes())
    old = {"format": "nlp_core.tokenizer", "version": 1, "rules": data["rules"],
           **data["patterns"]}
    loaded = Tokenizer(Vocab()).from_bytes(srsly.msgpack_dumps(old))
    assert texts(loaded(SAMPLE)) == texts(fresh_en_tokenizer(SAMPLE))


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
