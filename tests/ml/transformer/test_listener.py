"""TransformerListener.v1: pooling per token, grad_factor (constant, schedule, 0), and
the inference / initialisation fallbacks."""
import copy
import pickle

import numpy
import pytest
from thinc.api import (
    Linear,
    Model,
    chain,
    constant_then,
    reduce_first,
    reduce_last,
    reduce_max,
    reduce_mean,
)
from thinc.types import Ragged

from nlp_core.ml.listener import batch_id
from nlp_core.ml.transformer import TransformerData, TransformerListener, pool_tokens
from nlp_core.ml.transformer.pooling import PooledBatches, pooling_key
from nlp_core.registry import registry
from nlp_core.tokens import Doc


def data_for(doc, n_wp, links, lengths, width=4, seed=0):
    """TransformerData with random wordpiece vectors and the given token alignment."""
    rng = numpy.random.default_rng(seed)
    data = TransformerData.zeros(len(doc), width)
    data.wordpiece_output = rng.normal(size=(n_wp, width)).astype("f")
    data.align = Ragged(numpy.array(links, dtype="i"), numpy.array(lengths, dtype="i"))
    return data


@pytest.fixture
def docs(nlp):
    return [nlp("ca n't  go"), nlp("the cat")]  # tokens: ca, n't, " ", go / the, cat


@pytest.fixture
def datas(docs):
    # doc 0: "can" spans "ca" and "n"; the whitespace token has no wordpiece.
    return [data_for(docs[0], 4, [0, 0, 1, 2, 3], [1, 3, 0, 1]),
            data_for(docs[1], 2, [0, 1], [1, 1], seed=1)]


@pytest.mark.parametrize("pooling,reduce", [
    (reduce_mean, lambda x: x.mean(0)), (reduce_max, lambda x: x.max(0)),
    (reduce_first, lambda x: x[0]), (reduce_last, lambda x: x[-1])])
def test_pooling_per_token_with_empty_tokens(datas, pooling, reduce):
    vectors, backprop = pool_tokens(pooling(), datas, is_train=True)
    assert [v.shape for v in vectors] == [(4, 4), (2, 4)]
    wp = datas[0].wordpiece_output
    numpy.testing.assert_allclose(vectors[0][0], reduce(wp[[0]]), rtol=1e-6)
    numpy.testing.assert_allclose(vectors[0][1], reduce(wp[[0, 1, 2]]), rtol=1e-6)
    assert not vectors[0][2].any()  # no wordpiece: zeros
    d_wp = backprop([numpy.ones_like(v) for v in vectors])
    assert [d.shape for d in d_wp] == [(4, 4), (2, 4)]


def test_mean_pooling_gradient_is_shared_by_the_wordpieces(datas):
    vectors, backprop = pool_tokens(reduce_mean(), datas, is_train=True)
    d_wp = backprop([numpy.ones_like(v) for v in vectors])
    # wordpiece 0 is in "ca" (alone) and "n't" (one of three); wordpieces 1, 2 in "n't".
    numpy.testing.assert_allclose(d_wp[0][:, 0], [1 + 1 / 3, 1 / 3, 1 / 3, 1.0], rtol=1e-6)


def make_listener(grad_factor=1.0, width=4):
    listener = registry.resolve({"l": {
        "@architectures": "spacy-transformers.TransformerListener.v1",
        "grad_factor": grad_factor, "pooling": {"@layers": "reduce_mean.v1"}}})["l"]
    listener.set_dim("nO", width)
    return listener


def test_registered_names():
    for name in ("TransformerListener.v1", "TransformerModel.v3"):
        assert registry.architectures.get(f"nlp_core.{name}") is \
            registry.architectures.get(f"spacy-transformers.{name}")
    assert isinstance(make_listener(), TransformerListener)


@pytest.mark.parametrize("factor", [1.0, 2.0, 0.0])
def test_grad_factor_scales_or_stops_the_gradient(docs, datas, factor):
    listener = make_listener(factor)
    received = []
    listener.receive(batch_id(docs), datas, received.append)
    vectors, backprop = listener.begin_update(docs)
    backprop([numpy.ones_like(v) for v in vectors])
    if factor == 0.0:
        assert received == []
        return
    _, reference = pool_tokens(reduce_mean(), datas, is_train=True)
    expected = reference([numpy.ones_like(v) for v in vectors])
    for got, want in zip(received[0], expected):
        numpy.testing.assert_allclose(got, want * factor, rtol=1e-6)


def test_grad_factor_schedule_freezes_the_first_updates(docs, datas):
    listener = make_listener(constant_then(0.0, 2, registry.schedules.get("constant.v1")(1.0)))
    received = []
    for _ in range(3):
        listener.receive(batch_id(docs), datas, received.append)
        vectors, backprop = listener.begin_update(docs)
        backprop([numpy.ones_like(v) for v in vectors])
    assert len(received) == 1 and listener.n_updates == 3


def test_inference_uses_trf_data_and_never_zeros_silently(docs, datas):
    listener = make_listener()
    with pytest.raises(ValueError, match="E335"):
        listener.predict(docs)
    for doc, data in zip(docs, datas):
        doc._.trf_data = data
    vectors = listener.predict(docs)
    numpy.testing.assert_allclose(vectors[1][0], datas[1].wordpiece_output[0])


def test_initialize_hands_zeros_of_its_width_to_the_next_layers(docs):
    from thinc.api import Linear, chain, list2array

    listener = make_listener(width=4)
    model: Model = chain(listener, list2array(), Linear(3))
    model.initialize(X=docs)
    assert model.layers[-1].get_dim("nI") == 4
    unsized = registry.resolve({"l": {
        "@architectures": "spacy-transformers.TransformerListener.v1",
        "pooling": {"@layers": "reduce_mean.v1"}}})["l"]
    with pytest.raises(ValueError, match="E336"):
        unsized.initialize(X=docs)


def test_bad_grad_factor_type():
    with pytest.raises(TypeError, match="E338"):
        TransformerListener("*", reduce_mean(), grad_factor="fast")


def test_training_hand_off_not_used_at_inference(docs, datas):
    listener = make_listener()
    listener.receive(batch_id(docs), datas, lambda d: None)
    with pytest.raises(ValueError, match="E335"):
        listener.predict(docs)
    assert isinstance(docs[0], Doc)


def test_pooled_batches_match_the_same_data_objects_only():
    """One pooling per batch and kind: a batch is the same TransformerData objects in
    order; a layer with parameters is never shared."""
    assert pooling_key(reduce_mean()) == pooling_key(reduce_mean())
    assert pooling_key(reduce_mean()) != pooling_key(reduce_max())
    assert pooling_key(Linear(2, 2)) is None  # parameters: its own
    assert pooling_key(chain(reduce_mean(), Linear(3, 3))) is None
    # only thinc's reduce layers as made: settings in dims or a subclass stay unseen
    mean_forward = reduce_mean()._func
    assert pooling_key(Model("reduce_mean", mean_forward, dims={"k": 3})) is None

    class Scaled(Model):
        pass

    assert pooling_key(Scaled("reduce_mean", mean_forward)) is None
    assert pooling_key(Model("custom", lambda model, X, is_train: (X, None))) is None
    assert pooling_key(Model("reduce_mean", mean_forward)) == pooling_key(reduce_mean())
    rng = numpy.random.default_rng(0)

    def datas():
        out = []
        for text in ("the cat", "a dog ran"):
            data = TransformerData.zeros(len(text.split()), 3)
            data.wordpiece_output = rng.normal(size=(len(text.split()), 3)).astype("f")
            data.align = Ragged(numpy.arange(len(text.split()), dtype="i"),
                                numpy.ones(len(text.split()), dtype="i"))
            out.append(data)
        return out

    cache = PooledBatches()
    first = datas()
    a = cache.pool(reduce_mean(), first)
    assert cache.pool(reduce_mean(), first)[0] is a[0]  # the same batch: reused
    assert cache.pool(reduce_mean(), first[:1])[0] is not a[0]  # another batch
    second = datas()  # the same shapes, other objects: pooled again, its own values
    b = cache.pool(reduce_mean(), second)
    numpy.testing.assert_allclose(b[1], second[1].wordpiece_output)
    projected = chain(reduce_mean(), Linear(3, 3)).initialize()
    assert cache.pool(projected, second)[0] is not cache.pool(projected, second)[0]
    # the entry goes with its batch's data (a huge doc's vectors do not outlive it)
    assert len(cache._entries) == 1
    del second, b  # refcounting alone: no collection needed
    assert cache._entries == {}
    second = datas()
    cache.pool(reduce_mean(), second)
    # a copy or a pickle of a pipeline starts with an empty cache
    for copied in (copy.deepcopy(cache), pickle.loads(pickle.dumps(cache))):
        assert copied._entries == {} and len(copied.pool(reduce_mean(), second)) == 2


def test_pooling_output_is_float32_of_the_width_or_an_error(datas):
    """Whether or not a batch has tokens without wordpieces, the vectors are float32 of
    the transformer's width; a pooling layer returning another width raises E728."""
    def as_float64(model, X, is_train):
        Y, backprop = reduce_mean()(X, is_train)
        return Y.astype("float64"), backprop

    def halved(model, X, is_train):
        Y, backprop = reduce_mean()(X, is_train)
        return Y[:, :2], backprop

    every_token = datas[1:]  # "the cat": each token has a wordpiece
    for batch in (datas, every_token):
        vectors, _ = pool_tokens(Model("f64", as_float64), batch, is_train=False)
        assert all(v.dtype == numpy.float32 and v.shape[1] == 4 for v in vectors)
    with pytest.raises(ValueError, match="E728"):
        pool_tokens(Model("halved", halved), every_token, is_train=False)
