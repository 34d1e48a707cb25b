"""Backprop of every layer agrees with finite differences, and the fused layers compute
exactly what the equivalent stacks of thinc layers compute."""
import numpy
import pytest
from thinc.api import (
    HashEmbed,
    Maxout,
    Mish,
    chain,
    clone,
    concatenate,
    expand_window,
    residual,
    with_array,
)

from nlp_core import attrs
from nlp_core.ml import (
    CharacterEmbed,
    MaxoutLN,
    MaxoutWindowEncoder,
    MishLN,
    MishWindowEncoder,
    MultiHashEmbed,
    StaticVectors,
    Tok2Vec,
)
from nlp_core.ml.featureextractor import extract_features


def _arrays(*shapes, seed=0):
    rng = numpy.random.default_rng(seed)
    return [rng.normal(size=s).astype("float32") for s in shapes]


def _perturb_params(model, seed=1):
    """Move parameters away from their initial values (e.g. LayerNorm's ones and zeros),
    so the checks see general values."""
    rng = numpy.random.default_rng(seed)
    for node in model.walk():
        for name in node.param_names:
            if node.has_param(name):
                param = node.get_param(name)
                param += rng.normal(scale=0.1, size=param.shape).astype("float32")


@pytest.mark.parametrize("layer", [lambda: MaxoutLN(nO=5, nP=3), lambda: MishLN(nO=5)])
def test_ffn_gradients(layer, gradcheck):
    model = layer()
    (X,) = _arrays((7, 4))
    model.initialize(X=X)
    assert model.get_dim("nI") == 4
    _perturb_params(model)
    assert gradcheck(model, X, inputs=True) > 20


def _thinc_ffn(ours, reference_factory, X):
    """Copy our params into thinc's (layer, LayerNorm) pair and return its prediction."""
    ref = reference_factory()
    ref.initialize(X=X)
    layer, norm = ref.layers[0], ref.layers[1]
    layer.set_param("W", ours.get_param("W"))
    layer.set_param("b", ours.get_param("b"))
    norm.set_param("G", ours.get_param("ln_G"))
    norm.set_param("b", ours.get_param("ln_b"))
    return ref


@pytest.mark.parametrize("ours,reference", [
    (lambda: MaxoutLN(nO=6, nI=9, nP=3), lambda: Maxout(6, 9, nP=3, normalize=True)),
    (lambda: MishLN(nO=6, nI=9), lambda: Mish(6, 9, normalize=True)),
])
def test_ffn_matches_thinc(ours, reference):
    (X,) = _arrays((11, 9))
    model = ours()
    model.initialize(X=X)
    _perturb_params(model)
    ref = _thinc_ffn(model, reference, X)
    Y, backprop = model.begin_update(X)
    Y_ref, backprop_ref = ref.begin_update(X)
    numpy.testing.assert_allclose(Y, Y_ref, atol=1e-5)
    (dY,) = _arrays((11, 6), seed=3)
    numpy.testing.assert_allclose(backprop(dY), backprop_ref(dY), atol=1e-4)
    numpy.testing.assert_allclose(model.get_grad("W"), ref.layers[0].get_grad("W"), atol=1e-4)


@pytest.mark.parametrize("factory", [
    lambda: MaxoutWindowEncoder(width=4, window_size=1, maxout_pieces=2, depth=2),
    lambda: MaxoutWindowEncoder(width=4, window_size=2, maxout_pieces=3, depth=1),
    lambda: MishWindowEncoder(width=4, window_size=1, depth=2),
])
def test_encoder_gradients(factory, gradcheck):
    model = factory()
    Xs = _arrays((5, 4), (1, 4), (3, 4))
    model.initialize(X=Xs)
    _perturb_params(model)
    assert gradcheck(model, Xs, inputs=True, n_checks=4) > 20


def test_maxout_encoder_matches_thinc_stack():
    """Each block equals thinc's residual(expand_window >> Maxout(normalize=True)) run on
    docs padded with zeros (windows never see another doc)."""
    width, depth = 5, 3
    ours = MaxoutWindowEncoder(width=width, window_size=1, maxout_pieces=3, depth=depth)
    block = residual(chain(expand_window(1), Maxout(width, width * 3, nP=3, normalize=True)))
    ref = clone(with_array(block, pad=1), depth)
    Xs = _arrays((4, width), (6, width), (1, width))
    ours.initialize(X=Xs)
    ref.initialize(X=Xs)
    _perturb_params(ours)
    ours_ffn = [n for n in ours.walk() if n.name == "maxout_ln"]
    for ffn, layer in zip(ours_ffn, ref.layers):
        maxout = [n for n in layer.walk() if n.name == "maxout"][0]
        norm = [n for n in layer.walk() if n.name == "layernorm"][0]
        maxout.set_param("W", ffn.get_param("W"))
        maxout.set_param("b", ffn.get_param("b"))
        norm.set_param("G", ffn.get_param("ln_G"))
        norm.set_param("b", ffn.get_param("ln_b"))
    Ys, backprop = ours.begin_update(Xs)
    Ys_ref, backprop_ref = ref.begin_update(Xs)
    for y, y_ref in zip(Ys, Ys_ref):
        numpy.testing.assert_allclose(y, y_ref, atol=1e-4)
    dYs = _arrays(*[y.shape for y in Ys], seed=5)
    for dx, dx_ref in zip(backprop(dYs), backprop_ref(dYs)):
        numpy.testing.assert_allclose(dx, dx_ref, atol=1e-3)


def test_multi_hash_embed_gradients(docs, gradcheck):
    model = MultiHashEmbed(width=6, attrs=["NORM", "PREFIX", "SHAPE"], rows=[50, 20, 20])
    model.initialize(X=docs)
    _perturb_params(model)
    assert gradcheck(model, docs) > 20


def test_multi_hash_embed_matches_thinc_hash_embed(docs):
    """Same hashing as thinc's HashEmbed (seed 8 + column), concatenated, then Maxout."""
    width, rows, names = 6, [50, 20, 30], ["NORM", "PREFIX", "SHAPE"]
    model = MultiHashEmbed(width=width, attrs=names, rows=rows)
    model.initialize(X=docs)
    E = model.get_param("E")
    ids = extract_features(docs, attrs.intify_attrs(names)).per_token()
    tables = []
    start = 0
    for i, n in enumerate(rows):
        table = HashEmbed(width, n, seed=8 + i, column=i)
        table.initialize(X=ids)
        table.layers[1].set_param("E", E[start: start + n])
        tables.append(table)
        start += n
    embedded = concatenate(*tables).predict(ids)
    expected = model.get_ref("mix").predict(embedded)
    numpy.testing.assert_allclose(numpy.concatenate(model.predict(docs)), expected, atol=1e-5)


def test_character_embed_gradients(docs, gradcheck):
    model = CharacterEmbed(width=5, rows=40, nM=3, nC=4)
    model.initialize(X=docs)
    _perturb_params(model)
    assert gradcheck(model, docs) > 20


def test_static_vectors_gradients(docs, fake_vectors, gradcheck):
    docs[0].vocab.vectors = fake_vectors(docs[0].vocab, ["The", "dog", "world", "x"])
    model = StaticVectors(nO=4)
    model.initialize(X=docs)
    assert model.get_dim("nM") == 6
    assert gradcheck(model, docs) >= 6
    embed = MultiHashEmbed(width=5, attrs=["NORM"], rows=[30], include_static_vectors=True)
    embed.initialize(X=docs)
    _perturb_params(embed)
    assert gradcheck(embed, docs) > 20


def test_tok2vec_gradients(docs, gradcheck):
    model = Tok2Vec(MultiHashEmbed(width=6, attrs=["NORM", "SUFFIX"], rows=[40, 20]),
                    MaxoutWindowEncoder(width=6, window_size=1, maxout_pieces=3, depth=2))
    model.initialize(X=docs)
    _perturb_params(model)
    assert gradcheck(model, docs, n_checks=3) > 20
