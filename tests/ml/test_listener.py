"""The listener hand-off: one upstream forward per batch, listeners' gradients summed into
one upstream backprop, and clear errors when no output is available."""
import numpy
import pytest
from thinc.api import Model

from nlp_core.ml import (
    MaxoutWindowEncoder,
    MultiHashEmbed,
    Tok2Vec,
    Tok2VecListener,
    batch_id,
    broadcast,
    find_listeners,
)
from nlp_core.tokens.doc import Doc

WIDTH = 4


def counting_upstream():
    """An upstream model recording its forward calls and the gradients it receives."""
    calls = {"forward": 0, "gradients": []}

    def forward(model, docs, is_train):
        calls["forward"] += 1
        outputs = [numpy.full((len(d), WIDTH), i, dtype="float32") for i, d in enumerate(docs)]

        def backprop(d_outputs):
            calls["gradients"].append([d.copy() for d in d_outputs])
            return []

        return outputs, backprop

    return Model("counting", forward), calls


def test_one_forward_and_summed_gradients(docs):
    upstream, calls = counting_upstream()
    first, second = Tok2VecListener("tok2vec", WIDTH), Tok2VecListener("*", WIDTH)
    outputs, backprop = upstream.begin_update(docs)
    shared = broadcast([first, second], docs, outputs, backprop)
    Y1, backprop1 = first.begin_update(docs)
    Y2, backprop2 = second.begin_update(docs)
    assert Y1 is outputs and Y2 is outputs
    d1 = [numpy.ones_like(y) for y in Y1]
    d2 = [numpy.full_like(y, 2.0) for y in Y2]
    backprop1(d1)
    assert calls["gradients"] == []  # waits for the second listener
    backprop2(d2)
    assert calls["forward"] == 1 and len(calls["gradients"]) == 1
    for d in calls["gradients"][0]:
        numpy.testing.assert_array_equal(d, numpy.full(d.shape, 3.0))
    assert shared.n_backprops == 1
    assert shared.flush() == [] and shared.n_backprops == 1  # nothing pending
    assert shared.loss == pytest.approx(sum(len(d) for d in docs) * WIDTH * (1 + 4))


def test_flush_sends_partial_gradient(docs):
    upstream, calls = counting_upstream()
    listeners = [Tok2VecListener("*", WIDTH) for _ in range(3)]
    outputs, backprop = upstream.begin_update(docs)
    shared = broadcast(listeners, docs, outputs, backprop, grad_factor=0.5)
    _, backprop1 = listeners[0].begin_update(docs)
    backprop1([numpy.ones_like(y) for y in outputs])
    assert calls["gradients"] == []
    shared.flush()  # e.g. the other components are frozen
    assert len(calls["gradients"]) == 1
    assert all((d == 0.5).all() for d in calls["gradients"][0])


def test_real_tok2vec_gradient_is_sum_of_listeners(docs):
    def make():
        model = Tok2Vec(MultiHashEmbed(width=WIDTH, attrs=["NORM"], rows=[20]),
                        MaxoutWindowEncoder(width=WIDTH, depth=1))
        model.initialize(X=docs)
        return model

    shared_model = make()
    direct = make()
    for node, other in zip(shared_model.walk(), direct.walk()):
        for name in node.param_names:
            other.set_param(name, node.get_param(name).copy())
    listeners = [Tok2VecListener("*", WIDTH) for _ in range(2)]
    broadcast(listeners, docs, *shared_model.begin_update(docs))
    rng = numpy.random.default_rng(0)
    grads = [[rng.normal(size=(len(d), WIDTH)).astype("float32") for d in docs]
             for _ in listeners]
    for listener, grad in zip(listeners, grads):
        listener.begin_update(docs)[1](grad)
    _, backprop = direct.begin_update(docs)
    backprop([a + b for a, b in zip(*grads)])
    for node, other in zip(shared_model.walk(), direct.walk()):
        for name in node.param_names:
            numpy.testing.assert_allclose(node.get_grad(name), other.get_grad(name),
                                          rtol=1e-5, atol=1e-6)


def test_batch_id_and_verify_inputs(docs, vocab):
    listener = Tok2VecListener("tok2vec", WIDTH)
    with pytest.raises(ValueError, match="E304.*no output"):
        listener.verify_inputs(docs)
    outputs = [numpy.zeros((len(d), WIDTH), dtype="float32") for d in docs]
    listener.receive(batch_id(docs), outputs, None)
    assert listener.verify_inputs(docs)
    assert batch_id(docs) == batch_id([Doc(vocab, words=[t.text for t in d]) for d in docs])
    assert batch_id(docs) != batch_id(docs[::-1])
    with pytest.raises(ValueError, match="E305"):
        listener.begin_update(docs[1:])
    with pytest.raises(ValueError, match="E306.*width = "):
        listener.receive(batch_id(docs), [numpy.zeros((3, WIDTH + 1), dtype="f")], None)


def test_inference_uses_received_output_then_doc_tensor(docs):
    listener = Tok2VecListener("tok2vec", WIDTH)
    with pytest.raises(ValueError, match="E304.*before this component"):
        listener.predict(docs)
    outputs = [numpy.ones((len(d), WIDTH), dtype="float32") for d in docs]
    listener.receive(batch_id(docs), outputs, None)
    assert listener.predict(docs) is outputs
    # Another batch at inference (a component batching differently): doc.tensor is used.
    other = docs[:2]
    for doc in other:
        doc.tensor = numpy.full((len(doc), WIDTH), 7.0, dtype="float32")
    assert all((y == 7.0).all() for y in listener.predict(other))
    listener.clear()
    assert all((y == 7.0).all() for y in listener.predict(other))
    # A tensor of the wrong width does not count.
    other[0].tensor = numpy.zeros((len(other[0]), WIDTH + 2), dtype="float32")
    with pytest.raises(ValueError, match="E304"):
        listener.predict(other)


def test_empty_batch_and_empty_docs(vocab):
    listener = Tok2VecListener("*", WIDTH)
    empty = [Doc(vocab, words=[])]
    assert [y.shape for y in listener.predict(empty)] == [(0, WIDTH)]
    listener.receive(batch_id([]), [], None)
    assert listener.predict([]) == []


def test_inference_ignores_training_outputs(docs):
    """Outputs handed over for an update (dropout, old weights) are not reused at
    inference, even for the same docs: the docs' tensors are."""
    upstream, calls = counting_upstream()
    listener = Tok2VecListener("*", WIDTH)
    broadcast([listener], docs, *upstream.begin_update(docs))
    with pytest.raises(ValueError, match="E305"):
        listener.predict(docs)
    for doc in docs:
        doc.tensor = numpy.full((len(doc), WIDTH), 5.0, dtype="float32")
    assert all((y == 5.0).all() for y in listener.predict(docs))
    assert listener.begin_update(docs)[0][1][0, 0] == 1.0  # training still gets its batch


def test_find_listeners():
    from thinc.api import chain

    named, wildcard, other = (Tok2VecListener(n, WIDTH) for n in ("tok2vec", "*", "t2v_2"))
    model = chain(chain(named, wildcard), other)
    assert set(map(id, find_listeners(model, "tok2vec"))) == {id(named), id(wildcard)}
    assert set(map(id, find_listeners(model, "t2v_2"))) == {id(wildcard), id(other)}
