"""Pretraining: accuracy (issue 15). Does `pretrain` help a tok2vec + tagger + parser trained
on little data?

1. raw text: the `# text = ` lines of EWT train and dev (no annotations), one JSONL record
   per sentence;
2. `python -m nlp_core pretrain` with the characters objective (the seed's defaults:
   maxout_pieces 3, hidden_size 300, n_characters 4) on that text for --pretrain-steps
   batches of 3,000 words;
3. `python -m nlp_core train` of the same config on 10% of EWT train (every 10th
   sentence) for --train-steps steps, twice: without and with `[initialize] init_tok2vec`
   = the pretrained model-last.bin; model-best is picked on EWT dev;
4. both scored on EWT dev and EWT test (gold tokens): XPOS (tag_acc) and LAS.

The config is the efficiency config of `init config --pipeline tagger,parser` (tok2vec
width 96, depth 4) plus the [pretraining] defaults.

    nice -n 5 python benchmarks/pretrain_accuracy.py [--pretrain-steps 1500]
        [--train-steps 1000] [--seeds 0,1] [--only prepare,pretrain,train,table]

Work files go to out/pretrain_accuracy/. Everything runs as the CLI commands a user would
run (printed before each).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "out" / "pretrain_accuracy"
EWT = REPO.parent / "shared" / "data" / "ud_english_ewt"
TRAIN, DEV, TEST = (EWT / f"en_ewt-ud-{part}.conllu" for part in ("train", "dev", "test"))


def run(*args: str) -> None:
    command = [sys.executable, "-m", "nlp_core", *args]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True)


def prepare() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    prefix = "# text = "
    with open(WORK / "raw_text.jsonl", "w", encoding="utf8") as out:
        for path in (TRAIN, DEV):
            for line in open(path, encoding="utf8"):
                if line.startswith(prefix):
                    out.write(json.dumps({"text": line[len(prefix):].rstrip("\n")}) + "\n")
    # every 10th sentence of train
    sentences = open(TRAIN, encoding="utf8").read().strip().split("\n\n")
    subset = sentences[::10]
    (WORK / "train10.conllu").write_text("\n\n".join(subset) + "\n\n", encoding="utf8")
    run("init", "config", str(WORK / "base.cfg"), "--pipeline", "tagger,parser", "--force")
    run("init", "fill-config", str(WORK / "base.cfg"), str(WORK / "config.cfg"),
        "--pretraining")
    print(f"train10: {len(subset)} of {len(sentences)} sentences", flush=True)


def pretrain(steps: int) -> None:
    run("pretrain", str(WORK / "config.cfg"), str(WORK / "pretrain"), "--paths.raw_text",
        str(WORK / "raw_text.jsonl"), "--max-steps", str(steps))


def train(steps: int, seed: int) -> None:
    for arm, init in (("base", "null"), ("pretrained", str(WORK / "pretrain" /
                                                          "model-last.bin"))):
        out = WORK / f"{arm}_seed{seed}"
        run("train", str(WORK / "config.cfg"), "--output", str(out), "--paths.train",
            str(WORK / "train10.conllu"), "--paths.dev", str(DEV), "--paths.init_tok2vec",
            init, "--training.max_steps", str(steps), "--training.eval_frequency", "100",
            "--training.patience", "0", "--system.seed", str(seed))
        for part, path in (("dev", DEV), ("test", TEST)):
            run("evaluate", str(out / "model-best"), str(path), "--gold-preproc",
                "--output", str(out / f"scores_{part}.json"))


def table(seeds) -> None:
    print("| seed | arm | dev XPOS | dev LAS | test XPOS | test LAS |")
    print("| --- | --- | --- | --- | --- | --- |")
    for seed in seeds:
        for arm in ("base", "pretrained"):
            out = WORK / f"{arm}_seed{seed}"
            cells = []
            for part in ("dev", "test"):
                scores = json.loads((out / f"scores_{part}.json").read_text())
                cells += [f"{100 * scores['tag_acc']:.2f}", f"{100 * scores['dep_las']:.2f}"]
            print(f"| {seed} | {arm} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pretrain-steps", type=int, default=1500)
    parser.add_argument("--train-steps", type=int, default=1000)
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--only", default="prepare,pretrain,train,table")
    options = parser.parse_args()
    seeds = [int(s) for s in options.seeds.split(",")]
    steps = options.only.split(",")
    if "prepare" in steps:
        prepare()
    if "pretrain" in steps:
        pretrain(options.pretrain_steps)
    if "train" in steps:
        for seed in seeds:
            train(options.train_steps, seed)
    if "table" in steps:
        table(seeds)


if __name__ == "__main__":
    main()
