"""TransformerModel.v3: the same numbers as a direct HF forward, long docs split into
windows (overlaps averaged per wordpiece), sub-batches by padded size, gradients."""
import numpy
import pytest
import torch
from ml.transformer.tiny_bert import MAX_LENGTH, hf_last_hidden_state
from transformers import AutoModel, AutoTokenizer

from nlp_core.ml.transformer import FullTransformerBatch, TransformerData
from nlp_core.registry import registry

TEXTS = ["The cat sat on the mat.", "Hello world, this is New York city!", "x",
         "unable   to do it"]
LONG = " ".join(["the new york city cat ran fast and the dog sat on a mat ."] * 6)


def make_model(path, get_spans=None, **settings):
    spans = get_spans or {"@span_getters": "spacy-transformers.doc_spans.v1"}
    config = {"model": {"@architectures": "spacy-transformers.TransformerModel.v3",
                        "name": str(path), "get_spans": spans, **settings}}
    model = registry.resolve(config)["model"]
    model.initialize()
    return model


def direct(path, input_ids):
    model = AutoModel.from_pretrained(str(path)).eval()
    with torch.no_grad():
        ids = torch.tensor(numpy.asarray(input_ids), dtype=torch.long)[None]
        return model(input_ids=ids).last_hidden_state[0].numpy()


def test_same_as_a_direct_hf_forward(tiny_bert, nlp):
    model = make_model(tiny_bert)
    docs = [nlp(t) for t in TEXTS]
    full = model.predict(docs)
    assert isinstance(full, FullTransformerBatch) and len(full) == len(docs)
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_bert))
    for doc, data, ref in zip(docs, full.doc_data, hf_last_hidden_state(tiny_bert, TEXTS)):
        assert isinstance(data, TransformerData)
        n = len(ref)
        assert data.wordpieces.input_ids[0, :n].tolist() == tokenizer(doc.text)["input_ids"]
        numpy.testing.assert_allclose(data.last_hidden_state[0, :n], ref, atol=1e-5)
        numpy.testing.assert_allclose(data.wordpiece_output, ref[1:-1], atol=1e-5)
        assert data.wordpiece_strings == tokenizer.convert_ids_to_tokens(
            tokenizer(doc.text, add_special_tokens=False)["input_ids"])
        assert data.wordpieces.strings[0][0] == "[CLS]"
        assert len(data.align.lengths) == len(doc)


def test_alignment_of_whitespace_and_split_words(tiny_bert, nlp):
    model = make_model(tiny_bert)
    doc = nlp("unable   to do it")  # tokens: unable, "  " (whitespace), to, do, it
    data = model.predict([doc]).doc_data[0]
    words = [t.text for t in doc]
    lengths = dict(zip(words, data.align.lengths.tolist()))
    assert lengths["  "] == 0
    assert lengths["unable"] == 2  # un ##able
    assert data.wordpiece_strings[:2] == ["un", "##able"]


def test_long_doc_is_split_into_windows(tiny_bert, nlp):
    model = make_model(tiny_bert)
    doc = nlp(LONG)
    data = model.predict([doc]).doc_data[0]
    n_wp = len(data.wordpiece_ids)
    assert n_wp > MAX_LENGTH
    assert data.wordpieces.lengths.max() <= MAX_LENGTH
    # Consecutive windows, each a direct HF forward over its own input ids.
    assert data.windows[0, 0] == 0 and data.windows[-1, 1] == n_wp
    assert (data.windows[1:, 0] == data.windows[:-1, 1]).all()
    for i, (start, end) in enumerate(data.windows.tolist()):
        ref = direct(tiny_bert, data.wordpieces.input_ids[i, :data.wordpieces.lengths[i]])
        numpy.testing.assert_allclose(data.wordpiece_output[start:end], ref[1:-1], atol=1e-5)


def test_strided_windows_are_averaged_per_wordpiece(tiny_bert, nlp):
    spans = {"@span_getters": "spacy-transformers.strided_spans.v1", "window": 8,
             "stride": 5}
    model = make_model(tiny_bert, get_spans=spans)
    doc = nlp(LONG)
    data = model.predict([doc]).doc_data[0]
    n_wp = len(data.wordpiece_ids)
    total = numpy.zeros((n_wp, data.width), dtype="f")
    count = numpy.zeros(n_wp)
    for i, (start, end) in enumerate(data.windows.tolist()):
        ref = direct(tiny_bert, data.wordpieces.input_ids[i, :data.wordpieces.lengths[i]])
        total[start:end] += ref[1:-1]
        count[start:end] += 1
    assert count.min() >= 1 and count.max() >= 2  # every wordpiece held, some twice
    numpy.testing.assert_allclose(data.wordpiece_output, total / count[:, None], atol=1e-5)


def test_sub_batches_give_the_same_output(tiny_bert, nlp):
    docs = [nlp(t) for t in TEXTS + [LONG]]
    model = make_model(tiny_bert)
    whole = model.predict(docs)
    model.attrs["max_batch_items"] = 30  # forces several sub-batches
    split = model.predict(docs)
    numpy.testing.assert_allclose(split.wordpiece_output, whole.wordpiece_output, atol=1e-5)
    mask = whole.wordpieces.attention_mask  # padding positions hold no defined value
    numpy.testing.assert_allclose(split.tensors[-1][mask], whole.tensors[-1][mask], atol=1e-5)


def test_empty_and_wordpiece_less_docs(tiny_bert, nlp):
    model = make_model(tiny_bert)
    docs = [nlp(""), nlp("   "), nlp("the cat")]
    full = model.predict(docs)
    datas = full.doc_data
    assert [len(d.wordpiece_ids) for d in datas] == [0, 0, 2]
    assert [len(d.align.lengths) for d in datas] == [0, 1, 2]
    assert datas[1].wordpiece_output.shape == (0, 32)
    only_empty = model.predict([nlp("   ")])
    assert only_empty.wordpiece_output.shape == (0, 32)


def test_all_hidden_states_on_request(tiny_bert, nlp):
    model = make_model(tiny_bert, transformer_config={"output_hidden_states": True})
    data = model.predict([nlp("the cat sat")]).doc_data[0]
    assert len(data.tensors) == 3  # embeddings + 2 layers
    numpy.testing.assert_allclose(data.last_hidden_state, data.tensors[-1])


@pytest.mark.parametrize("spans", [None, {"@span_getters": "spacy-transformers.strided_spans.v1",
                                           "window": 4, "stride": 3}])
def test_backprop_reaches_the_encoder(tiny_bert, nlp, spans):
    model = make_model(tiny_bert, get_spans=spans)
    docs = [nlp(t) for t in TEXTS + [LONG]]
    full, backprop = model.begin_update(docs)
    d_outputs = [numpy.ones_like(d.wordpiece_output) for d in full.doc_data]
    backprop(d_outputs)
    grads = [p.grad for p in model.encoder.parameters() if p.grad is not None]
    assert grads and any(float(g.abs().sum()) > 0 for g in grads)


def test_model_not_loaded_says_so(tiny_bert, nlp):
    config = {"model": {"@architectures": "spacy-transformers.TransformerModel.v3",
                        "name": str(tiny_bert),
                        "get_spans": {"@span_getters": "spacy-transformers.doc_spans.v1"}}}
    model = registry.resolve(config)["model"]
    with pytest.raises(ValueError, match="E332"):
        model.predict([nlp("the cat")])


def test_missing_model_directory_names_it(tmp_path):
    config = {"model": {"@architectures": "spacy-transformers.TransformerModel.v3",
                        "name": str(tmp_path / "nowhere"),
                        "get_spans": {"@span_getters": "spacy-transformers.doc_spans.v1"}}}
    model = registry.resolve(config)["model"]
    with pytest.raises(OSError, match="E330.*nowhere"):
        model.initialize()
