"""UD English EWT test scores of trained tok2vec + tagger + parser pipelines, both sides
scored the same way: with gold tokens (one Example per gold sentence, as `evaluate
--gold-preproc` does) and from raw text (each library's tokenizer and sentence splits over
documents of 10 sentences; tokens aligned to the gold ones by character offsets). UAS/LAS
follow spaCy's parser scorer (labels lower-cased, punctuation not scored). Ours also runs
with beam_width = 4.

The pipelines come from the training runs described in benchmarks/README.md:
NLP_CORE_BENCH_PARSER_MODEL (ours, e.g. out/parser_ewt/model-best) and
NLP_CORE_BENCH_SPACY_PARSER_MODEL (spaCy's, trained with `spacy train` on the same .spacy
files). NLP_CORE_BENCH_EWT_TEST is the test set as .spacy documents of 10 sentences
(`python -m nlp_core convert -n 10 .../en_ewt-ud-test.conllu DIR`).
"""
import os
import time
from pathlib import Path

MODEL = os.environ.get("NLP_CORE_BENCH_PARSER_MODEL", "out/parser_ewt/model-best")
SPACY_MODEL = os.environ.get("NLP_CORE_BENCH_SPACY_PARSER_MODEL", "out/spacy_parser_ewt/model-best")
TEST = Path(os.environ.get("NLP_CORE_BENCH_EWT_TEST", "out/ewt/en_ewt-ud-test.spacy"))
KEYS = ("dep_uas", "dep_las", "sents_f", "tag_acc", "token_acc")


def _scores(evaluate, examples) -> dict:
    start = time.perf_counter()
    scores = evaluate(examples)
    out = {k: round(float(scores[k]), 4) for k in KEYS if scores.get(k) is not None}
    out["seconds"] = round(time.perf_counter() - start, 1)
    return out


def _result(details: dict) -> dict:
    return {"metric": "EWT test LAS % (gold tokens)", "value": 100 * details["gold"]["dep_las"],
            "higher_is_better": True, "details": details}


def ours(options) -> dict:
    import nlp_core
    from nlp_core.training import Corpus

    nlp = nlp_core.load(MODEL)
    gold = list(Corpus(TEST, gold_preproc=True)(nlp))
    raw = list(Corpus(TEST)(nlp))
    details = {"model": MODEL, "gold": _scores(nlp.evaluate, gold),
               "raw": _scores(nlp.evaluate, raw)}
    parser = nlp.get_pipe("parser")
    parser.cfg["beam_width"] = 4
    details["gold_beam4"] = _scores(nlp.evaluate, gold)
    details["raw_beam4"] = _scores(nlp.evaluate, raw)
    return _result(details)


def spacy(options) -> dict:
    import spacy as spacy_lib
    from spacy.training import Corpus

    nlp = spacy_lib.load(SPACY_MODEL)
    gold = list(Corpus(TEST, gold_preproc=True)(nlp))
    raw = list(Corpus(TEST)(nlp))
    details = {"model": SPACY_MODEL, "gold": _scores(nlp.evaluate, gold),
               "raw": _scores(nlp.evaluate, raw), "spacy_version": spacy_lib.__version__}
    return _result(details)
