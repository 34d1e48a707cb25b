"""Inference words/s of tok2vec + tagger + parser (optionally + ner) on the UD English EWT
dev texts, same widths on both sides: the efficiency config each library's `init config`
writes (shared tok2vec: MultiHashEmbed NORM/PREFIX/SUFFIX/SHAPE, rows 5000/1000/2500/2500,
width 96; MaxoutWindowEncoder depth 4, window 1, 3 pieces; tagger and parser listening;
parser hidden_width 128, maxout_pieces 3; ner hidden_width 64, maxout_pieces 2).

Both sides initialize on the same EWT train sentences (labels, hence the number of moves,
come from there; the NER gets the UNER dev entities), then time `nlp.pipe(texts,
batch_size=BATCH)` over the 2,001 dev sentences (untimed warm-up pass first, best of
--passes). The weights are untrained: a parse takes 2 transitions per token whatever the
weights, so the work per word is that of a trained pipeline.

Environment knobs: NLP_CORE_BENCH_PIPELINE ("tagger,parser" default, or
"tagger,parser,ner"), NLP_CORE_BENCH_BATCH (nlp.pipe batch_size, default 256),
NLP_CORE_BENCH_TRAIN_SENTS (sentences used to initialize, default 4000).
"""
import os
import time

from common import EWT, SHARED_DATA, best_time, conllu_texts

TRAIN = EWT / "en_ewt-ud-train.conllu"
DEV = EWT / "en_ewt-ud-dev.conllu"
UNER_DEV = SHARED_DATA / "uner_english_ewt" / "en_ewt-ud-dev.iob2"
PIPELINE = os.environ.get("NLP_CORE_BENCH_PIPELINE", "tagger,parser").split(",")
BATCH = int(os.environ.get("NLP_CORE_BENCH_BATCH", 256))
TRAIN_SENTS = int(os.environ.get("NLP_CORE_BENCH_TRAIN_SENTS", 4000))
SEED = 0


def _uner_sentences():
    """(words, IOB2 tags) of each UNER dev sentence (index, token, tag, ... columns)."""
    words, tags = [], []
    for line in UNER_DEV.read_text(encoding="utf8").splitlines() + [""]:
        if not line.strip():
            if words:
                yield words, tags
            words, tags = [], []
        elif not line.startswith("#"):
            cols = line.split("\t")
            words.append(cols[1])
            tags.append(cols[2])


def _measure(nlp, texts, passes: int) -> dict:
    n_words = sum(len(doc) for doc in nlp.pipe(texts, batch_size=BATCH))
    seconds = best_time(lambda: list(nlp.pipe(texts, batch_size=BATCH)), passes, warmup=0)
    return {"metric": "words/s", "value": n_words / seconds, "higher_is_better": True,
            "details": {"pipeline": nlp.pipe_names, "words": n_words,
                        "seconds": round(seconds, 3), "batch_size": BATCH}}


def _n_moves(nlp) -> dict:
    out = {}
    for name in ("parser", "ner"):
        if name in nlp.pipe_names:
            out[f"{name}_moves"] = len(nlp.get_pipe(name).move_names)
    return out


def ours(options) -> dict:
    from thinc.api import fix_random_seed

    from nlp_core.cli.init_config import make_training_config
    from nlp_core.language import Language
    from nlp_core.training import Corpus

    fix_random_seed(SEED)
    config = make_training_config("en", PIPELINE, optimize="efficiency", gpu=False)
    nlp = Language.from_config(config)
    examples = list(Corpus(TRAIN, limit=TRAIN_SENTS)(nlp))
    if "ner" in PIPELINE:
        examples += list(Corpus(UNER_DEV)(nlp))
    nlp.initialize(lambda: examples)
    result = _measure(nlp, conllu_texts(DEV), options.passes)
    result["details"].update(_n_moves(nlp))
    return result


def spacy(options) -> dict:
    import spacy as spacy_lib
    from spacy.cli.init_config import init_config
    from spacy.tokens import Doc
    from spacy.training import Example
    from spacy.training.converters import conllu_to_docs
    from thinc.api import fix_random_seed

    fix_random_seed(SEED)
    config = init_config(lang="en", pipeline=PIPELINE, optimize="efficiency", gpu=False)
    nlp = spacy_lib.util.load_model_from_config(config, auto_fill=True)
    docs = conllu_to_docs(TRAIN.read_text(encoding="utf8"), n_sents=1, no_print=True)
    examples = [Example(nlp.make_doc(doc.text), doc)
                for _, doc in zip(range(TRAIN_SENTS), docs)]
    if "ner" in PIPELINE:
        for words, tags in _uner_sentences():
            doc = Doc(nlp.vocab, words=words, ents=tags)
            examples.append(Example(nlp.make_doc(doc.text), doc))
    start = time.perf_counter()
    nlp.initialize(lambda: examples)
    result = _measure(nlp, conllu_texts(DEV), options.passes)
    result["details"].update(_n_moves(nlp))
    result["details"]["init_seconds"] = round(time.perf_counter() - start, 1)
    result["details"]["spacy_version"] = spacy_lib.__version__
    return result
