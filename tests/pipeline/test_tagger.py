"""The tagger: learns, predicts only known labels, XPOS or UPOS, loss as thinc computes it,
clear initialize errors, resizing, and save/load."""
import numpy
import pytest
from pipeline.toy_pipelines import (
    TOY,
    independent_nlp,
    make_examples,
    seed_config_as_tagger,
    shared_nlp,
    train,
)
from thinc.api import SequenceCategoricalCrossentropy, fix_random_seed

import nlp_core
from nlp_core.language import Language
from nlp_core.tokens import Doc
from nlp_core.training import Example


def tags_of(nlp, examples, attr="tag_"):
    return [[getattr(t, attr) for t in nlp(eg.reference.text)] for eg in examples]


def gold_of(examples, attr="tag_"):
    return [[getattr(t, attr) for t in eg.reference] for eg in examples]


@pytest.mark.parametrize("make", [shared_nlp, independent_nlp])
def test_tagger_learns_toy_data(make):
    nlp = make()
    examples = make_examples(nlp)
    _, losses = train(nlp, examples, n_steps=50)
    assert losses["tagger"] < 0.05
    assert tags_of(nlp, examples) == gold_of(examples)
    assert nlp.get_pipe("tagger").labels == ("JJ", "NN", "NNS", "PRP", "VB", "VBP")


@pytest.mark.parametrize("filename", ["shared_tok2vec_ner.cfg", "independent_tok2vec_ner.cfg"])
def test_seed_setups_build_and_train_from_config(filename):
    """The seed's config blocks, verbatim but for a tagger in place of NER."""
    fix_random_seed(0)
    nlp = Language.from_config(seed_config_as_tagger(filename))
    tagger = nlp.get_pipe("tagger")
    if filename.startswith("shared"):
        assert nlp.pipe_names == ["tok2vec", "tagger"]
        assert nlp.get_pipe("tok2vec").listening_components == ["tagger"]
    else:
        assert nlp.pipe_names == ["tagger"]
        assert tagger.model.get_ref("tok2vec").get_dim("nO") == 96
    examples = make_examples(nlp)
    train(nlp, examples, n_steps=25)
    assert tags_of(nlp, examples) == gold_of(examples)


def test_upos_tagger_writes_pos_and_scores_pos_acc():
    nlp = shared_nlp(upos=True)
    examples = make_examples(nlp)
    train(nlp, examples, n_steps=50)
    upos = nlp.get_pipe("upos")
    assert upos.labels == ("ADJ", "NOUN", "PRON", "VERB")
    assert tags_of(nlp, examples, "pos_") == gold_of(examples, "pos_")
    assert tags_of(nlp, examples, "tag_") == gold_of(examples, "tag_")
    predicted = [Example(nlp(eg.reference.text), eg.reference) for eg in examples]
    assert upos.score(predicted) == {"pos_acc": 1.0}
    assert nlp.get_pipe("tagger").score(predicted) == {"tag_acc": 1.0}
    with pytest.raises(ValueError, match="E356.*'upos'.*'NN'"):
        upos.add_label("NN")


def test_predictions_come_from_the_label_set_only():
    """Even with spare output classes favoured by their bias, argmax is over the labels."""
    nlp = nlp_core.blank("en")
    tagger = nlp.add_pipe("tagger", config={"model": {"nO": 9}})
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    output = tagger.model.get_ref("output_layer")
    assert output.get_dim("nO") == 9 and len(tagger.labels) == 6
    b = output.get_param("b")
    b[6:] = 100.0
    output.set_param("b", b)
    for text, _, _ in TOY:
        assert all(t.tag_ in tagger.labels for t in nlp(text))


def test_unknown_gold_label_is_an_error_naming_the_component():
    nlp = independent_nlp()
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    bad = Example.from_dict(nlp.make_doc("green eggs"), {"tags": ["JJ", "XX"]})
    with pytest.raises(ValueError, match="E355.*'tagger'.*'XX'"):
        nlp.update([bad])


def test_initialize_errors_name_the_component():
    nlp = nlp_core.blank("en")
    nlp.add_pipe("tagger", name="my_tagger")
    with pytest.raises(ValueError, match="E350.*'my_tagger'.*no examples"):
        nlp.initialize(lambda: [])
    untagged = [Example.from_dict(nlp.make_doc("no tags here"), {})]
    with pytest.raises(ValueError, match="E353.*'my_tagger'.*no labels"):
        nlp.initialize(lambda: untagged)
    with pytest.raises(TypeError, match="E352.*'my_tagger'"):
        nlp.initialize(lambda: ["not an example"])
    shared = shared_nlp()
    with pytest.raises(ValueError, match="E350.*'tok2vec'"):
        shared.initialize(lambda: [])


def test_predict_before_initialize_is_a_clear_error():
    nlp = nlp_core.blank("en")
    nlp.add_pipe("tagger")
    with pytest.raises(ValueError, match="E354.*'tagger'.*initialize"):
        nlp("hello")


def test_labels_from_initialize_settings_and_add_label_resizes():
    nlp = independent_nlp()
    tagger = nlp.get_pipe("tagger")
    examples = make_examples(nlp)
    tagger.initialize(lambda: examples, labels=["NN", "VB"])
    assert tagger.labels == ("NN", "VB")
    output = tagger.model.get_ref("output_layer")
    rng = numpy.random.default_rng(0)
    W = rng.normal(size=output.get_param("W").shape).astype("f")
    output.set_param("W", W)
    assert tagger.add_label("JJ") == 1 and tagger.add_label("JJ") == 0
    resized = tagger.model.get_ref("output_layer")
    assert resized is not output and resized.get_dim("nO") == 3
    assert tagger.model.get_dim("nO") == 3
    numpy.testing.assert_array_equal(resized.get_param("W")[:2], W)
    assert not resized.get_param("W")[2].any()
    optimizer = nlp.resume_training()
    nlp.update(make_examples(nlp, [("blue ham", ["JJ", "NN"], ["ADJ", "NOUN"])]),
               sgd=optimizer)


def test_loss_and_gradient_match_thinc():
    """Cross-entropy (normalize=False), missing values, label smoothing and negative
    labels, compared with thinc's SequenceCategoricalCrossentropy."""
    nlp = independent_nlp()
    tagger = nlp.get_pipe("tagger")
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    vocab = nlp.vocab
    partial = Example(nlp.make_doc("green eggs ham"),
                      Doc(vocab, words=["green", "eggs", "ham"], tags=["JJ", None, "!NN"]))
    batch = examples[:2] + [partial]
    rng = numpy.random.default_rng(0)
    scores = []
    for eg in batch:
        x = rng.random((len(eg.predicted), len(tagger.labels))).astype("f")
        scores.append(x / x.sum(axis=1, keepdims=True))
    truths = [[t or None for t in eg.get_aligned("TAG", as_string=True)] for eg in batch]
    for smoothing in (0.0, 0.1):
        tagger.cfg["label_smoothing"] = smoothing
        loss, d_scores = tagger.get_loss(batch, scores)
        expected_loss_func = SequenceCategoricalCrossentropy(
            names=tagger.labels, normalize=False, neg_prefix="!", label_smoothing=smoothing)
        # thinc rejects negative labels with smoothing: compare those rows without it
        n_compared = 3 if smoothing == 0.0 else 2
        expected_d, expected_loss = expected_loss_func(scores[:n_compared],
                                                       truths[:n_compared])
        for got, want in zip(d_scores, expected_d):
            numpy.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
        if smoothing == 0.0:
            assert loss == pytest.approx(float(expected_loss), rel=1e-5)
        assert not d_scores[2][1].any()  # missing gold: no gradient
        negative = d_scores[2][2]
        nn = tagger.labels.index("NN")
        assert negative[nn] == pytest.approx(scores[2][2][nn])
        assert not numpy.delete(negative, nn).any()


def test_misaligned_tokens_get_no_gradient():
    nlp = independent_nlp()
    tagger = nlp.get_pipe("tagger")
    nlp.initialize(lambda: make_examples(nlp))
    predicted = Doc(nlp.vocab, words=["greeneggs", "ham"])
    reference = Doc(nlp.vocab, words=["green", "eggs", "ham"], spaces=[False, True, True],
                    tags=["JJ", "NNS", "NN"])
    codes = tagger._gold_classes([Example(predicted, reference)])
    assert codes.tolist() == [-1, tagger.labels.index("NN")]


def test_overwrite_setting():
    nlp = independent_nlp()
    nlp.initialize(lambda: make_examples(nlp))
    doc = nlp.make_doc("green eggs")
    doc[0].tag_ = "PRESET"
    nlp.get_pipe("tagger")(doc)
    assert doc[0].tag_ == "PRESET" and doc[1].tag_ in nlp.get_pipe("tagger").labels
    nlp.get_pipe("tagger").cfg["overwrite"] = True
    nlp.get_pipe("tagger")(doc)
    assert doc[0].tag_ != "PRESET"


@pytest.mark.parametrize("make", [shared_nlp, independent_nlp])
def test_to_disk_and_load_give_identical_predictions(make, tmp_path):
    nlp = make()
    examples = make_examples(nlp)
    train(nlp, examples, n_steps=5)
    texts = [text for text, _, _ in TOY] + ["unseen words here", ""]
    before = list(nlp.pipe(texts))
    nlp.to_disk(tmp_path / "model")
    assert (tmp_path / "model" / "tagger" / "cfg.json").is_file()
    loaded = nlp_core.load(tmp_path / "model")
    assert loaded.get_pipe("tagger").labels == nlp.get_pipe("tagger").labels
    after = list(loaded.pipe(texts))
    for a, b in zip(before, after):
        assert [t.tag_ for t in a] == [t.tag_ for t in b]
        if "tok2vec" in nlp.pipe_names:
            numpy.testing.assert_allclose(a.tensor, b.tensor, rtol=1e-5, atol=1e-6)
    if "tok2vec" in loaded.pipe_names:
        assert loaded.get_pipe("tok2vec").listening_components == ["tagger"]


def test_empty_docs_and_batches():
    nlp = shared_nlp()
    nlp.initialize(lambda: make_examples(nlp))
    assert len(nlp("")) == 0
    docs = list(nlp.pipe(["", "green eggs", ""]))
    assert [len(d) for d in docs] == [0, 2, 0]
    empty = [Example(nlp.make_doc(""), nlp.make_doc(""))]
    assert nlp.update(empty) == {"tok2vec": 0.0, "tagger": 0.0}
