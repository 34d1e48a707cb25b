"""`.vector`, `.has_vector`, `.vector_norm`, `.similarity` of Lexeme, Token, Span and Doc,
Vocab.get_vector / set_vector / has_vector, and vectors saved with a pipeline."""
import warnings

import numpy
import pytest

import nlp_core
from nlp_core.tokens import Doc
from nlp_core.vectors import Vectors
from tests.shared_data import shared_path

WORDS = {"the": [1.0, 0.0, 0.0], "dog": [1.0, 2.0, 3.0], "cat": [1.0, 2.0, 4.0],
         "barks": [0.0, -1.0, 0.5]}


@pytest.fixture
def nlp():
    nlp = nlp_core.blank("en")
    for word, vector in WORDS.items():
        nlp.vocab.set_vector(word, vector)
    return nlp


def _cos(a, b):
    return float(numpy.dot(a, b) / (numpy.linalg.norm(a) * numpy.linalg.norm(b)))


def test_token_vectors_and_norms(nlp):
    doc = nlp("the dog barks loudly")
    for token in doc[:3]:
        numpy.testing.assert_array_equal(token.vector, WORDS[token.text])
        assert token.has_vector
        assert token.vector_norm == pytest.approx(numpy.linalg.norm(WORDS[token.text]))
    assert not doc[3].has_vector and doc[3].vector_norm == 0.0
    numpy.testing.assert_array_equal(doc[3].vector, numpy.zeros(3))
    assert doc[3].vector.dtype == numpy.float32


def test_span_and_doc_vectors_are_token_means(nlp):
    doc = nlp("the dog barks loudly")
    rows = numpy.asarray([WORDS["the"], WORDS["dog"], WORDS["barks"], [0, 0, 0]],
                         dtype=numpy.float32)
    numpy.testing.assert_allclose(doc.vector, rows.mean(axis=0), rtol=1e-6)
    numpy.testing.assert_allclose(doc[1:4].vector, rows[1:4].mean(axis=0), rtol=1e-6)
    assert doc.vector_norm == pytest.approx(numpy.linalg.norm(rows.mean(axis=0)))
    assert doc.has_vector and doc[1:3].has_vector and not doc[3:4].has_vector
    numpy.testing.assert_array_equal(doc[2:2].vector, numpy.zeros(3))


def test_similarity_is_cosine(nlp):
    doc = nlp("the dog and the cat barks")
    dog, cat = doc[1], doc[4]
    assert dog.similarity(cat) == pytest.approx(_cos(WORDS["dog"], WORDS["cat"]))
    assert dog.similarity(nlp.vocab["cat"]) == pytest.approx(dog.similarity(cat))
    assert nlp.vocab["dog"].similarity(cat) == pytest.approx(dog.similarity(cat))
    assert doc[0:2].similarity(doc[3:5]) == pytest.approx(
        _cos(numpy.mean([WORDS["the"], WORDS["dog"]], axis=0),
             numpy.mean([WORDS["the"], WORDS["cat"]], axis=0)), rel=1e-6)
    other = nlp("cat barks")
    assert doc.similarity(other) == pytest.approx(_cos(doc.vector, other.vector), rel=1e-6)
    # the same words are 1.0, whatever their vectors
    assert doc[0].similarity(doc[3]) == 1.0
    assert nlp("dog").similarity(dog) == 1.0 and doc[1:2].similarity(nlp.vocab["dog"]) == 1.0


def test_similarity_with_an_empty_vector_warns_and_is_zero(nlp):
    doc = nlp("dog loudly")
    with pytest.warns(UserWarning, match="all-zero vector"):
        assert doc[0].similarity(doc[1]) == 0.0
    with pytest.warns(UserWarning, match="all-zero vector"):
        assert nlp.vocab["dog"].similarity(nlp.vocab["loudly"]) == 0.0


def test_without_a_table_tokens_use_the_tensor(vocab):
    doc = Doc(vocab, words=["a", "b", "c"])
    assert len(vocab.vectors) == 0 and not doc.has_vector and not doc[0].has_vector
    assert doc.vector.shape == (0,)
    doc.tensor = numpy.arange(6, dtype=numpy.float32).reshape(3, 2)
    numpy.testing.assert_array_equal(doc[1].vector, [2, 3])
    numpy.testing.assert_array_equal(doc.vector, [2, 3])
    numpy.testing.assert_array_equal(doc[0:2].vector, [1, 2])
    assert doc.has_vector and doc[0].has_vector and doc[0:1].has_vector
    with pytest.warns(UserWarning, match="no vectors table"):
        assert doc[1].similarity(doc[2]) == pytest.approx(_cos([2, 3], [4, 5]))


def test_table_keyed_by_lower(vocab):
    vocab.vectors = Vectors(data=numpy.eye(3, dtype=numpy.float32), keys=["a", "b", "c"],
                            attr="LOWER")
    assert vocab.has_vector("A") and vocab.has_vector("a") and not vocab.has_vector("D")
    doc = Doc(vocab, words=["A", "b", "D"])
    numpy.testing.assert_array_equal(doc[0].vector, [1, 0, 0])
    numpy.testing.assert_allclose(doc.vector, [1 / 3, 1 / 3, 0])
    vocab.set_vector("D", numpy.asarray([4.0, 5.0, 6.0]))
    assert vocab.has_vector("d") and vocab.vectors.find(key="d") >= 0


def test_vocab_set_vector_grows_the_table(vocab):
    assert vocab.vectors.shape == (0, 0) and not vocab.has_vector("x")
    vocab.set_vector("x", numpy.ones(4))
    assert vocab.vectors.shape == (100, 4)
    for i in range(150):
        vocab.set_vector(f"w{i}", numpy.full(4, i))
    assert vocab.vectors.shape == (169, 4) and vocab.vectors.n_keys == 151
    numpy.testing.assert_array_equal(vocab.get_vector("w120"), numpy.full(4, 120))
    vocab["w7"].vector = numpy.zeros(4)
    numpy.testing.assert_array_equal(vocab.get_vector("w7"), numpy.zeros(4))
    numpy.testing.assert_array_equal(vocab.get_vector("never"), numpy.zeros(4))


def test_pipeline_round_trip_keeps_vectors(nlp, tmp_path):
    nlp.vocab.vectors.name = "en_test.vectors"
    nlp.to_disk(tmp_path / "pipe")
    assert {"vectors", "key2row", "vectors.cfg", "strings.json"} <= {
        p.name for p in (tmp_path / "pipe" / "vocab").iterdir()}
    assert nlp.meta["vectors"] == {"width": 3, "vectors": 100, "keys": 4,
                                   "name": "en_test.vectors", "mode": "default"}
    loaded = nlp_core.load(tmp_path / "pipe")
    assert loaded.vocab.vectors.key2row == nlp.vocab.vectors.key2row
    assert loaded.vocab.vectors.name == "en_test.vectors"
    numpy.testing.assert_array_equal(loaded("the dog").vector, nlp("the dog").vector)


def test_pipeline_round_trip_keeps_lower_attr(tmp_path):
    nlp = nlp_core.blank("en")
    nlp.vocab.vectors = Vectors(data=numpy.eye(2, dtype=numpy.float32), keys=["dog", "cat"],
                                attr="LOWER")
    nlp.to_disk(tmp_path)
    loaded = nlp_core.load(tmp_path)
    assert loaded.vocab.vectors.attr_ == "LOWER"
    numpy.testing.assert_array_equal(loaded("DOG")[0].vector, [1, 0])


def test_load_spacy_vectors_pipeline():
    """spaCy's `init vectors` output loads whole: config, meta, its tokenizer file and the
    vocab with the table."""
    path = shared_path("interop", "vectors-small-spacy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nlp = nlp_core.load(path)
    assert [t.text for t in nlp("Don't stop,")] == ["Do", "n't", "stop", ","]
    assert nlp.vocab.vectors.shape == (2000, 50) and nlp.vocab.vectors.n_keys == 2000
    doc = nlp("the dog")
    assert doc[0].has_vector
    numpy.testing.assert_array_equal(doc[0].vector, nlp.vocab.vectors["the"])
