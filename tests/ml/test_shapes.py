"""Shape inference, initialisation and batch behaviour of every layer."""
import numpy
import pytest
from thinc.api import set_dropout_rate

from nlp_core.ml import (
    CharacterEmbed,
    MaxoutLN,
    MaxoutWindowEncoder,
    MishLN,
    MishWindowEncoder,
    MultiHashEmbed,
    StaticVectors,
    Tok2Vec,
    Tok2VecListener,
)
from nlp_core.ml.windows import token_rows
from nlp_core.tokens.doc import Doc


def tok2vec(width=8, embed=None, encode=None):
    return Tok2Vec(embed or MultiHashEmbed(width=width, rows=[50, 20, 20, 20]),
                   encode or MaxoutWindowEncoder(width=width, depth=2))


EMBEDDERS = {
    "multi_hash": lambda: MultiHashEmbed(width=8, attrs=["NORM", "SHAPE"], rows=[30, 10]),
    "character": lambda: CharacterEmbed(width=8, rows=30, nM=4, nC=3),
    "tok2vec": lambda: tok2vec(),
    "tok2vec_mish": lambda: tok2vec(encode=MishWindowEncoder(width=8, depth=3)),
    "tok2vec_chars": lambda: tok2vec(embed=CharacterEmbed(width=8, rows=30, nM=4, nC=3)),
}


@pytest.mark.parametrize("name", list(EMBEDDERS))
def test_doc_layers_shapes(name, docs, vocab):
    model = EMBEDDERS[name]()
    model.initialize()  # dimensions are known from the arguments
    assert model.get_dim("nO") == 8
    batch = docs + [Doc(vocab, words=[])]
    Ys = model.predict(batch)
    assert [y.shape for y in Ys] == [(len(d), 8) for d in batch]
    assert all(y.dtype == numpy.float32 for y in Ys)
    assert model.predict([]) == []
    assert [y.shape for y in model.predict([Doc(vocab, words=[])])] == [(0, 8)]
    Ys_train, backprop = model.begin_update(batch)
    assert backprop([numpy.ones_like(y) for y in Ys_train]) == []


@pytest.mark.parametrize("name", list(EMBEDDERS))
def test_docs_do_not_affect_each_other(name, docs):
    """Output for a doc is the same alone or in a batch: windows stay inside a doc and
    per-word computation is exact."""
    model = EMBEDDERS[name]()
    model.initialize(X=docs)
    together = model.predict(docs)
    for doc, y in zip(docs, together):
        numpy.testing.assert_allclose(model.predict([doc])[0], y, atol=1e-5)
    # Repeated words get identical context-free embeddings.
    if name in ("multi_hash", "character"):
        Y = model.predict([Doc(docs[0].vocab, words=["a", "b", "a"])])[0]
        numpy.testing.assert_array_equal(Y[0], Y[2])


@pytest.mark.parametrize("encode", [MaxoutWindowEncoder, MishWindowEncoder])
def test_window_blocks_predict_in_steps(encode, monkeypatch):
    """On CPU a block with more than windows.STEP_ABOVE_BYTES of windows predicts
    windows.PREDICT_BYTES of them at a time: the output is the whole batch's, and such a
    prediction has no gradient to run."""
    from nlp_core.ml import windows

    model = encode(width=8, window_size=2, depth=3)
    Xs = [numpy.random.default_rng(i).normal(size=(n, 8)).astype("float32")
          for i, n in enumerate((7, 1, 30, 12))]
    model.initialize(X=Xs)
    whole, _ = model.begin_update(Xs)
    # windows of 4 * 5 * 8 bytes a token: the 50 tokens are above a bound of 40 tokens'
    monkeypatch.setattr(windows, "STEP_ABOVE_BYTES", 4 * 5 * 8 * 40)
    monkeypatch.setattr(windows, "PREDICT_BYTES", 4 * 5 * 8 * 3)  # three tokens a step
    stepped = model.predict(Xs)
    assert [y.shape for y in stepped] == [x.shape for x in Xs]
    for y, y_whole in zip(stepped, whole):
        numpy.testing.assert_allclose(y, y_whole, rtol=1e-5, atol=1e-6)
    _, backprop = model(Xs, is_train=False)
    with pytest.raises(ValueError, match="begin_update"):
        backprop([numpy.ones_like(x) for x in Xs])


def test_dropout_reaches_the_layers(docs):
    model = tok2vec()
    model.initialize(X=docs)
    rates = [n for n in model.walk() if "dropout_rate" in n.attrs]
    assert len(rates) == 1 + 2  # the embedding and each encoder block
    expected = model.predict(docs)
    numpy.testing.assert_array_equal(model.begin_update(docs)[0][0], expected[0])
    set_dropout_rate(model, 0.5)
    assert all(n.attrs["dropout_rate"] == 0.5 for n in rates)
    dropped = model.begin_update(docs)[0]
    assert not numpy.allclose(dropped[0], expected[0])
    numpy.testing.assert_array_equal(model.predict(docs)[0], expected[0])


def test_encoder_dims_and_receptive_field():
    for model, field in ((MaxoutWindowEncoder(width=16, window_size=2, depth=3), 6),
                         (MishWindowEncoder(width=16, window_size=1, depth=4), 4)):
        assert model.attrs["receptive_field"] == field
        assert model.get_dim("nO") == model.get_dim("nI") == 16
        model.initialize(X=[numpy.zeros((3, 16), dtype="float32")])
        assert model.predict([numpy.zeros((0, 16), dtype="float32")])[0].shape == (0, 16)
    with pytest.raises(ValueError, match="E308"):
        MaxoutWindowEncoder(width=8, depth=0)


def test_ffn_infers_input_width():
    for model in (MaxoutLN(nO=5), MishLN(nO=5)):
        model.initialize(X=numpy.zeros((2, 7), dtype="float32"))
        assert model.get_dim("nI") == 7
        assert model.predict(numpy.ones((3, 7), dtype="float32")).shape == (3, 5)


def test_token_rows_layout():
    rows = token_rows(numpy.asarray([2, 0, 3]), pad=1)
    assert list(rows) == [1, 2, 5, 6, 7]


def test_mismatched_widths_and_rows():
    with pytest.raises(ValueError, match="E310"):
        Tok2Vec(MultiHashEmbed(width=8), MaxoutWindowEncoder(width=16))
    with pytest.raises(ValueError, match="E301"):
        MultiHashEmbed(width=8, attrs=["NORM", "SHAPE"], rows=[10])


def test_static_vectors_needs_width():
    with pytest.raises(ValueError, match="E303.*nM"):
        StaticVectors(nO=4).initialize()


def test_listener_dims():
    listener = Tok2VecListener("tok2vec", 32)
    assert listener.get_dim("nO") == 32 and listener.upstream_name == "tok2vec"


@pytest.mark.parametrize("name", list(EMBEDDERS))
def test_to_bytes_round_trip(name, docs):
    model = EMBEDDERS[name]()
    model.initialize(X=docs)
    data = model.to_bytes()
    loaded = EMBEDDERS[name]().from_bytes(data)
    for y, y_loaded in zip(model.predict(docs), loaded.predict(docs)):
        numpy.testing.assert_array_equal(y, y_loaded)


def test_static_vectors_round_trip(docs, fake_vectors):
    docs[0].vocab.vectors = fake_vectors(docs[0].vocab, ["The", "dog"], width=5)

    def make():
        return MultiHashEmbed(width=8, attrs=["NORM"], rows=[20], include_static_vectors=True)

    model = make()
    model.initialize(X=docs)
    loaded = make().from_bytes(model.to_bytes())
    numpy.testing.assert_array_equal(model.predict(docs)[0], loaded.predict(docs)[0])
