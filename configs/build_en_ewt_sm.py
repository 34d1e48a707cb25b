"""Build the shipped default English pipeline `en_ewt_sm` from ../shared/data.

    python configs/build_en_ewt_sm.py --data ../shared/data --work out/en_ewt_sm

Steps (each can be rerun on its own with --steps):
  prepare  EWT CoNLL-U + UNER IOB2 -> .spacy training/dev/test files in WORK/corpus
           (documents of 10 sentences; the UNER entities of EWT dev are merged into the same
           sentences' trees, checked word by word).
  train    `python -m nlp_core train configs/en_ewt_sm.cfg` into WORK/training.
  score    EWT test (gold tokens, and raw text through the pipeline's own tokenizer) and
           UNER test (raw text) with `nlp_core evaluate`, into WORK/scores.
  install  copy WORK/training/model-last to nlp_core/models/en_ewt_sm with the scores,
           data sources and licences in its meta.json.

The shipped model is the last step's (7,200 steps, no early stop), scored and installed:
the held-out dev set (400 sentences) is too small for its NER F to pick a checkpoint (it
swings by 5-10 points between evaluations, and a spike at step 2,000 made model-best an
early, weaker parser once); model-best is still written, for comparison.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterable, List

import srsly

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "configs" / "en_ewt_sm.cfg"
TARGET = REPO / "nlp_core" / "models" / "en_ewt_sm"
NAME, VERSION = "en_ewt_sm", "1.0.0"   # meta.json's name is NAME without "en_", as spaCy's
N_SENTS = 10
DEV_HELD_OUT = 400     # last sentences of EWT dev kept for model selection
NER_REPEATS = 3        # the entity-annotated training documents are seen this many times
STEPS = ("prepare", "train", "score", "install")


def _ner_tags(doc) -> List[str]:
    return [t.ent_iob_ + (f"-{t.ent_type_}" if t.ent_type_ else "") for t in doc]


def _sent_ids(path: Path) -> List[str]:
    """The `# sent_id = ` of every sentence of a CoNLL-U or IOB2 file, in file order."""
    with open(path, encoding="utf8") as file_:
        return [line.split("=", 1)[1].strip() for line in file_
                if line.startswith("# sent_id")]


def _merge_uner(sentences, ewt_path: Path, uner_docs, uner_path: Path) -> None:
    """Set `sent.ner` from the UNER sentence with the same sent_id, checking the words."""
    ewt_ids, uner_ids = _sent_ids(ewt_path), _sent_ids(uner_path)
    if len(ewt_ids) != len(sentences) or len(uner_ids) != len(uner_docs):
        raise SystemExit(f"every sentence of {ewt_path} and {uner_path} needs a sent_id")
    by_id = dict(zip(uner_ids, uner_docs))
    if set(by_id) != set(ewt_ids):
        raise SystemExit(f"{ewt_path} and {uner_path} hold different sentences: they must "
                         "come from the same EWT release")
    for sent_id, sent in zip(ewt_ids, sentences):
        doc = by_id[sent_id]
        if [t.text for t in doc] == sent.words:
            sent.ner = _ner_tags(doc)
        else:   # a few sentences are tokenised differently: align by characters
            sent.ner = _realign(sent_id, sent.words, doc)


def _realign(sent_id: str, words: List[str], doc) -> List[str]:
    """IOB tags on `words` for the entities of `doc`, whose tokens differ but whose
    characters (spaces aside) are the same."""
    if "".join(words) != "".join(t.text for t in doc):
        raise SystemExit(f"sentence {sent_id} has different text in EWT and UNER")
    starts, ends, offset = {}, {}, 0
    for i, word in enumerate(words):
        starts[offset] = i
        offset += len(word)
        ends[offset] = i
    token_offsets = [0]
    for token in doc:
        token_offsets.append(token_offsets[-1] + len(token.text))
    tags = ["O"] * len(words)
    for ent in doc.ents:
        start, end = token_offsets[ent.start], token_offsets[ent.end]
        if start not in starts or end not in ends:
            raise SystemExit(f"entity {ent.text!r} of sentence {sent_id} does not fall on "
                             "EWT word boundaries")
        first, last = starts[start], ends[end]
        tags[first] = f"B-{ent.label_}"
        for i in range(first + 1, last + 1):
            tags[i] = f"I-{ent.label_}"
    return tags


def _docs(vocab, sentences) -> Iterable:
    from nlp_core.formats.conllu import sentences_to_doc

    for start in range(0, len(sentences), N_SENTS):
        yield sentences_to_doc(vocab, sentences[start:start + N_SENTS])


def prepare(data: Path, corpus: Path) -> None:
    from nlp_core.formats.conllu import read_conllu_sentences
    from nlp_core.formats.iob import read_iob
    from nlp_core.tokens import DocBin
    from nlp_core.vocab import Vocab

    ewt, uner = data / "ud_english_ewt", data / "uner_english_ewt"
    corpus.mkdir(parents=True, exist_ok=True)
    vocab = Vocab()
    train = list(read_conllu_sentences(ewt / "en_ewt-ud-train.conllu"))
    dev = list(read_conllu_sentences(ewt / "en_ewt-ud-dev.conllu"))
    _merge_uner(dev, ewt / "en_ewt-ud-dev.conllu",
                list(read_iob(uner / "en_ewt-ud-dev.iob2", vocab=vocab)),
                uner / "en_ewt-ud-dev.iob2")
    dev_train, dev_held = dev[:-DEV_HELD_OUT], dev[-DEV_HELD_OUT:]
    train_docs = list(_docs(vocab, train)) + list(_docs(vocab, dev_train)) * NER_REPEATS
    outputs = {
        "train.spacy": train_docs,
        "dev.spacy": list(_docs(vocab, dev_held)),
        "ewt-test.spacy": list(_docs(vocab, list(
            read_conllu_sentences(ewt / "en_ewt-ud-test.conllu")))),
        "uner-test.spacy": list(read_iob(uner / "en_ewt-ud-test.iob2", vocab=vocab,
                                         n_sents=N_SENTS)),
    }
    for name, docs in outputs.items():
        DocBin(docs=docs, store_user_data=False).to_disk(corpus / name)
        print(f"prepare: {corpus / name}: {len(docs)} documents, "
              f"{sum(len(d) for d in docs)} tokens")


def train(corpus: Path, training: Path, extra: List[str]) -> None:
    command = [sys.executable, "-m", "nlp_core", "train", str(CONFIG), "--output",
               str(training), "--paths.train", str(corpus / "train.spacy"),
               "--paths.dev", str(corpus / "dev.spacy"), *extra]
    print("train:", " ".join(command), flush=True)
    subprocess.run(command, check=True)


def score(data: Path, corpus: Path, model: Path, scores: Path) -> Dict[str, Dict]:
    from nlp_core.cli.evaluate import evaluate

    runs = {
        "ewt_test_gold_tokens": (data / "ud_english_ewt" / "en_ewt-ud-test.conllu", True),
        "ewt_test_raw_text": (corpus / "ewt-test.spacy", False),
        "uner_test_raw_text": (corpus / "uner-test.spacy", False),
    }
    results = {}
    for name, (path, gold_preproc) in runs.items():
        print(f"score: {name}", flush=True)
        results[name] = evaluate(str(model), path, output=scores / f"{name}.json",
                                 gold_preproc=gold_preproc)
    return results


_KEEP = {
    "ewt_test_gold_tokens": ("tag_acc", "pos_acc", "dep_uas", "dep_las", "sents_f"),
    "ewt_test_raw_text": ("token_acc", "tag_acc", "pos_acc", "dep_uas", "dep_las", "sents_f"),
    "uner_test_raw_text": ("ents_p", "ents_r", "ents_f", "ents_per_type"),
}


def install(model: Path, scores_dir: Path) -> None:
    if TARGET.exists():
        shutil.rmtree(TARGET)
    shutil.copytree(model, TARGET)
    meta = srsly.read_json(TARGET / "meta.json")
    performance = {}
    for name, keys in _KEEP.items():
        scores = srsly.read_json(scores_dir / f"{name}.json")
        performance[name] = {key: scores.get(key) for key in keys}
    meta.update({
        "name": NAME[len("en_"):],
        "version": VERSION,
        "description": "English tok2vec + XPOS tagger + UPOS tagger + dependency parser + "
                       "NER (PER/ORG/LOC), CPU-sized, trained on UD English EWT and UNER "
                       "English-EWT by configs/build_en_ewt_sm.py",
        "license": "CC BY-SA 4.0",
        "sources": [
            {"name": "UD English EWT", "url": "https://universaldependencies.org/treebanks/en_ewt/",
             "license": "CC BY-SA 4.0"},
            {"name": "UNER English-EWT", "url": "https://www.universalner.org/",
             "license": "CC BY-SA 4.0"},
        ],
        "performance": performance,
        "dev_performance": meta.get("performance", {}),
    })
    srsly.write_json(TARGET / "meta.json", meta)
    size = sum(p.stat().st_size for p in TARGET.rglob("*") if p.is_file())
    print(f"install: {TARGET} ({size / 1e6:.1f} MB)")
    if size > 25e6:
        raise SystemExit(f"{TARGET} is {size / 1e6:.1f} MB, over the 25 MB limit for a "
                         "shipped pipeline: use smaller hash tables or widths in the config")


def main(argv: List[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data",
                        help="the shared data folder (ud_english_ewt/, uner_english_ewt/)")
    parser.add_argument("--work", type=Path, default=REPO / "out" / NAME,
                        help="folder for the corpus files, training output and scores")
    parser.add_argument("--steps", default=",".join(STEPS),
                        help=f"comma-separated subset of {','.join(STEPS)} (default: all)")
    args, extra = parser.parse_known_args(argv)
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        parser.error(f"unknown step(s) {unknown}; choose from {list(STEPS)}")
    corpus, training, scores = args.work / "corpus", args.work / "training", args.work / "scores"
    if "prepare" in steps:
        prepare(args.data, corpus)
    if "train" in steps:
        train(corpus, training, extra)
    if "score" in steps:
        score(args.data, corpus, training / "model-last", scores)
    if "install" in steps:
        install(training / "model-last", scores)


if __name__ == "__main__":
    main()
