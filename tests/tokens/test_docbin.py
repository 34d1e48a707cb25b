"""DocBin: spaCy-written files read exactly; ours round-trip; corrupt data fails clearly."""
import json
import pickle
import zlib

import numpy
import pytest
import srsly
from formats.doc_fields import FIELDS, assert_docs_equal, doc_fields
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shared_data import shared_path

from nlp_core.tokens import Doc, DocBin, Span
from nlp_core.vocab import Vocab


@pytest.fixture(scope="module")
def interop_bytes() -> bytes:
    return shared_path("interop", "ewt-dev-sm.spacy").read_bytes()


@pytest.fixture(scope="module")
def interop_docs():
    vocab = Vocab(lang="en")
    return list(DocBin().from_disk(shared_path("interop", "ewt-dev-sm.spacy")).get_docs(vocab))


def _message(data: bytes) -> dict:
    return srsly.msgpack_loads(zlib.decompress(data))


def _pack(msg: dict) -> bytes:
    return zlib.compress(srsly.msgpack_dumps(msg))


def test_spacy_docbin_matches_expected_values_for_every_doc_and_attribute(interop_docs):
    path = shared_path("interop", "ewt-dev-sm.jsonl")
    expected = [json.loads(line) for line in path.read_text(encoding="utf8").splitlines()]
    assert len(interop_docs) == len(expected) == 200
    assert sum(len(d) for d in interop_docs) == 4011
    assert sum(len(d.ents) for d in interop_docs) == 357
    for doc, exp in zip(interop_docs, expected):
        got = doc_fields(doc)
        for key in FIELDS:
            assert got[key] == exp[key], f"doc {exp['i']} {key}"


def test_rewriting_a_spacy_docbin_gives_the_same_bytes(interop_docs, interop_bytes):
    ours = DocBin(store_user_data=True, docs=interop_docs).to_bytes()
    assert _message(ours) == _message(interop_bytes)
    assert zlib.decompress(ours) == zlib.decompress(interop_bytes)


def _annotated_doc(vocab) -> Doc:
    doc = Doc(vocab, words=["Mr.", "Smith", "visited", "New", "York", ".", "He", "left"],
              spaces=[True, True, True, True, False, True, True, False],
              tags=["NNP", "NNP", "VBD", "NNP", "NNP", ".", "PRP", "VBD"],
              pos=["PROPN", "PROPN", "VERB", "PROPN", "PROPN", "PUNCT", "PRON", "VERB"],
              morphs=["Number=Sing", "Number=Sing", "Tense=Past", "", "Number=Sing", "",
                      "Case=Nom|Person=3", None],
              lemmas=["Mr.", "Smith", "visit", "New", "York", ".", "he", "leave"],
              heads=[1, 2, 2, 4, 2, 2, 7, 7],
              deps=["compound", "nsubj", "ROOT", "compound", "dobj", "punct", "nsubj", "ROOT"],
              ents=["B-PERSON", "I-PERSON", "O", "B-GPE", "I-GPE", "O", "O", ""])
    doc.cats = {"TRAVEL": 1.0, "SPORT": 0.0}
    doc.spans["people"] = [Span(doc, 0, 2, label="PERSON", kb_id="Q1"), Span(doc, 6, 7)]
    doc.spans["places"] = [Span(doc, 3, 5, label="GPE", span_id="ny")]
    doc.user_data["id"] = "doc-1"
    doc.user_data[("._.", "score", 0, 3)] = 0.5
    doc.user_data["array"] = numpy.arange(3, dtype=numpy.int32)
    return doc


def _assert_same_doc(got: Doc, expected: Doc) -> None:
    assert_docs_equal(got, expected)
    assert got.cats == expected.cats
    assert [t.norm_ for t in got] == [t.norm_ for t in expected]
    assert {k: [(s.start, s.end, s.label_, s.kb_id_, s.id_) for s in g]
            for k, g in got.spans.items()} == {
        k: [(s.start, s.end, s.label_, s.kb_id_, s.id_) for s in g]
        for k, g in expected.spans.items()}


def test_our_docbin_round_trips_every_annotation(vocab, tmp_path):
    doc = _annotated_doc(vocab)
    empty = Doc(vocab, words=[])
    plain = Doc(vocab, words=["just", "words"], spaces=[False, False])
    bin_ = DocBin(store_user_data=True, docs=[doc, empty, plain])
    assert len(bin_) == 3
    path = tmp_path / "out.spacy"
    bin_.to_disk(path)
    fresh = Vocab(lang="en")
    docs = list(DocBin().from_disk(path).get_docs(fresh))
    assert len(docs) == 3
    _assert_same_doc(docs[0], doc)
    assert docs[0].user_data["id"] == "doc-1"
    assert docs[0].user_data[("._.", "score", 0, 3)] == 0.5
    assert docs[0].user_data["array"].tolist() == [0, 1, 2]
    assert len(docs[1]) == 0 and docs[1].text == ""
    assert docs[2].text == "justwords"
    assert not docs[2].has_annotation("TAG")
    # the strings table holds what every string column uses, as spaCy writes it
    strings = set(_message(path.read_bytes())["strings"])
    assert {"Smith", "NNP", "visit", "compound", "PERSON", "Q1", "GPE", "ny", "",
            "Case=Nom|Person=3"} <= strings


def test_user_data_is_written_only_when_asked(vocab):
    doc = _annotated_doc(vocab)
    msg = _message(DocBin(docs=[doc]).to_bytes())
    assert "user_data" not in msg
    (back,) = DocBin().from_bytes(DocBin(docs=[doc]).to_bytes()).get_docs(Vocab())
    assert back.user_data == {}


def test_attrs_choose_what_is_stored(vocab):
    doc = _annotated_doc(vocab)
    bin_ = DocBin(attrs=["TAG", "ORTH", "SPACY"])
    assert bin_.attrs == [65, 75]
    bin_.add(doc)
    (back,) = bin_.from_bytes(bin_.to_bytes()).get_docs(Vocab())
    assert [t.tag_ for t in back] == [t.tag_ for t in doc]
    assert back.text == doc.text
    assert not back.has_annotation("DEP") and not back.has_annotation("LEMMA")


def test_unknown_spaces_flag_round_trips(vocab):
    doc = Doc(vocab, words=["a", "b"], spaces=[False, False])
    doc.has_unknown_spaces = True
    msg = _message(DocBin(docs=[doc]).to_bytes())
    assert msg["flags"] == [{"has_unknown_spaces": True}]
    (back,) = DocBin().from_bytes(_pack(msg)).get_docs(Vocab())
    assert back.text == "a b " and back.has_unknown_spaces


def test_merge_appends_docs_and_checks_settings(vocab, interop_docs):
    a = DocBin(docs=interop_docs[:3])
    b = DocBin(docs=interop_docs[3:5])
    a.merge(b)
    assert len(a) == 5
    back = list(DocBin().from_bytes(a.to_bytes()).get_docs(Vocab()))
    assert [d.text for d in back] == [d.text for d in interop_docs[:5]]
    with pytest.raises(ValueError, match="attrs"):
        a.merge(DocBin(attrs=["TAG"]))
    with pytest.raises(ValueError, match="store_user_data"):
        a.merge(DocBin(store_user_data=True))


def test_empty_docbin_round_trips():
    data = DocBin().to_bytes()
    assert list(DocBin().from_bytes(data).get_docs(Vocab())) == []


# --- corrupt input: always a ValueError naming the file ----------------------------------


def _corrupt(tmp_path, data: bytes, match: str):
    path = tmp_path / "bad.spacy"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=match) as err:
        list(DocBin().from_disk(path).get_docs(Vocab()))
    assert str(path) in str(err.value)


def test_truncated_file_is_reported(tmp_path, interop_bytes):
    _corrupt(tmp_path, interop_bytes[: len(interop_bytes) // 2], "not zlib-compressed")


def test_non_zlib_file_is_reported(tmp_path):
    _corrupt(tmp_path, b'{"text": "a JSON file"}', "not a DocBin")


def test_non_msgpack_payload_is_reported(tmp_path):
    _corrupt(tmp_path, zlib.compress(b"\xc1\xc1 not msgpack"), "not valid msgpack")


def test_wrong_shapes_are_reported(tmp_path, interop_bytes):
    msg = _message(interop_bytes)
    _corrupt(tmp_path, _pack([1, 2, 3]), "should be a map")
    _corrupt(tmp_path, _pack({k: v for k, v in msg.items() if k != "tokens"}), "no 'tokens'")
    _corrupt(tmp_path, _pack({**msg, "attrs": "ORTH"}), "'attrs' should be")
    _corrupt(tmp_path, _pack({**msg, "attrs": [75, 76]}), "including ORTH")
    _corrupt(tmp_path, _pack({**msg, "strings": [1, 2]}), "'strings' should be")
    _corrupt(tmp_path, _pack({**msg, "cats": msg["cats"][:-1]}), "'cats' should be")
    _corrupt(tmp_path, _pack({**msg, "span_groups": ["x"] * 200}), "'span_groups' should be")


def test_mismatched_lengths_are_reported(tmp_path, interop_bytes):
    msg = _message(interop_bytes)
    lengths = numpy.frombuffer(msg["lengths"], dtype="<i4").copy()
    lengths[0] += 1
    _corrupt(tmp_path, _pack({**msg, "lengths": lengths.tobytes()}), "do not fit|does not fit")
    _corrupt(tmp_path, _pack({**msg, "lengths": msg["lengths"][:-2]}), "multiple of 4")
    _corrupt(tmp_path, _pack({**msg, "spaces": msg["spaces"][:-1]}), "space flags")
    _corrupt(tmp_path, _pack({**msg, "tokens": msg["tokens"][:-8]}), "bytes of token data")


def test_hash_missing_from_strings_is_reported(tmp_path, interop_bytes):
    msg = _message(interop_bytes)
    strings = [s for s in msg["strings"] if s != "story"]
    _corrupt(tmp_path, _pack({**msg, "strings": strings}), r"ORTH .* not in its strings table")


def test_head_outside_doc_is_reported(tmp_path, interop_bytes):
    msg = _message(interop_bytes)
    tokens = numpy.frombuffer(msg["tokens"], dtype="<u8").reshape(-1, len(msg["attrs"])).copy()
    tokens[0, msg["attrs"].index(79)] = numpy.uint64(1000)
    _corrupt(tmp_path, _pack({**msg, "tokens": tokens.tobytes()}), "doc 0: token 0 has its head")


def test_bad_user_data_and_span_groups_are_reported(tmp_path, interop_bytes):
    msg = _message(interop_bytes)
    pickled = pickle.dumps({"x": 1})
    _corrupt(tmp_path, _pack({**msg, "user_data": [pickled] * 200}), "user_data")
    _corrupt(tmp_path, _pack({**msg, "span_groups": [b"\xc1"] * 200}), "span groups")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_damage_never_crashes(interop_bytes, data):
    raw = bytearray(zlib.decompress(interop_bytes))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(raw)))
    try:
        docs = list(DocBin().from_bytes(zlib.compress(bytes(raw[:cut]))).get_docs(Vocab()))
    except ValueError:
        return
    for doc in docs:
        assert doc.text == "".join(t.text_with_ws for t in doc)


def test_strings_table_is_available_after_add(vocab):
    doc = Doc(vocab, words=["a", "cat"], tags=["DT", "NN"])
    bin_ = DocBin(attrs=["TAG"], docs=[doc])
    assert bin_.strings == {"a", "cat", "DT", "NN"}
    bin_.add(Doc(vocab, words=["dog"], tags=["NN"]))
    assert "dog" in bin_.strings and len(bin_) == 2


def test_adding_a_doc_with_an_unknown_string_id_fails_clearly(vocab):
    doc = Doc(vocab, words=["a"])
    doc.set_column("tag", [123456789])
    bin_ = DocBin(attrs=["TAG"], docs=[doc])
    with pytest.raises(ValueError, match="123456789"):
        bin_.to_bytes()
