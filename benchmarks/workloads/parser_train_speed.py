"""Training steps/s of tok2vec + tagger + parser with update_with_oracle_cut_size = 100
against 0 (whole documents), same batches, same run.

Data: UD English EWT train grouped into its documents (`# newdoc`; median 158 tokens,
some several thousand), or with NLP_CORE_BENCH_DOCS=10 into documents of 10 sentences as
`convert -n 10` writes them. Predicted docs are each library's own tokenization of the
document text. Batches: consecutive documents (after a seeded shuffle) until at least
BATCH_WORDS words, so a long document is a batch by itself. Pipeline: the efficiency config
of `init config -p tagger,parser` (tok2vec width 96 depth 4; parser hidden_width 128,
maxout_pieces 3).

Per side: initialize, WARMUP untimed updates, then the same STEPS batches with cut 100 and
with cut 0 (`nlp.update(batch, drop=0.1, sgd=optimizer)`, the pipeline keeps training
between the two). The value is steps/s with cut 100; details give steps/s with cut 0 and
the ratio cut100 / cut0.

Parser only (the part `update_with_oracle_cut_size` changes): the tok2vec's training
output of each batch (`begin_update` with dropout 0.1) is computed once, untimed, and handed
to the parser's listener as the tok2vec component does in training, with a backprop
callback that drops the gradient; then only `parser.update(batch, drop=0.1, sgd=optimizer)`
is timed (golds, oracle cuts, the transition loop, loss, backprop through the parser's
layers down to the listener, the parser's optimizer step). The tok2vec forward/backward
and the tagger are left out: their cost is the same for both cut settings. One pass with
cut 100, then one with cut 0, over the same batches, after the whole-pipeline passes.

Environment knobs: NLP_CORE_BENCH_STEPS (default 60), NLP_CORE_BENCH_BATCH_WORDS (1000),
NLP_CORE_BENCH_DOCS ("newdoc" default, or a number of sentences per document).
"""
import os
import random
import time

from common import EWT

TRAIN = EWT / "en_ewt-ud-train.conllu"
STEPS = int(os.environ.get("NLP_CORE_BENCH_STEPS", 60))
WARMUP = 5
BATCH_WORDS = int(os.environ.get("NLP_CORE_BENCH_BATCH_WORDS", 1000))
DOCS = os.environ.get("NLP_CORE_BENCH_DOCS", "newdoc")
SEED = 0


def _doc_sizes(n_sents_total: int):
    """Sentences per document, in file order."""
    if DOCS != "newdoc":
        n = int(DOCS)
        return [min(n, n_sents_total - i) for i in range(0, n_sents_total, n)]
    sizes = []
    with open(TRAIN, encoding="utf8") as file_:
        for line in file_:
            if line.startswith("# newdoc"):
                sizes.append(0)
            elif line.startswith("# sent_id"):
                sizes[-1] += 1
    return sizes


def _group(sentence_docs, from_docs):
    out, start = [], 0
    for size in _doc_sizes(len(sentence_docs)):
        out.append(from_docs(sentence_docs[start:start + size]))
        start += size
    return out


def _batches(examples):
    random.Random(SEED).shuffle(examples)
    batches, batch, words = [], [], 0
    for eg in examples:
        batch.append(eg)
        words += len(eg.predicted)
        if words >= BATCH_WORDS:
            batches.append(batch)
            batch, words = [], 0
            if len(batches) == WARMUP + STEPS:
                break
    return batches


def _no_gradient(d_tokvecs):
    return []


def _no_sync() -> None:
    return None


def _parser_only(nlp, batches, optimizer, set_cut, set_dropout_rate, sync=_no_sync) -> dict:
    """steps/s of `parser.update` alone per cut setting (see the module docstring)."""
    tok2vec, parser = nlp.get_pipe("tok2vec"), nlp.get_pipe("parser")
    nodes = set(id(node) for node in parser.model.walk())
    listeners = [node for node in tok2vec.listeners if id(node) in nodes]
    set_dropout_rate(tok2vec.model, 0.1)
    feeds = []
    for batch in batches:
        docs = [eg.predicted for eg in batch]
        outputs, _ = tok2vec.model.begin_update(docs)
        feeds.append((listeners[0].get_batch_id(docs), outputs))
    rates = {}
    for cut in (100, 0):
        set_cut(cut)
        elapsed = 0.0
        for batch, (key, outputs) in zip(batches, feeds):
            for listener in listeners:
                listener.receive(key, outputs, _no_gradient)
            sync()
            start = time.perf_counter()
            parser.update(batch, drop=0.1, sgd=optimizer)
            sync()
            elapsed += time.perf_counter() - start
        rates[cut] = len(batches) / elapsed
    return rates


def _measure(nlp, examples, set_cut, set_dropout_rate, sync=_no_sync) -> dict:
    """sync: waits for the device's queued work (on GPU), before each timer reads."""
    optimizer = nlp.initialize(lambda: examples)
    batches = _batches(examples)
    for batch in batches[:WARMUP]:
        nlp.update(batch, drop=0.1, sgd=optimizer)
    rates = {}
    for cut in (100, 0):
        set_cut(cut)
        sync()
        start = time.perf_counter()
        for batch in batches[WARMUP:]:
            nlp.update(batch, drop=0.1, sgd=optimizer)
        sync()
        rates[cut] = len(batches[WARMUP:]) / (time.perf_counter() - start)
    parser_rates = _parser_only(nlp, batches[WARMUP:], optimizer, set_cut, set_dropout_rate,
                                sync)
    words = sum(len(eg.predicted) for batch in batches[WARMUP:] for eg in batch)
    return {"metric": "steps/s (cut 100)", "value": rates[100], "higher_is_better": True,
            "details": {"steps_per_s_cut0": round(rates[0], 3),
                        "ratio_cut100_over_cut0": round(rates[100] / rates[0], 3),
                        "parser_only_steps_per_s_cut100": round(parser_rates[100], 3),
                        "parser_only_steps_per_s_cut0": round(parser_rates[0], 3),
                        "parser_only_ratio_cut100_over_cut0":
                            round(parser_rates[100] / parser_rates[0], 3),
                        "steps": len(batches) - WARMUP, "words_per_step": round(words / STEPS),
                        "docs": DOCS, "batch_words": BATCH_WORDS}}


def ours(options, *, c_forward: bool = True, sync=_no_sync) -> dict:
    """Our side. c_forward: the parser's step loop in C (the default; on GPU on host copies)
    or the numpy/cupy loop (one device round trip per transition on GPU). Under thinc's
    `require_gpu()` the pipeline is built on the GPU; pass `sync` then."""
    from thinc.api import fix_random_seed, set_dropout_rate

    from nlp_core.cli.init_config import make_training_config
    from nlp_core.formats.conllu import read_conllu
    from nlp_core.language import Language
    from nlp_core.tokens import Doc
    from nlp_core.training import Example

    fix_random_seed(SEED)
    nlp = Language.from_config(make_training_config("en", ["tagger", "parser"]))
    references = _group(list(read_conllu(TRAIN, vocab=nlp.vocab)), Doc.from_docs)
    examples = [Example(nlp.make_doc(doc.text), doc) for doc in references]
    parser = nlp.get_pipe("parser")
    parser.model.attrs["c_forward"] = c_forward
    result = _measure(nlp, examples,
                      lambda cut: parser.cfg.__setitem__("update_with_oracle_cut_size", cut),
                      set_dropout_rate, sync)
    result["details"]["parser_step_loop"] = "C" if c_forward else "array ops"
    return result


def spacy(options) -> dict:
    import spacy as spacy_lib
    from spacy.cli.init_config import init_config
    from spacy.tokens import Doc
    from spacy.training import Example
    from spacy.training.converters import conllu_to_docs
    from thinc.api import fix_random_seed, set_dropout_rate

    fix_random_seed(SEED)
    config = init_config(lang="en", pipeline=["tagger", "parser"], optimize="efficiency",
                         gpu=False)
    nlp = spacy_lib.util.load_model_from_config(config, auto_fill=True)
    sentences = list(conllu_to_docs(TRAIN.read_text(encoding="utf8"), n_sents=1,
                                    no_print=True))
    references = _group(sentences, Doc.from_docs)
    examples = [Example(nlp.make_doc(doc.text), doc) for doc in references]
    parser = nlp.get_pipe("parser")
    result = _measure(nlp, examples,
                      lambda cut: parser.cfg.__setitem__("update_with_oracle_cut_size", cut),
                      set_dropout_rate)
    result["details"]["spacy_version"] = spacy_lib.__version__
    return result
