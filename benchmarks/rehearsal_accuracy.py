"""Rehearsal: accuracy (issue 18). Fine-tune en_ewt_sm's NER on 300 sentences of a new
label and measure what the pipeline forgets, without and with rehearsal on unlabelled EWT
text.

The new label, DATE, is built by a rule: weekday and month names (not "May" / "March",
which are mostly other words) in EWT train sentences; every other token of those sentences
is O, as a user who annotates only the new label would give them (so the fine-tuning data
also tells the NER that the old entities in them are not entities: the classic set-up for
forgetting). Both arms load en_ewt_sm, add the label, take the same optimizer and the same
batches; the shared tok2vec learns with the NER (the tagger, UPOS tagger and parser are not
updated on the new data, but see the changed embedding). The rehearsal arm calls
`nlp.resume_training()` (a frozen copy of the pipeline) and after every update
`nlp.rehearse()` on a batch of other EWT train sentences as raw text (every component
learns to keep the copy's outputs there).

Reported, before and after each arm: the old labels' (PER, ORG, LOC) micro F on UNER test
(raw text), the parser's LAS and the XPOS accuracy on EWT test (gold tokens), and the new
label's F on the other rule-annotated sentences (390 in EWT train: 90 held out with
--n-train 300), to show that it was learned.

    OPENBLAS_NUM_THREADS=1 nice -n 5 python benchmarks/rehearsal_accuracy.py [--epochs 10]
        [--n-train 300] [--seed 0] [--out out/rehearsal_accuracy]
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
from nlp_core.formats.conllu import read_conllu_sentences
from nlp_core.formats.iob import read_iob
from nlp_core.training import Corpus, Example

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


def run_arm(arm: str, train, raw_texts, epochs: int, seed: int, learn_rate: float):
    """One arm: "plain" (no rehearsal), "rehearse" (every component rehearses and steps),
    "rehearse-frozen" (every component rehearses, so the parser and taggers pull the shared
    tok2vec towards keeping their outputs, but only tok2vec and ner change their weights,
    as in the plain arm). One optimizer step per batch in every arm: the fine-tuning and
    rehearsal gradients are summed (two steps would double the tok2vec's drift)."""
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
                        help="comma-separated among plain, rehearse-frozen, rehearse (see "
                        "run_arm)")
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
    for arm in args.arms.split(","):
        name = arms[arm]
        nlp, seconds = run_arm(arm, train, others, args.epochs, args.seed, args.learn_rate)
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
