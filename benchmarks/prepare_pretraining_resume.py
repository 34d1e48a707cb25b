"""The pretraining-corpus job killed half way (SIGKILL to the launcher), then finished with
--resume: the output equals an uninterrupted run's, and what the resume costs.

    python benchmarks/prepare_pretraining_resume.py --docs 50000

The corpus of prepare_pretraining_throughput.py (8 JSONL files of ~1 kB documents, 5%
exact and 5% near duplicates, 5% too short), read in input shards of --input-shard-mb 1.
Runs, on the in-memory runner, each in a child process: the uninterrupted job; the job
again, killed with SIGKILL once half its input shards are committed; the rerun with
--resume. Prints the shards committed at the kill, the wall times (the resume as a ratio of
the uninterrupted run, measured in the same run: the machine is shared and absolute times
are noisy), and whether the outputs are equal: every shard file byte for byte, the removed
and dead-letter rows, and stats.json's counts, steps, shards and clusters.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from prepare_pretraining_throughput import make_corpus  # noqa: E402

JOB = [sys.executable, "-m", "beam_jobs.prepare_pretraining"]


def job_args(glob: str, output: Path, *extra):
    return ["--input", glob, "--output", str(output), "--runner=FnApiRunner",
            "--input-shard-mb", "1", "--write-removed", *extra]


def outputs(out: Path):
    stats = json.loads((out / "stats.json").read_text())
    shards = {p.name: p.read_bytes() for p in sorted((out / "shards").iterdir())}
    removed = sorted(pq.read_table(out / "removed").to_pylist(), key=lambda r: r["doc_id"])
    dead = sorted(pq.read_table(out / "dead_letter").to_pylist(),
                  key=lambda r: (r["source"], r["offset"]))
    for shard in stats["shards"]:
        shard["path"] = Path(shard["path"]).name
    return shards, removed, dead, {k: stats[k] for k in (
        "counts", "steps", "shards", "duplicate_clusters", "reconciled")}


def timed(argv) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=50_000)
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="pretraining_resume_"))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
    try:
        size = make_corpus(root / "in", options.docs)
        glob = str(root / "in" / "*.jsonl")
        clean_s = timed(JOB + job_args(glob, root / "clean"))
        output = root / "out"
        launcher = subprocess.Popen(JOB + job_args(glob, output), cwd=REPO_ROOT,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        manifests = Path(str(output) + ".partial") / "manifests"
        start = time.perf_counter()
        plan = Path(str(output) + ".partial") / "plan.json"
        while not plan.exists():
            time.sleep(0.05)
        total = len(json.loads(plan.read_text())["shards"])
        while len(list(manifests.glob("*.json"))) < total // 2:
            if launcher.poll() is not None:
                raise SystemExit("the job ended before half its shards were committed")
            time.sleep(0.05)
        launcher.send_signal(signal.SIGKILL)
        launcher.wait()
        killed_s = time.perf_counter() - start
        done = len(list(manifests.glob("*.json")))
        resume_s = timed(JOB + job_args(glob, output, "--resume"))
        stats = json.loads((output / "stats.json").read_text())
        same = outputs(output) == outputs(root / "clean")
        print(json.dumps({
            "docs": options.docs, "mb": round(size / 1e6, 1), "input_shards": total,
            "committed_at_kill": done, "killed_after_s": round(killed_s, 1),
            "uninterrupted_s": round(clean_s, 1), "resume_s": round(resume_s, 1),
            "resume_over_uninterrupted": round(resume_s / clean_s, 2),
            "input_shards_summary": stats["input_shards"],
            "reconciled": stats["reconciled"], "counts": stats["counts"],
            "output_equal": same}, indent=1))
        if not same:
            raise SystemExit("the resumed output differs from the uninterrupted run's")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
