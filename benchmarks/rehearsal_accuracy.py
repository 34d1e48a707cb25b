"""Rehearsal: accuracy (issue 18). Fine-tune en_ewt_sm's NER on 300 sentences of a new
label and measure what the pipeline forgets, without and with rehearsal on unlabelled EWT
text.

The new label, DATE, is built by a rule: weekday and month names (not "May" / "March",
which are mostly other words) in EWT train sentences; every other token of those sentences
is O, as a user who annotates only the new label would give them (so the fine-tuning data
also tells the NER that the old entities in them are not entities: the classic set-up for
forgetting). The arms "plain" and "rehearse-frozen" are what a user runs, as a config:
en_ewt_sm fine-tuned with `resume_nlp` + `train` (`python -m nlp_core train CONFIG
--resume-from en_ewt_sm`), the tagger, UPOS tagger and parser in `frozen_components` (not
updated on the new data, but they see the changed embedding), batches of 16 sentences,
Adam; "rehearse-frozen" adds `[training] rehearse_corpus` over other EWT train sentences as
raw text (JSONL): after every update every component learns to keep the outputs of the
copy made when training starts, the frozen heads with their weights fixed, through the
shared tok2vec. The arm "rehearse" (every head also steps on its rehearsal gradient) is not
a config setting; it runs by hand with `nlp.resume_training()` / `nlp.rehearse()`.

Reported, before and after each arm: the old labels' (PER, ORG, LOC) micro F on UNER test
(raw text), the parser's LAS and the XPOS accuracy on EWT test (gold tokens), and the new
label's F on the other rule-annotated sentences (390 in EWT train: 90 held out with
--n-train 300), to show that it was learned.

    OPENBLAS_NUM_THREADS=1 nice -n 5 python benchmarks/rehearsal_accuracy.py [--epochs 10]
        [--n-train 300] [--seed 0] [--out out/rehearsal_accuracy] [--arms plain,rehearse]
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

import srsly
from thinc.api import Adam, fix_random_seed

import nlp_core
from nlp_core.config import fill_config, get_default_config
from nlp_core.formats.conllu import read_conllu_sentences
from nlp_core.formats.iob import read_iob
from nlp_core.tokens import DocBin
from nlp_core.training import Corpus, Example
from nlp_core.training.loop import train as train_pipeline
from nlp_core.training.resume import resume_config, resume_nlp

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
EWT = DATA / "ud_english_ewt"
OLD_LABELS = ("PER", "ORG", "LOC")
NEW_LABEL = "DATE"
NAMES = ("Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|January|February|April|"
         "June|July|August|September|October|November|December")
RULE = re.compile(rf"\b(?:{NAMES})\b")
BATCH = 16


def rule_sentences(texts: List[str]) -> Tuple[List[Tuple[str, list]], List[str]]:
    """(text, [(start_char, end_char, DATE)]) of the sentences the rule fires on, and the
    other sentences' texts."""
    hits, others = [], []
    for text in texts:
        spans = [(m.start(), m.end(), NEW_LABEL) for m in RULE.finditer(text)]
        (hits if spans else others).append((text, spans) if spans else text)
    return hits, others


def old_label_f(nlp, uner_examples) -> Dict[str, float]:
    """Micro P/R/F of the old labels over UNER test (raw text through the pipeline)."""
    docs = list(nlp.pipe([eg.reference.text for eg in uner_examples]))
    tp = fp = fn = 0
    for doc, eg in zip(docs, uner_examples):
        pred = {(e.start_char, e.end_char, e.label_) for e in doc.ents if e.label_ in OLD_LABELS}
        gold = {(e.start_char, e.end_char, e.label_) for e in eg.reference.ents
                if e.label_ in OLD_LABELS}
        tp += len(pred & gold)
        fp += len(pred - gold)
        fn += len(gold - pred)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"p": p, "r": r, "f": 2 * p * r / (p + r) if p + r else 0.0}


def new_label_f(nlp, held_out: List[Tuple[str, list]]) -> float:
    tp = fp = fn = 0
    for doc, (_, spans) in zip(nlp.pipe([t for t, _ in held_out]), held_out):
        pred = {(e.start_char, e.end_char) for e in doc.ents if e.label_ == NEW_LABEL}
        gold = {(s, e) for s, e, _ in spans}
        tp += len(pred & gold)
        fp += len(pred - gold)
        fn += len(gold - pred)
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def scores(nlp, ewt_test, uner_test, held_out) -> Dict[str, float]:
    ewt = nlp.evaluate(ewt_test)
    old = old_label_f(nlp, uner_test)
    return {"old_ents_f": old["f"], "old_ents_p": old["p"], "old_ents_r": old["r"],
            "dep_las": ewt["dep_las"], "tag_acc": ewt["tag_acc"],
            "new_label_f": new_label_f(nlp, held_out)}


def write_data(base, train_spans, held_out, raw_texts, seed: int, folder: Path) -> Dict[str, Path]:
    """The fine-tuning sentences and the held-out ones as .spacy (DATE entities, every other
    token O), the raw text as JSONL in a shuffled order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"train": folder / "date_train.spacy", "dev": folder / "date_dev.spacy",
             "raw_text": folder / "raw.jsonl"}
    for key, items in (("train", train_spans), ("dev", held_out)):
        docbin = DocBin()
        for text, spans in items:
            docbin.add(Example.from_dict(base.make_doc(text), {"entities": spans}).reference)
        docbin.to_disk(paths[key])
    raw = list(raw_texts)
    random.Random(seed).shuffle(raw)
    srsly.write_jsonl(paths["raw_text"], [{"text": text} for text in raw])
    return paths


def finetune_config(base, paths: Dict[str, Path], *, rehearse: bool, epochs: int, seed: int,
                    learn_rate: float):
    """The fine-tuning config over en_ewt_sm's own (as `train --resume-from` builds it)."""
    frozen = [name for name in base.pipe_names if name not in ("tok2vec", "ner")]
    weights = {key: None for key in base.config["training"]["score_weights"]}
    user = {
        "paths": {key: str(path) for key, path in paths.items()},
        "system": {"seed": seed},
        "corpora": {"raw": {"@readers": "nlp_core.JsonlCorpus.v1",
                            "path": "${paths.raw_text}"}},
        "training": {"max_epochs": epochs, "max_steps": 0, "patience": 0,
                     "eval_frequency": 10 ** 6, "dropout": 0.0, "frozen_components": frozen,
                     "rehearse_corpus": "corpora.raw" if rehearse else None,
                     "score_weights": {**weights, "ents_f": 1.0},
                     "batcher": {"@batchers": "nlp_core.batch_by_sequence.v1", "size": BATCH,
                                 "get_length": None},
                     "optimizer": {"@optimizers": "Adam.v1", "learn_rate": learn_rate,
                                   "L2": 0.0, "use_averages": False}},
    }
    return fill_config(get_default_config().merge(resume_config(base, user)))


def run_config_arm(arm: str, paths: Dict[str, Path], epochs: int, seed: int,
                   learn_rate: float):
    """"plain" or "rehearse-frozen" as a config: resume_nlp + train."""
    base = nlp_core.load("en_ewt_sm")
    config = finetune_config(base, paths, rehearse=arm != "plain", epochs=epochs, seed=seed,
                             learn_rate=learn_rate)
    nlp = resume_nlp(config, base)
    start = time.perf_counter()
    train_pipeline(nlp, None)
    return nlp, time.perf_counter() - start


def run_arm(arm: str, train, raw_texts, epochs: int, seed: int, learn_rate: float):
    """The arm "rehearse" by hand: every component rehearses and steps (the config form
    cannot step frozen heads on their rehearsal gradient alone). One optimizer step per
    batch: the fine-tuning and rehearsal gradients are summed (two steps would double the
    tok2vec's drift)."""
    fix_random_seed(seed)
    nlp = nlp_core.load("en_ewt_sm")
    nlp.get_pipe("ner").add_label(NEW_LABEL)
    optimizer = nlp.resume_training(sgd=Adam(learn_rate))
    examples = [Example.from_dict(nlp.make_doc(text), {"entities": spans})
                for text, spans in train]
    rng = random.Random(seed)
    raw = list(raw_texts)
    rng.shuffle(raw)
    frozen = [name for name in nlp.pipe_names if name not in ("tok2vec", "ner")]
    # "rehearse-frozen": the heads that are not fine-tuned rehearse with fixed weights
    held = frozen if arm == "rehearse-frozen" else []
    position = 0
    losses: Dict[str, float] = {}
    start = time.perf_counter()
    for _ in range(epochs):
        rng.shuffle(examples)
        for i in range(0, len(examples), BATCH):
            nlp.update(examples[i:i + BATCH], sgd=False, losses=losses, exclude=frozen)
            if arm != "plain":
                texts = raw[position:position + BATCH]
                position = (position + BATCH) % max(1, len(raw) - BATCH)
                batch = [Example(doc, doc) for doc in map(nlp.make_doc, texts)]
                nlp.rehearse(batch, sgd=False, losses=losses, frozen=held)
            for name, proc in nlp.pipeline:
                if getattr(proc, "is_trainable", False) and (
                        arm == "rehearse" or name not in frozen):
                    proc.finish_update(optimizer)
    return nlp, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--n-train", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--learn-rate", type=float, default=0.001)
    parser.add_argument("--out", type=Path, default=REPO / "out" / "rehearsal_accuracy")
    parser.add_argument("--arms", default="plain,rehearse-frozen,rehearse",
                        help="comma-separated among plain, rehearse-frozen (config: "
                        "run_config_arm), rehearse (by hand: run_arm)")
    args = parser.parse_args()
    texts = [s.text for s in read_conllu_sentences(EWT / "en_ewt-ud-train.conllu")]
    base = nlp_core.load("en_ewt_sm")
    hits, others = rule_sentences(texts)
    # the rule's spans must fall on the tokenizer's tokens ("Sundays", "May-June" do not)
    hits = [(text, spans) for text, spans in hits
            if all(base.make_doc(text).char_span(s, e) is not None for s, e, _ in spans)]
    rng = random.Random(args.seed)
    rng.shuffle(hits)
    if len(hits) < args.n_train + 50:
        raise SystemExit(f"the rule found {len(hits)} sentences; need {args.n_train + 50}")
    train, held_out = hits[:args.n_train], hits[args.n_train:]
    ewt_test = list(Corpus(EWT / "en_ewt-ud-test.conllu", gold_preproc=True)(base))
    uner_docs = list(read_iob(DATA / "uner_english_ewt" / "en_ewt-ud-test.iob2",
                              vocab=base.vocab, n_sents=10))
    uner_test = [Example(base.make_doc(doc.text), doc) for doc in uner_docs]
    results = {"before": scores(base, ewt_test, uner_test, held_out)}
    print(f"{len(hits)} rule sentences: {len(train)} fine-tuning, {len(held_out)} held out; "
          f"{len(others)} other EWT train sentences as raw text", flush=True)
    print("before:", results["before"], flush=True)
    arms = {"plain": "fine-tuned", "rehearse-frozen": "fine-tuned + rehearsal",
            "rehearse": "fine-tuned + rehearsal, all heads step"}
    paths = write_data(base, train, held_out, others, args.seed, args.out / "data")
    for arm in args.arms.split(","):
        name = arms[arm]
        if arm == "rehearse":
            nlp, seconds = run_arm(arm, train, others, args.epochs, args.seed, args.learn_rate)
        else:
            nlp, seconds = run_config_arm(arm, paths, args.epochs, args.seed, args.learn_rate)
        results[name] = {**scores(nlp, ewt_test, uner_test, held_out), "seconds": seconds}
        print(f"{name}:", results[name], flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    srsly.write_json(args.out / f"results_seed{args.seed}.json", results)
    names = list(results)
    print("| score | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for key, label in (("old_ents_f", "old labels F (UNER test, raw text)"),
                       ("dep_las", "LAS (EWT test, gold tokens)"),
                       ("tag_acc", "XPOS (EWT test, gold tokens)"),
                       ("new_label_f", f"{NEW_LABEL} F ({len(held_out)} held-out sentences)")):
        print(f"| {label} | " + " | ".join(f"{100 * results[n][key]:.2f}" for n in names)
              + " |")


if __name__ == "__main__":
    sys.exit(main())
