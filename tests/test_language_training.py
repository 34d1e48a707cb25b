"""The pipeline's training methods: initialize (from [initialize]), create_optimizer,
update (frozen, annotating, gradient accumulation), resume_training and evaluate."""
import numpy
import pytest
from pipeline.toy_pipelines import independent_nlp, make_examples, params_of, shared_nlp, train
from thinc.api import Adam

import nlp_core
from nlp_core.language import Language
from nlp_core.tokens import Doc
from nlp_core.training import Example


def test_initialize_returns_the_configured_optimizer():
    nlp = shared_nlp()
    nlp._config["training"]["optimizer"]["learn_rate"] = 0.005
    optimizer = nlp.initialize(lambda: make_examples(nlp))
    assert optimizer.learn_rate(step=0) == pytest.approx(0.005)
    assert nlp.create_optimizer() is not optimizer
    mine = Adam(0.01)
    assert nlp.initialize(lambda: make_examples(nlp), sgd=mine) is mine
    assert nlp.resume_training() is mine


def test_initialize_reads_component_labels_from_the_config():
    config = shared_nlp().config
    config["initialize"]["components"] = {"tagger": {"labels": ["NN", "VB", "JJ"]}}
    nlp = Language.from_config(config)
    nlp.initialize()  # no examples: labels from the config, shapes from a placeholder
    assert nlp.get_pipe("tagger").labels == ("NN", "VB", "JJ")
    assert [len(doc) for doc in nlp.pipe(["green eggs"])] == [2]


def test_initialize_vectors_not_supported_yet():
    config = shared_nlp().config
    config["paths"]["vectors"] = "some/vectors"
    nlp = Language.from_config(config)
    with pytest.raises(NotImplementedError, match="E364.*vectors"):
        nlp.initialize(lambda: make_examples(nlp))


def test_initialize_loads_init_tok2vec_weights(tmp_path):
    trained = shared_nlp()
    train(trained, make_examples(trained), n_steps=3)
    weights = tmp_path / "tok2vec.bin"
    weights.write_bytes(trained.get_pipe("tok2vec").model.to_bytes())
    config = shared_nlp().config
    config["paths"]["init_tok2vec"] = str(weights)
    nlp = Language.from_config(config)
    nlp.initialize(lambda: make_examples(nlp))
    expected = list(params_of(trained.get_pipe("tok2vec").model).values())
    got = list(params_of(nlp.get_pipe("tok2vec").model).values())
    for a, b in zip(expected, got):
        numpy.testing.assert_array_equal(a, b)
    config["paths"]["init_tok2vec"] = str(tmp_path / "missing.bin")
    with pytest.raises(OSError, match="E366.*missing.bin"):
        Language.from_config(config).initialize(lambda: make_examples(nlp))


def test_update_without_sgd_step_accumulates_gradients():
    nlp = independent_nlp()
    examples = make_examples(nlp)
    optimizer, _ = train(nlp, examples, n_steps=2)
    model = nlp.get_pipe("tagger").model
    before = params_of(model)
    losses = {}
    nlp.update(examples[:2], sgd=False, losses=losses)
    nlp.update(examples[2:], sgd=False, losses=losses)
    assert losses["tagger"] > 0
    for key, value in params_of(model).items():
        numpy.testing.assert_array_equal(value, before[key])
    nlp.get_pipe("tagger").finish_update(optimizer)
    after = params_of(model)
    assert any(not numpy.array_equal(before[k], after[k]) for k in before)


def test_update_accumulates_shared_gradients_across_sub_batches():
    nlp = shared_nlp()
    examples = make_examples(nlp)
    optimizer, _ = train(nlp, examples, n_steps=2)
    tok2vec = nlp.get_pipe("tok2vec")
    before = params_of(tok2vec.model)
    nlp.update(examples[:2], sgd=False)
    nlp.update(examples[2:], sgd=False)
    assert any(node.get_grad(name).any() for node in tok2vec.model.walk()
               for name in node.grad_names)
    tok2vec.finish_update(optimizer)
    after = params_of(tok2vec.model)
    assert any(not numpy.array_equal(before[k], after[k]) for k in before)


def test_update_and_evaluate_need_examples():
    nlp = independent_nlp()
    nlp.initialize(lambda: make_examples(nlp))
    with pytest.raises(TypeError, match="E363.*Language.update.*str"):
        nlp.update(["text"])
    with pytest.raises(TypeError, match="E363.*Language.evaluate"):
        nlp.evaluate([nlp.make_doc("text")])
    assert nlp.update([]) == {}


def test_evaluate_keys_and_values():
    nlp = shared_nlp(upos=True)
    examples = make_examples(nlp)
    train(nlp, examples, n_steps=50)
    for eg in examples:  # evaluation ignores annotation already on the predicted docs
        eg.predicted[0].tag_ = "WRONG"
    scores = nlp.evaluate(examples)
    assert set(scores) == {"token_acc", "token_p", "token_r", "token_f", "tag_acc",
                           "pos_acc", "speed"}
    assert scores["tag_acc"] == 1.0 and scores["pos_acc"] == 1.0
    assert scores["token_acc"] == 1.0 and scores["speed"] > 0
    assert all(eg.predicted[0].tag_ == "WRONG" for eg in examples)


def test_evaluate_from_other_tokens_aligns_by_characters():
    nlp = independent_nlp()
    train(nlp, make_examples(nlp), n_steps=5)
    predicted = Doc(nlp.vocab, words=["greeneggs", "ham"])
    reference = Doc(nlp.vocab, words=["green", "eggs", "ham"], spaces=[False, True, True],
                    tags=["JJ", "NNS", "NN"])
    scores = nlp.evaluate([Example(predicted, reference)])
    assert scores["token_acc"] == 0.5
    assert scores["token_p"] == 0.5 and scores["token_r"] == pytest.approx(1 / 3)
    assert 0.0 <= scores["tag_acc"] <= 0.5


def test_blank_pipeline_trains_from_add_pipe_defaults():
    nlp = nlp_core.blank("en")
    nlp.add_pipe("tok2vec")
    nlp.add_pipe("tagger", config={"model": {"tok2vec": {
        "@architectures": "spacy.Tok2VecListener.v1", "width": 96}}})
    assert nlp.get_pipe("tok2vec").model.get_dim("nO") == 96
    examples = make_examples(nlp)
    _, losses = train(nlp, examples, n_steps=20)
    assert set(losses) == {"tok2vec", "tagger"}
    assert nlp.evaluate(examples)["tag_acc"] == 1.0


def test_evaluate_runs_the_pipeline_through_pipe(monkeypatch):
    nlp = shared_nlp()
    examples = make_examples(nlp)
    train(nlp, examples, n_steps=5)
    calls = []
    run = nlp.pipe

    def recording_pipe(docs, **kwargs):
        calls.append(kwargs)
        return run(docs, **kwargs)

    monkeypatch.setattr(nlp, "pipe", recording_pipe)
    scores = nlp.evaluate(examples, batch_size=3)
    assert calls == [{"batch_size": 3}]
    assert "tag_acc" in scores
