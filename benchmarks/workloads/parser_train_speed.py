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


def _measure(nlp, examples, set_cut) -> dict:
    optimizer = nlp.initialize(lambda: examples)
    batches = _batches(examples)
    for batch in batches[:WARMUP]:
        nlp.update(batch, drop=0.1, sgd=optimizer)
    rates = {}
    for cut in (100, 0):
        set_cut(cut)
        start = time.perf_counter()
        for batch in batches[WARMUP:]:
            nlp.update(batch, drop=0.1, sgd=optimizer)
        rates[cut] = len(batches[WARMUP:]) / (time.perf_counter() - start)
    words = sum(len(eg.predicted) for batch in batches[WARMUP:] for eg in batch)
    return {"metric": "steps/s (cut 100)", "value": rates[100], "higher_is_better": True,
            "details": {"steps_per_s_cut0": round(rates[0], 3),
                        "ratio_cut100_over_cut0": round(rates[100] / rates[0], 3),
                        "steps": len(batches) - WARMUP, "words_per_step": round(words / STEPS),
                        "docs": DOCS, "batch_words": BATCH_WORDS}}


def ours(options) -> dict:
    from thinc.api import fix_random_seed

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
    return _measure(nlp, examples,
                    lambda cut: parser.cfg.__setitem__("update_with_oracle_cut_size", cut))


def spacy(options) -> dict:
    import spacy as spacy_lib
    from spacy.cli.init_config import init_config
    from spacy.tokens import Doc
    from spacy.training import Example
    from spacy.training.converters import conllu_to_docs
    from thinc.api import fix_random_seed

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
                      lambda cut: parser.cfg.__setitem__("update_with_oracle_cut_size", cut))
    result["details"]["spacy_version"] = spacy_lib.__version__
    return result
