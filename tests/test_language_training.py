"""The pipeline's training methods: initialize (from [initialize]), create_optimizer,
update (frozen, annotating, gradient accumulation), resume_training and evaluate."""
import shutil

import numpy
import pytest
from pipeline.toy_pipelines import independent_nlp, make_examples, params_of, shared_nlp, train
from thinc.api import Adam

import nlp_core
from nlp_core.language import Language
from nlp_core.language_training import LOAD_PIPELINE
from nlp_core.registry import registry
from nlp_core.tokens import Doc
from nlp_core.training import Example
from nlp_core.training.pretrain_checkpoint import architecture_block, signature, write_checkpoint
from nlp_core.vectors import Vectors


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


def _static_vectors_nlp(vectors=None) -> Language:
    """The toy tok2vec + tagger with include_static_vectors = true."""
    config = shared_nlp().config
    config["components"]["tok2vec"]["model"]["embed"]["include_static_vectors"] = True
    config["paths"]["vectors"] = None if vectors is None else str(vectors)
    return Language.from_config(config)


def _write_vectors(path, attr="ORTH"):
    """A blank pipeline with a 4 x 5 table (green, eggs, ham, and 'sam' sharing ham's row)."""
    nlp = nlp_core.blank("en")
    strings = nlp.vocab.strings
    data = numpy.arange(15, dtype="float32").reshape(3, 5) / 10
    vectors = Vectors(strings=strings, data=data,
                      keys=[strings.add(w) for w in ("green", "eggs", "ham")], attr=attr)
    vectors.add("sam", row=2)
    nlp.vocab.vectors = vectors
    nlp.to_disk(path)
    return data


@pytest.mark.parametrize("where", ["pipeline", "vocab", "bare"])
def test_initialize_vectors_loads_a_directory(tmp_path, where):
    data = _write_vectors(tmp_path / "pipe")
    source = {"pipeline": tmp_path / "pipe", "vocab": tmp_path / "pipe" / "vocab",
              "bare": tmp_path / "bare"}[where]
    if where == "bare":   # only the table's own files, no strings.json
        source.mkdir()
        for name in ("vectors", "key2row", "vectors.cfg"):
            shutil.copy(tmp_path / "pipe" / "vocab" / name, source / name)
    nlp = _static_vectors_nlp(source)
    nlp.initialize(lambda: make_examples(nlp))
    vectors = nlp.vocab.vectors
    assert vectors.shape == (3, 5) and vectors.strings is nlp.vocab.strings
    numpy.testing.assert_array_equal(vectors.data, data)
    assert numpy.array_equal(nlp.vocab.get_vector("sam"), data[2])
    if where != "bare":   # the table's strings joined the pipeline's
        assert "sam" in nlp.vocab.strings
    train(nlp, make_examples(nlp), n_steps=2)
    assert [len(doc) for doc in nlp.pipe(["green eggs and ham"])] == [4]


def test_initialize_vectors_by_pipeline_name(tmp_path):
    _write_vectors(tmp_path / "pipe")
    loaded = []

    def load(name, **kwargs):   # stands in for nlp_core.load of an installed package
        loaded.append(name)
        return nlp_core.load(tmp_path / "pipe", **kwargs)

    registry.misc.register(LOAD_PIPELINE, func=load)
    try:
        nlp = _static_vectors_nlp("my_vectors_package")
        nlp.initialize(lambda: make_examples(nlp))
    finally:
        registry.misc.register(LOAD_PIPELINE, func=nlp_core.load)
    assert loaded == ["my_vectors_package"] and nlp.vocab.vectors.shape == (3, 5)


def test_initialize_vectors_of_a_shipped_pipeline():
    # a shipped pipeline name is loaded with nlp_core.load: en_ewt_sm holds GloVe (50k rows)
    nlp = _static_vectors_nlp("en_ewt_sm")
    nlp.initialize(lambda: make_examples(nlp))
    assert nlp.vocab.vectors.shape == (50_000, 50) and nlp.vocab.vectors.attr_ == "LOWER"


def test_initialize_vectors_names_the_setting_and_the_path(tmp_path):
    # a pipeline found by name whose table is empty
    registry.misc.register(LOAD_PIPELINE, func=lambda name, **kwargs: nlp_core.blank("en"))
    try:
        nlp = _static_vectors_nlp("a_pipeline_without_vectors")
        with pytest.raises(OSError, match=r"E364.*\[initialize\] vectors = "
                                          r"'a_pipeline_without_vectors'.*empty"):
            nlp.initialize(lambda: make_examples(nlp))
    finally:
        registry.misc.register(LOAD_PIPELINE, func=nlp_core.load)
    missing = tmp_path / "no_such_vectors"
    nlp = _static_vectors_nlp(missing)
    with pytest.raises(OSError, match=r"E364.*\[initialize\] vectors.*no_such_vectors.*no "
                                      r"such directory"):
        nlp.initialize(lambda: make_examples(nlp))
    empty = tmp_path / "empty_pipe"
    nlp_core.blank("en").to_disk(empty)   # a pipeline without a table
    nlp = _static_vectors_nlp(empty)
    with pytest.raises(OSError, match=r"E364.*\[initialize\] vectors.*empty_pipe.*neither"):
        nlp.initialize(lambda: make_examples(nlp))


def test_static_vectors_without_vectors_names_the_setting():
    nlp = _static_vectors_nlp(None)
    with pytest.raises(ValueError, match=r"E300.*no vectors.*\[initialize\] vectors"):
        nlp.initialize(lambda: make_examples(nlp))


def test_initialize_loads_init_tok2vec_weights(tmp_path):
    trained = shared_nlp()
    train(trained, make_examples(trained), n_steps=3)
    model = trained.get_pipe("tok2vec").model
    raw = tmp_path / "raw.bin"  # thinc bytes without provenance (spaCy's pretrain output)
    raw.write_bytes(model.to_bytes())
    weights = tmp_path / "tok2vec.bin"
    provenance = {"component": "tok2vec", "layer": "", "signature": signature(model),
                  "architecture": architecture_block(trained.config.interpolate(),
                                                     "tok2vec", ""),
                  "objective": {"name": "test"}, "epoch": 0, "step": 3, "corpus": {}}
    write_checkpoint(weights, provenance, model.to_bytes())
    config = shared_nlp().config
    config["paths"]["init_tok2vec"] = str(raw)
    with pytest.raises(ValueError, match="E525.*raw.bin"):
        Language.from_config(config).initialize(lambda: make_examples(trained))
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
