"""Training words/s of a tok2vec + tagger pipeline on UD English EWT train, same config
widths on both sides: the efficiency tagger config each library's `init config` writes
(shared tok2vec: MultiHashEmbed NORM/PREFIX/SUFFIX/SHAPE, rows 5000/1000/2500/2500, width
96; MaxoutWindowEncoder depth 4, window 1, 3 pieces; tagger with a listener).

Both sides read the same sentences (one Doc per sentence, predicted Docs from the
library's own tokenizer), shuffle them with the same seed, initialize, run WARMUP updates
untimed, then time STEPS calls of `nlp.update(batch, drop=0.1, sgd=optimizer)` on batches
of about BATCH_WORDS words. Words/s counts the predicted tokens updated on. The details
also give inference words/s of the trained pipeline on the EWT dev texts (`nlp.pipe`,
batch 256) and its dev tag accuracy after these few steps (a sanity check, not a score).
Our side runs numpy's BLAS single-threaded, as `python -m nlp_core train` does (see
`single_blas_thread`); spaCy's thinc 8 uses blis, single-threaded by default.

Environment knobs: NLP_CORE_BENCH_STEPS (default 100), NLP_CORE_BENCH_BATCH_WORDS
(default 1000), NLP_CORE_BENCH_WIDTH (default 96), NLP_CORE_BENCH_DEPTH (default 4).
"""
import os
import random
import time

from common import EWT, conllu_texts

TRAIN = EWT / "en_ewt-ud-train.conllu"
DEV = EWT / "en_ewt-ud-dev.conllu"
STEPS = int(os.environ.get("NLP_CORE_BENCH_STEPS", 100))
WARMUP = 5
BATCH_WORDS = int(os.environ.get("NLP_CORE_BENCH_BATCH_WORDS", 1000))
WIDTH = int(os.environ.get("NLP_CORE_BENCH_WIDTH", 96))
DEPTH = int(os.environ.get("NLP_CORE_BENCH_DEPTH", 4))
SEED = 0


def _batches(examples, n_batches):
    """Consecutive batches of about BATCH_WORDS predicted tokens, cycling over examples."""
    batches, batch, words, i = [], [], 0, 0
    while len(batches) < n_batches:
        eg = examples[i % len(examples)]
        i += 1
        batch.append(eg)
        words += len(eg.predicted)
        if words >= BATCH_WORDS:
            batches.append(batch)
            batch, words = [], 0
    return batches


def _measure(nlp, examples, dev_texts, score) -> dict:
    random.Random(SEED).shuffle(examples)
    optimizer = nlp.initialize(lambda: examples)
    batches = _batches(examples, WARMUP + STEPS)
    losses = {}
    for batch in batches[:WARMUP]:
        nlp.update(batch, drop=0.1, sgd=optimizer, losses=losses)
    n_words = 0
    start = time.perf_counter()
    for batch in batches[WARMUP:]:
        nlp.update(batch, drop=0.1, sgd=optimizer, losses=losses)
        n_words += sum(len(eg.predicted) for eg in batch)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    docs = list(nlp.pipe(dev_texts, batch_size=256))
    infer_seconds = time.perf_counter() - start
    infer_words = sum(len(doc) for doc in docs)
    return {
        "metric": "training words/s", "value": n_words / seconds, "higher_is_better": True,
        "details": {"steps": STEPS, "batch_words": BATCH_WORDS, "width": WIDTH,
                    "depth": DEPTH, "words": n_words, "seconds": round(seconds, 2),
                    "inference_words_per_s": round(infer_words / infer_seconds),
                    "dev_tag_acc_after_steps": round(score(), 4)},
    }


def ours(options) -> dict:
    from thinc.api import fix_random_seed

    from nlp_core.cli.init_config import make_training_config
    from nlp_core.language import Language
    from nlp_core.training import Corpus
    from nlp_core.training.loop import single_blas_thread

    fix_random_seed(SEED)
    config = make_training_config("en", ["tagger"], optimize="efficiency", gpu=False)
    config["components"]["tok2vec"]["model"]["encode"]["width"] = WIDTH
    config["components"]["tok2vec"]["model"]["encode"]["depth"] = DEPTH
    nlp = Language.from_config(config)
    examples = list(Corpus(TRAIN)(nlp))
    dev = list(Corpus(DEV)(nlp))

    def score():
        return nlp.evaluate(dev)["tag_acc"]

    with single_blas_thread():  # as `python -m nlp_core train` runs
        return _measure(nlp, examples, conllu_texts(DEV), score)


def spacy(options) -> dict:
    import spacy as spacy_lib
    from spacy.cli.init_config import init_config
    from spacy.training import Example
    from spacy.training.converters import conllu_to_docs
    from thinc.api import fix_random_seed

    fix_random_seed(SEED)
    config = init_config(lang="en", pipeline=["tagger"], optimize="efficiency", gpu=False)
    config["components"]["tok2vec"]["model"]["encode"]["width"] = WIDTH
    config["components"]["tok2vec"]["model"]["encode"]["depth"] = DEPTH
    nlp = spacy_lib.util.load_model_from_config(config, auto_fill=True)

    def read(path):
        docs = conllu_to_docs(path.read_text(encoding="utf8"), n_sents=1, no_print=True)
        return [Example(nlp.make_doc(doc.text), doc) for doc in docs]

    examples = read(TRAIN)
    dev = read(DEV)

    def score():
        return nlp.evaluate(dev)["tag_acc"]

    result = _measure(nlp, examples, conllu_texts(DEV), score)
    result["details"]["spacy_version"] = spacy_lib.__version__
    return result
