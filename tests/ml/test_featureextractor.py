"""Batched feature extraction agrees with Doc.to_array and sees lexeme changes."""
import numpy

from nlp_core import attrs
from nlp_core.ml import FeatureExtractor, extract_features
from nlp_core.ml.lexeme_cache import utf8_codes
from nlp_core.tokens.doc import Doc

NAMES = ["NORM", "PREFIX", "SUFFIX", "SHAPE", "LOWER", "ORTH", "IS_ALPHA", "LENGTH"]


def test_extract_features_equals_to_array(docs):
    batch = extract_features(docs, attrs.intify_attrs(NAMES))
    expected = numpy.concatenate([doc.to_array(NAMES) for doc in docs])
    assert batch.per_token().dtype == numpy.uint64
    numpy.testing.assert_array_equal(batch.per_token(), expected)
    assert list(batch.lengths) == [len(d) for d in docs]
    # One row per distinct word: "The" and "." repeat across the docs.
    assert len(batch.values) < batch.n_tokens


def test_feature_extractor_layer(docs):
    model = FeatureExtractor(["NORM", "SHAPE"])
    features = model.predict(docs)
    assert len(features) == len(docs)
    for doc, array in zip(docs, features):
        assert array.shape == (len(doc), 2) and array.dtype == numpy.uint64
        numpy.testing.assert_array_equal(array, doc.to_array(["NORM", "SHAPE"]))


def test_token_level_attributes_and_norm_override(vocab):
    doc = Doc(vocab, words=["gonna", "run", "gonna"], tags=["VB", "VB", "MD"])
    doc[0].norm_ = "going to"
    names = ["NORM", "TAG", "LOWER"]
    batch = extract_features([doc, Doc(vocab, words=["gonna"])], attrs.intify_attrs(names))
    per_token = batch.per_token()
    numpy.testing.assert_array_equal(per_token[:3], doc.to_array(names))
    assert per_token[0, 0] == vocab.strings["going to"]
    assert per_token[2, 0] == per_token[3, 0] == vocab.strings["gonna"]


def test_lexeme_change_is_seen(vocab):
    doc = Doc(vocab, words=["colour", "x"])
    norm = [attrs.NORM]
    assert extract_features([doc], norm).per_token()[0, 0] == vocab.strings["colour"]
    vocab["colour"].norm_ = "color"
    assert extract_features([doc], norm).per_token()[0, 0] == vocab.strings["color"]


def test_spans_and_empty_docs(docs, vocab):
    span = docs[0][2:5]
    empty = Doc(vocab, words=[])
    batch = extract_features([span, empty, docs[1]], [attrs.SHAPE])
    assert list(batch.lengths) == [3, 0, len(docs[1])]
    numpy.testing.assert_array_equal(batch.per_token()[:3, 0], docs[0].to_array("SHAPE")[2:5])
    assert extract_features([], [attrs.NORM]).per_token().shape == (0, 1)
    assert extract_features([empty], [attrs.NORM]).per_token().shape == (0, 1)


def test_utf8_codes_take_bytes_from_both_ends(vocab):
    orths = numpy.asarray(sorted([vocab.strings.add("jumping"), vocab.strings.add("é")]),
                          dtype=numpy.uint64)
    codes = utf8_codes(vocab, orths, 4)
    by_word = {vocab.strings[int(o)]: bytes(row) for o, row in zip(orths, codes)}
    assert by_word["jumping"] == b"jgun"
    assert by_word["é"] == "é".encode() + b"\xff\xff"


def test_cache_grows_across_batches(vocab):
    names = ["NORM", "SHAPE", "SUFFIX"]
    ids = attrs.intify_attrs(names)
    seen = []
    for words in (["b", "d", "f"], ["a", "d", "g", "c"], ["Zebra", "b", "éclair", "h", "a"]):
        doc = Doc(vocab, words=words)
        seen.append(doc)
        batch = extract_features(seen, ids)
        expected = numpy.concatenate([d.to_array(names) for d in seen])
        numpy.testing.assert_array_equal(batch.per_token(), expected)
