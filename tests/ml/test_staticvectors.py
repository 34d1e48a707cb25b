"""StaticVectors reads doc.vocab.vectors and fails clearly without it."""
import numpy
import pytest
from thinc.api import Ragged

from nlp_core.ml import CharacterEmbed, MultiHashEmbed, StaticVectors


def test_no_vectors_raises_at_initialize_and_forward(docs):
    assert len(docs[0].vocab.vectors) == 0  # the default table is empty
    for model in (StaticVectors(nO=4),
                  MultiHashEmbed(width=4, attrs=["NORM"], rows=[10],
                                 include_static_vectors=True),
                  CharacterEmbed(width=4, rows=10, nM=2, nC=2, include_static_vectors=True)):
        with pytest.raises(ValueError, match=r"no vectors.*\[initialize\] vectors"):
            model.initialize(X=docs)
    model = StaticVectors(nO=4, nM=3)
    model.initialize()
    with pytest.raises(ValueError, match="E300.*no vectors"):
        model.predict(docs)


def test_static_vectors_output(docs, fake_vectors):
    vocab = docs[0].vocab
    vocab.vectors = fake_vectors(vocab, ["The", "dog", "x"], width=6)
    model = StaticVectors(nO=4)
    model.initialize(X=docs)
    Y = model.predict(docs)
    assert isinstance(Y, Ragged)
    assert list(Y.lengths) == [len(d) for d in docs]
    W = model.get_param("W")
    expected_the = vocab.vectors.data[0] @ W.T
    numpy.testing.assert_allclose(Y.data[0], expected_the, rtol=1e-5)
    # "quick" has no vector: zeros.
    numpy.testing.assert_array_equal(Y.data[1], numpy.zeros(4))


def test_multi_hash_embed_with_vectors_table(docs, fake_vectors):
    vocab = docs[0].vocab
    vocab.vectors = fake_vectors(vocab, ["The", "dog"], width=5)
    model = MultiHashEmbed(width=8, attrs=["LOWER", "PREFIX", "SUFFIX", "SHAPE"],
                           rows=[50, 25, 25, 25], include_static_vectors=True)
    model.initialize(X=docs)
    assert model.get_ref("mix").get_dim("nI") == 8 * 5
    assert model.get_ref("static_vectors").get_dim("nM") == 5
    assert [y.shape for y in model.predict(docs)] == [(len(d), 8) for d in docs]


def test_static_vectors_as_the_whole_embedding(docs, fake_vectors, gradcheck):
    """The seed's custom-embedding example: `StaticVectors(nO=width)` as Tok2Vec's embed."""
    from nlp_core.ml import MaxoutWindowEncoder, Tok2Vec

    docs[0].vocab.vectors = fake_vectors(docs[0].vocab, ["The", "dog", "Hello"], width=5)
    model = Tok2Vec(StaticVectors(nO=6), MaxoutWindowEncoder(width=6, depth=1))
    model.initialize(X=docs)
    assert [y.shape for y in model.predict(docs)] == [(len(d), 6) for d in docs]
    assert gradcheck(model, docs) > 10
