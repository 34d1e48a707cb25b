"""Static vectors: accuracy (issue 13). en_ewt_sm's recipe trained twice on the same corpus
with the same steps, without (configs/en_ewt_sm_v1.cfg, en_ewt_sm v1) and with GloVe 6B 50d as static
vectors (configs/en_ewt_sm_vectors.cfg), each scored as configs/build_en_ewt_sm.py scores
the shipped model (EWT test gold tokens and raw text, UNER test raw text).

    OPENBLAS_NUM_THREADS=1 python benchmarks/static_vectors_accuracy.py [--steps 7200]
        [--runs base,vectors] [--only prepare,train,score,table] [--seed 0]

Work files under out/static_vectors/: corpus and run `base` in base/, run `vectors` in
vectors/ (base_seedN/, vectors_seedN/ with --seed N), the GloVe pipeline in glove_all/.
Nothing is installed. `--vectors out/static_vectors/glove_prune20k --suffix _prune20k` trains
the `vectors` run with GloVe pruned to 20,000 rows by `python -m nlp_core init vectors en
glove.6B.50d.txt out/static_vectors/glove_prune20k --prune 20000 --attr LOWER`.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import srsly

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "configs"))
import build_en_ewt_sm as build  # noqa: E402

WORK = REPO / "out" / "static_vectors"
DATA = REPO.parent / "shared" / "data"
CONFIGS = {"base": REPO / "configs" / "en_ewt_sm_v1.cfg",
           "vectors": REPO / "configs" / "en_ewt_sm_vectors.cfg"}
GLOVE = WORK / "glove_all"
ROWS = [("XPOS", "ewt_test_gold_tokens", "tag_acc"),
        ("UPOS", "ewt_test_gold_tokens", "pos_acc"),
        ("UAS", "ewt_test_gold_tokens", "dep_uas"),
        ("LAS", "ewt_test_gold_tokens", "dep_las"),
        ("XPOS (raw text)", "ewt_test_raw_text", "tag_acc"),
        ("LAS (raw text)", "ewt_test_raw_text", "dep_las"),
        ("UNER F (raw text)", "uner_test_raw_text", "ents_f")]


def run_dir(run: str, seed: int, suffix: str = "") -> Path:
    return WORK / ((run if seed == 0 else f"{run}_seed{seed}") + suffix)


def train_command(run: str, steps: int, seed: int = 0, vectors: Path = GLOVE,
                  suffix: str = "") -> list:
    corpus = WORK / "base" / "corpus"
    command = [sys.executable, "-m", "nlp_core", "train", str(CONFIGS[run]), "--output",
               str(run_dir(run, seed, suffix) / "training"), "--paths.train",
               str(corpus / "train.spacy"), "--paths.dev", str(corpus / "dev.spacy"),
               "--training.max_steps", str(steps), "--system.seed", str(seed)]
    if run == "vectors":
        command += ["--paths.vectors", str(vectors)]
    return command


def table(runs, seed: int = 0, suffix: str = "") -> str:
    dirs = {run: run_dir(run, seed, suffix if run == "vectors" else "") for run in runs}
    scores = {run: {name: srsly.read_json(dirs[run] / "scores" / f"{name}.json")
                    for name in {r[1] for r in ROWS}} for run in runs}
    names = [d.name for d in dirs.values()]
    lines = ["| score | " + " | ".join(names) + " |", "|---" * (len(runs) + 1) + "|"]
    for label, name, key in ROWS:
        lines.append(f"| {label} | " + " | ".join(
            f"{100 * scores[run][name][key]:.2f}" for run in runs) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=7200)
    parser.add_argument("--runs", default="base,vectors")
    parser.add_argument("--only", default="prepare,train,score,table")
    parser.add_argument("--seed", type=int, default=0, help="[system] seed of both runs")
    parser.add_argument("--vectors", type=Path, default=GLOVE,
                        help="the vectors pipeline of the `vectors` run (default: GloVe 400k)")
    parser.add_argument("--suffix", default="",
                        help="appended to the `vectors` run's folder, e.g. _prune20k")
    args = parser.parse_args()
    runs = [r for r in args.runs.split(",") if r]
    only = set(args.only.split(","))
    if "prepare" in only:
        build.prepare(DATA, WORK / "base" / "corpus")
        subprocess.run([sys.executable, str(REPO / "benchmarks" / "glove_vectors_dir.py"),
                        str(GLOVE), "--rows", "0"], check=True)
    for run in runs:
        if "train" in only:
            command = train_command(run, args.steps, args.seed, args.vectors,
                                    args.suffix if run == "vectors" else "")
            print("train:", " ".join(command), flush=True)
            subprocess.run(command, check=True)
        if "score" in only:
            out = run_dir(run, args.seed, args.suffix if run == "vectors" else "")
            build.score(DATA, WORK / "base" / "corpus", out / "training" / "model-last",
                        out / "scores")
    if "table" in only:
        print(table(runs, args.seed, args.suffix))


if __name__ == "__main__":
    main()
