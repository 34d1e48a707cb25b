"""The transformer component: the seed's config blocks load verbatim and train, listeners
share one transformer, a saved pipeline loads with no hub and no original model."""
import shutil
from pathlib import Path

import numpy
import pytest
import torch
from pipeline.toy_pipelines import TOY, make_examples, train
from thinc.api import fix_random_seed

import nlp_core
from nlp_core.config import load_config, load_config_from_str
from nlp_core.language import Language
from nlp_core.ml.transformer import FullTransformerBatch, TransformerData
from nlp_core.tokens import Doc
from nlp_core.training import Example
from nlp_core.user_code import import_code

SEED_CONFIGS = Path(__file__).resolve().parents[3] / "shared" / "seed" / "configs"
CUSTOM_SPANS_CODE = Path(__file__).resolve().parents[1] / "ml" / "transformer" / \
    "custom_sent_spans.py"
NER_DATA = [("Hello New York city", [(6, 19, "GPE")]),
            ("the cat sat in York", [(15, 19, "GPE")]),
            ("he ran to new york fast", [(10, 18, "GPE")])]
DOC_SPANS = {"@span_getters": "spacy-transformers.doc_spans.v1"}


@pytest.fixture(autouse=True)
def _one_thread_and_seeded(one_torch_thread):
    fix_random_seed(0)


def listener(grad_factor=1.0, pooling="reduce_mean.v1"):
    return {"@architectures": "spacy-transformers.TransformerListener.v1",
            "grad_factor": grad_factor, "pooling": {"@layers": pooling}}


def tagger_nlp(path, *, grad_factor=1.0, upos=False):
    nlp = nlp_core.blank("en")
    nlp.add_pipe("transformer", config={"model": {"name": str(path), "get_spans": DOC_SPANS}})
    nlp.add_pipe("tagger", config={"model": {"tok2vec": listener(grad_factor)}})
    if upos:
        nlp.add_pipe("tagger", name="upos", config={
            "attr": "pos", "model": {"tok2vec": listener(grad_factor, "reduce_max.v1")}})
    return nlp


def encoder_params(nlp):
    return [p.detach().clone() for p in nlp.get_pipe("transformer").model.encoder.parameters()]


def one_sentence(doc):
    for token in doc[1:]:
        token.is_sent_start = False
    return doc


def ner_examples(nlp, sentences=False):
    return [Example.from_dict(one_sentence(nlp.make_doc(t)) if sentences else nlp.make_doc(t),
                              {"entities": e}) for t, e in NER_DATA]


def test_seed_transformer_ner_config_loads_verbatim_and_trains(tiny_bert):
    config = load_config(SEED_CONFIGS / "transformer_ner.cfg",
                         overrides={"components.transformer.model.name": str(tiny_bert)})
    nlp = Language.from_config(config)
    assert nlp.pipe_names == ["transformer", "ner"]
    trf = nlp.get_pipe("transformer")
    assert trf.cfg["max_batch_items"] == 4096 and trf.listening_components == ["ner"]
    examples = ner_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    before = encoder_params(nlp)
    for _ in range(25):
        losses = nlp.update(examples, sgd=optimizer)
    assert losses["ner"] < 1.0 and losses["transformer"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, encoder_params(nlp)))
    assert nlp.evaluate(examples)["ents_f"] == 1.0
    assert isinstance(nlp("Hello New York city")._.trf_data, TransformerData)


def test_seed_custom_sent_spans_config_trains(tiny_bert):
    import_code(CUSTOM_SPANS_CODE)
    text = (SEED_CONFIGS / "transformer_ner.cfg").read_text(encoding="utf8")
    custom = (SEED_CONFIGS / "custom_sent_spans.cfg").read_text(encoding="utf8")
    doc_spans = ('[components.transformer.model.get_spans]\n'
                 '@span_getters = "spacy-transformers.doc_spans.v1"\n')
    assert doc_spans in text
    config = load_config_from_str(text.replace(doc_spans, custom), overrides={
        "components.transformer.model.name": str(tiny_bert)})
    nlp = Language.from_config(config)
    examples = ner_examples(nlp, sentences=True)  # the seed's getter needs doc.sents
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(2):
        nlp.update(examples, sgd=optimizer)
    doc = nlp(one_sentence(nlp.make_doc(" ".join(["the cat sat"] * 20))))
    assert [end - start for start, end in doc._.trf_data.windows.tolist()] == [22, 3, 22, 3, 10]  # 25-token spans, cut to fit


def test_tagger_and_upos_share_the_transformer(tiny_bert):
    nlp = tagger_nlp(tiny_bert, upos=True)
    trf = nlp.get_pipe("transformer")
    assert trf.listening_components == ["tagger", "upos"]
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    before = encoder_params(nlp)
    first = nlp.update(examples, sgd=optimizer)
    for _ in range(25):
        losses = nlp.update(examples, sgd=optimizer)
    assert losses["tagger"] < first["tagger"] and losses["upos"] < first["upos"]
    assert any(not torch.equal(a, b) for a, b in zip(before, encoder_params(nlp)))
    scores = nlp.evaluate(examples)
    assert scores["tag_acc"] > 0.9 and scores["pos_acc"] > 0.9


def test_backprop_runs_once_for_all_listeners(tiny_bert, monkeypatch):
    nlp = tagger_nlp(tiny_bert, upos=True)
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    model = nlp.get_pipe("transformer").model
    calls = []
    shim = model.shims[0]
    original = shim.begin_update

    def counting(inputs):
        output, backprop = original(inputs)

        def counted(grads):
            calls.append(1)
            return backprop(grads)

        return output, counted

    monkeypatch.setattr(shim, "begin_update", counting)
    nlp.update(examples, sgd=optimizer)
    assert len(calls) == 1


def test_grad_factor_zero_freezes_the_transformer(tiny_bert):
    nlp = tagger_nlp(tiny_bert, grad_factor=0.0)
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    before = encoder_params(nlp)
    for _ in range(3):
        losses = nlp.update(examples, sgd=optimizer)
    assert losses["tagger"] > 0 and losses["transformer"] == 0.0
    assert all(torch.equal(a, b) for a, b in zip(before, encoder_params(nlp)))


def test_saved_pipeline_loads_without_the_original_model(tiny_bert, tmp_path):
    source = tmp_path / "source_model"
    shutil.copytree(tiny_bert, source)
    nlp = tagger_nlp(source)
    examples = make_examples(nlp)
    train(nlp, examples, n_steps=5)
    texts = [text for text, _, _ in TOY] + [""]
    expected = list(nlp.pipe(texts))
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(source)
    folder = tmp_path / "pipeline" / "transformer" / "model"
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {
        p.name for p in folder.iterdir()}
    assert not [p for p in (tmp_path / "pipeline").rglob("*") if p.suffix in (".bin", ".pkl")]
    loaded = nlp_core.load(tmp_path / "pipeline")
    for want, got in zip(expected, loaded.pipe(texts)):
        assert [t.tag_ for t in got] == [t.tag_ for t in want]
        if len(want):
            numpy.testing.assert_allclose(got._.trf_data.wordpiece_output,
                                          want._.trf_data.wordpiece_output, atol=1e-6)


def test_extra_annotations_and_msgpack_round_trip(tiny_bert):
    nlp = tagger_nlp(tiny_bert)
    nlp.initialize(lambda: make_examples(nlp))
    seen = []
    Doc.set_extension("custom_trf", default=None, force=True)

    def setter(docs, trf_data):
        assert isinstance(trf_data, FullTransformerBatch)
        seen.append(len(docs))
        for doc, data in zip(docs, trf_data.doc_data):
            doc._.custom_trf = data

    nlp.get_pipe("transformer").set_extra_annotations = setter
    doc = nlp("the cat sat on the mat")
    assert seen == [1] and doc._.custom_trf is doc._.trf_data
    copy = Doc.from_bytes(nlp.vocab, doc.to_bytes())
    data = copy._.trf_data
    numpy.testing.assert_allclose(data.wordpiece_output, doc._.trf_data.wordpiece_output)
    assert data.align.lengths.tolist() == doc._.trf_data.align.lengths.tolist()


def test_default_config_fills(tiny_bert):
    nlp = nlp_core.blank("en")
    trf = nlp.add_pipe("transformer", config={"model": {"name": str(tiny_bert)}})
    block = nlp.config["components"]["transformer"]
    assert block["model"]["get_spans"]["@span_getters"] == "spacy-transformers.strided_spans.v1"
    assert block["set_extra_annotations"]["@annotation_setters"] == \
        "spacy-transformers.null_annotation_setter.v1"
    nlp.initialize()
    assert trf.model.get_dim("nO") == 32


def test_learn_rate_scale_slows_only_the_transformer(tiny_bert):
    from thinc.api import SGD

    def step_size(scale):
        fix_random_seed(0)
        nlp = tagger_nlp(tiny_bert)
        nlp.get_pipe("transformer").cfg["learn_rate_scale"] = scale
        examples = make_examples(nlp)
        nlp.initialize(lambda: examples)
        nlp.update(examples, sgd=SGD(0.1))  # the tagger starts at zero: no gradient yet
        before = encoder_params(nlp)
        nlp.update(examples, sgd=SGD(0.1))
        return sum(float((a - b).abs().sum()) for a, b in zip(before, encoder_params(nlp)))

    full, tenth = step_size(1.0), step_size(0.1)
    assert full > 0 and tenth == pytest.approx(full / 10, rel=1e-3)


def test_pipe_runs_sub_batches_by_length_and_keeps_order(tiny_bert):
    nlp = nlp_core.blank("en")
    trf = nlp.add_pipe("transformer", config={"max_batch_items": 16, "model": {
        "name": str(tiny_bert), "get_spans": DOC_SPANS}})
    nlp.initialize()
    texts = ["the cat sat on the mat", "hello", "new york city is a city of the world",
             "", "the dog ran"]
    docs = list(nlp.pipe(texts, batch_size=5))
    assert [doc.text for doc in docs] == texts
    for doc in docs:
        alone = trf.predict([nlp.make_doc(doc.text)]).doc_data[0]
        numpy.testing.assert_allclose(doc._.trf_data.wordpiece_output, alone.wordpiece_output,
                                      atol=1e-5)
    # "hello" ran with "" and "the dog ran" (5 positions), not padded to the longest (11)
    assert docs[1]._.trf_data.last_hidden_state.shape[1] == 5


def test_optimizer_step_updates_the_encoder_in_place(tiny_bert):
    # thinc's stock shim rebinds param.data each step, which leaked memory every update.
    nlp = tagger_nlp(tiny_bert)
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    nlp.update(examples, sgd=optimizer)
    encoder = nlp.get_pipe("transformer").model.encoder
    pointers = [p.data_ptr() for p in encoder.parameters()]
    before = encoder_params(nlp)
    nlp.update(examples, sgd=optimizer)
    assert [p.data_ptr() for p in encoder.parameters()] == pointers
    assert any(not torch.equal(a, b) for a, b in zip(before, encoder_params(nlp)))


def test_a_cached_transformer_teacher_gives_its_listeners_the_same_output(tiny_bert):
    """The distillation teacher's cache keeps each doc's TransformerData without the
    padded `tensors`; the teacher's tagger reads the same scores from it."""
    from nlp_core.language_distill import TeacherCache, teacher_examples

    nlp = tagger_nlp(tiny_bert)
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    raw = [Example(nlp.make_doc(eg.text), nlp.make_doc(eg.text)) for eg in examples]
    tagger = nlp.get_pipe("tagger")
    plain = [eg.reference for eg in teacher_examples(nlp, raw)]
    want = tagger.predict(plain)
    cache = TeacherCache(64)
    teacher_examples(nlp, raw, cache)
    served = [eg.reference for eg in teacher_examples(nlp, raw, cache)]
    assert cache.hits == len(raw) and cache.misses == len(raw)
    assert all(doc._.trf_data.tensors == [] for doc in served)
    assert cache.nbytes == sum(doc._.trf_data.wordpiece_output.nbytes
                               + doc._.trf_data.wordpiece_ids.nbytes for doc in served) \
        + sum(_other_bytes(doc._.trf_data) for doc in served)
    for a, b in zip(tagger.predict(served), want):
        numpy.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def _other_bytes(data):
    wp = data.wordpieces
    return (wp.input_ids.nbytes + wp.attention_mask.nbytes + wp.lengths.nbytes
            + data.wordpiece_offsets.nbytes + data.align.dataXd.nbytes
            + data.align.lengths.nbytes + data.windows.nbytes)


def three_taggers_nlp(path, poolings):
    nlp = nlp_core.blank("en")
    nlp.add_pipe("transformer", config={"model": {"name": str(path), "get_spans": DOC_SPANS}})
    for i, pooling in enumerate(poolings):
        nlp.add_pipe("tagger", name=f"tagger{i}", config={
            "attr": "pos" if i % 2 else "tag", "model": {"tok2vec": listener(1.0, pooling)}})
    return nlp


def test_listeners_pool_a_batch_once_per_kind_of_pooling(tiny_bert, monkeypatch):
    """At inference the listeners of one transformer share the pooled vectors of the
    same pooling (PooledBatches): the same annotations as each pooling on its own, and
    one pooling per batch and kind instead of one per listener."""
    from nlp_core.ml.transformer import TransformerListener
    from nlp_core.ml.transformer import listener as listener_module
    from nlp_core.ml.transformer import pooling as pooling_module

    nlp = three_taggers_nlp(tiny_bert, ["reduce_mean.v1", "reduce_mean.v1", "reduce_max.v1"])
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(5):
        nlp.update(examples, sgd=optimizer)
    listeners = [node for _, pipe in nlp.pipeline[1:] for node in pipe.model.walk()
                 if isinstance(node, TransformerListener)]
    shared = nlp.get_pipe("transformer")._pooled
    assert len(listeners) == 3 and all(x.pooled_batches is shared for x in listeners)
    calls = []
    original = pooling_module.pool_tokens

    def counting(pooling, datas, is_train):
        calls.append((pooling.name, len(datas)))
        return original(pooling, datas, is_train)

    monkeypatch.setattr(pooling_module, "pool_tokens", counting)
    monkeypatch.setattr(listener_module, "pool_tokens", counting)
    texts = [eg.reference.text for eg in examples] * 3
    sizes = [len(texts[i:i + 4]) for i in range(0, len(texts), 4)]
    assert len(sizes) >= 2
    shared_docs = list(nlp.pipe(texts, batch_size=4))
    # mean once and max once per batch
    assert sorted(calls) == sorted([(kind, n) for n in sizes
                                    for kind in ("reduce_mean", "reduce_max")])
    for x in listeners:
        x.pooled_batches = None
    calls.clear()
    own_docs = list(nlp.pipe(texts, batch_size=4))
    assert len(calls) == 3 * len(sizes)  # each listener pools on its own
    assert [[(t.tag_, t.pos_) for t in d] for d in shared_docs] == \
        [[(t.tag_, t.pos_) for t in d] for d in own_docs]
    # training is not shared: each listener's pooling has its own backprop
    for x in listeners:
        x.pooled_batches = shared
    calls.clear()
    nlp.update(examples, sgd=optimizer)
    assert len(calls) == 3

