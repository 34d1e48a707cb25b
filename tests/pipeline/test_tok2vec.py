"""The tok2vec component: one forward per batch, listeners' gradients summed into one
backprop, frozen and annotating components as in spaCy's training config, and which
listeners belong to which tok2vec."""
import numpy
import pytest
from pipeline.toy_pipelines import SMALL_TOK2VEC, make_examples, params_of, shared_nlp, train

import nlp_core
from nlp_core.language import Language
from nlp_core.pipeline import TrainablePipe


def spy_on_tok2vec(tok2vec):
    """Count the shared model's forward and backward passes; record the gradient each
    listening component sends and the gradient the model receives."""
    calls = {"forward": 0, "train_forward": 0, "backprop": 0, "d_model": None, "sent": {}}
    forward = tok2vec.model._func

    def counting_forward(model, docs, is_train):
        calls["forward"] += 1
        calls["train_forward"] += int(is_train)
        outputs, backprop = forward(model, docs, is_train)

        def counting_backprop(d_outputs):
            calls["backprop"] += 1
            calls["d_model"] = [d.copy() for d in d_outputs]
            return backprop(d_outputs)

        return outputs, counting_backprop

    tok2vec.model._func = counting_forward
    for component, listeners in tok2vec.listener_map.items():
        for listener in listeners:
            receive = listener.receive

            def spying_receive(key, outputs, callback, _receive=receive, _name=component):
                if callback is not None:
                    def spy(d_outputs, _callback=callback):
                        calls["sent"][_name] = [d.copy() for d in d_outputs]
                        return _callback(d_outputs)

                    return _receive(key, outputs, spy)
                return _receive(key, outputs, callback)

            listener.receive = spying_receive
    return calls


def test_one_forward_per_batch_and_two_listeners_summed_into_one_backprop():
    nlp = shared_nlp(upos=True)
    tok2vec = nlp.get_pipe("tok2vec")
    assert tok2vec.listening_components == ["tagger", "upos"]
    examples = make_examples(nlp)
    optimizer, _ = train(nlp, examples, n_steps=2)  # output layers start at zero
    calls = spy_on_tok2vec(tok2vec)
    before = params_of(tok2vec.model)
    losses = nlp.update(examples, sgd=optimizer, drop=0.1)
    assert calls["forward"] == 1 and calls["train_forward"] == 1
    assert calls["backprop"] == 1
    assert set(calls["sent"]) == {"tagger", "upos"}
    for total, a, b in zip(calls["d_model"], calls["sent"]["tagger"], calls["sent"]["upos"]):
        assert a.any() and b.any()
        numpy.testing.assert_allclose(total, a + b, rtol=1e-6, atol=1e-7)
    assert losses["tok2vec"] == pytest.approx(
        sum(float((d ** 2).sum()) for d in calls["d_model"]), rel=1e-5)
    after = params_of(tok2vec.model)
    assert any(not numpy.array_equal(before[k], after[k]) for k in before)
    # Inference: one forward per batch too, shared by both taggers.
    calls["forward"] = 0
    docs = list(nlp.pipe(["green eggs", "blue ham", "we eat"], batch_size=3))
    assert calls["forward"] == 1
    assert all(doc.tensor.shape == (len(doc), 32) for doc in docs)


def test_frozen_tok2vec_is_not_updated_while_the_tagger_trains():
    nlp = shared_nlp()
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    tok2vec, tagger = nlp.get_pipe("tok2vec"), nlp.get_pipe("tagger")
    calls = spy_on_tok2vec(tok2vec)
    frozen = params_of(tok2vec.model)
    first = None
    for _ in range(15):
        losses = nlp.update(examples, sgd=optimizer, exclude=["tok2vec"])
        first = losses["tagger"] if first is None else first
    assert "tok2vec" not in losses and losses["tagger"] < first
    assert calls["train_forward"] == 0 and calls["backprop"] == 0
    assert calls["forward"] == 15  # run (once per batch) for its listener, no gradient
    for key, value in params_of(tok2vec.model).items():
        numpy.testing.assert_array_equal(value, frozen[key])
    assert not any(node.get_grad(name).any() for node in tok2vec.model.walk()
                   for name in node.grad_names)
    assert tagger.model.get_ref("output_layer").get_param("W").any()


def test_frozen_tagger_listening_to_a_trained_tok2vec():
    nlp = shared_nlp(upos=True)
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    tagger = nlp.get_pipe("tagger")
    frozen = params_of(tagger.model)
    losses = nlp.update(examples, sgd=optimizer, exclude=["tagger"],
                        annotates=["tagger"])
    assert set(losses) == {"tok2vec", "upos"}
    for key, value in params_of(tagger.model).items():
        numpy.testing.assert_array_equal(value, frozen[key])
    assert all(t.tag_ in tagger.labels for eg in examples for t in eg.predicted)


@Language.factory("test_tag_recorder")
def make_tag_recorder(nlp, name):
    return TagRecorder(nlp.vocab, None, name)


class TagRecorder(TrainablePipe):
    """A trainable component that records the tags it sees on the predicted docs."""

    def __init__(self, vocab, model, name):
        super().__init__(vocab, model, name)
        self.seen = []

    def update(self, examples, *, drop=0.0, sgd=None, losses=None):
        self.seen.append([[t.tag_ for t in eg.predicted] for eg in examples])
        return {} if losses is None else losses

    def finish_update(self, sgd):
        pass

    def initialize(self, get_examples, *, nlp=None):
        pass

    def predict(self, docs):
        return None

    def set_annotations(self, docs, preds):
        pass


def test_annotating_components_let_later_components_see_predictions():
    nlp = shared_nlp()
    recorder = nlp.add_pipe("test_tag_recorder")
    examples = make_examples(nlp)
    optimizer, _ = train(nlp, examples, n_steps=50)
    recorder.seen.clear()
    nlp.update(examples, sgd=optimizer)
    assert all(tag == "" for doc in recorder.seen[-1] for tag in doc)
    fresh = make_examples(nlp)
    nlp.update(fresh, sgd=optimizer, annotates=["tok2vec", "tagger"])
    assert recorder.seen[-1] == [[t.tag_ for t in eg.reference] for eg in fresh]
    assert all(eg.predicted.tensor.shape == (len(eg.predicted), 32) for eg in fresh)


def test_wildcard_listeners_belong_to_the_nearest_tok2vec_before_them():
    nlp = nlp_core.blank("en")
    t2v = {"model": SMALL_TOK2VEC}
    star = {"model": {"tok2vec": {"@architectures": "spacy.Tok2VecListener.v1",
                                  "width": 32}}}
    named = {"model": {"tok2vec": {"@architectures": "spacy.Tok2VecListener.v1",
                                   "width": 32, "upstream": "first"}}}
    nlp.add_pipe("tok2vec", name="first", config=t2v)
    nlp.add_pipe("tagger", name="a", config=star)
    nlp.add_pipe("tok2vec", name="second", config=t2v)
    nlp.add_pipe("tagger", name="b", config=star)
    nlp.add_pipe("tagger", name="c", config=named)
    assert nlp.get_pipe("first").listening_components == ["a", "c"]
    assert nlp.get_pipe("second").listening_components == ["b"]
    nlp.rename_pipe("first", "embed")
    assert nlp.get_pipe("embed").name == "embed"
    assert nlp.get_pipe("embed").listening_components == ["a"]  # "c" names "first"
    nlp.remove_pipe("second")
    assert nlp.get_pipe("embed").listening_components == ["a", "b"]


def test_listener_without_upstream_is_a_clear_error():
    nlp = nlp_core.blank("en")
    nlp.add_pipe("tagger", config={"model": {"tok2vec": {
        "@architectures": "spacy.Tok2VecListener.v1", "width": 32}}})
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    with pytest.raises(ValueError, match="E304"):
        nlp("green eggs")
