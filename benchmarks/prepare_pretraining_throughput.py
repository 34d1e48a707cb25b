"""Throughput of `beam_jobs.prepare_pretraining` on a synthetic corpus, and how its time
grows with the corpus.

    python benchmarks/prepare_pretraining_throughput.py --docs 50000 100000 200000
    python benchmarks/prepare_pretraining_throughput.py --docs 2000 5000   # a quick check

For each size the script writes a JSONL corpus (8 files) of ~1 kB documents of Zipf-
distributed English-like words, with 5% exact duplicates (whitespace changed), 5% near
duplicates (a few words replaced) and 5% documents that fail a filter; then runs, each in a
child process:

  baseline  one Python process reading the same files: json.loads, normalise and the
            quality filters per document (no Beam, no dedupe, no shards); the figure the
            job is compared with in the same run, since the machine is shared and absolute
            numbers are noisy
  job       python -m beam_jobs.prepare_pretraining with its defaults (exact and near
            dedupe, shards of 64 MB, the in-memory FnApiRunner in one process); with
            --workers N, --direct_running_mode multi_processing --direct_num_workers N

and prints documents/s and MB/s (wall and per CPU second: user + system time of the child
and its children, the steadier figure on a shared machine), the job / baseline CPU ratio,
and each size's job CPU time relative to the smallest size's (near-linear growth means the
ratio of times follows the ratio of sizes). Results go to --json when given.
"""
import argparse
import itertools
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
N_FILES = 8
WORDS_PER_DOC = 170  # ~1 kB of text
STOP = ["the", "of", "and", "to", "with", "that", "have", "be", "in", "a", "is", "for"]


def vocabulary(rng: random.Random, size: int = 20_000):
    """Stop words first (most frequent), then invented words of 3-9 letters."""
    letters = "etaoinshrdlcumwfgypbvk"
    words = list(STOP)
    while len(words) < size:
        words.append("".join(rng.choice(letters) for _ in range(rng.randint(3, 9))))
    cum_weights = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(size)))
    return words, cum_weights


def make_corpus(directory: Path, n_docs: int, seed: int = 0) -> int:
    """Writes the corpus; returns its size in bytes."""
    rng = random.Random(seed)
    words, weights = vocabulary(rng)
    directory.mkdir(parents=True, exist_ok=True)
    files = [open(directory / f"part-{i}.jsonl", "w", encoding="utf8") for i in range(N_FILES)]
    recent = []
    try:
        for i in range(n_docs):
            roll = rng.random()
            if roll < 0.05 and recent:
                text = "  ".join(rng.choice(recent).split(" ", 3))  # exact, spacing changed
            elif roll < 0.10 and recent:
                tokens = rng.choice(recent).split()
                for _ in range(3):
                    tokens[rng.randrange(len(tokens))] = rng.choice(words)
                text = " ".join(tokens)
            elif roll < 0.15:
                text = " ".join(rng.choices(words, cum_weights=weights, k=20))  # too_few_words
            else:
                sentences = []
                n = 0
                while n < WORDS_PER_DOC:
                    length = rng.randint(8, 25)
                    sentence = rng.choices(words, cum_weights=weights, k=length)
                    sentences.append(" ".join(sentence).capitalize() + ".")
                    n += length
                text = " ".join(sentences)
                recent.append(text)
                if len(recent) > 1000:
                    recent.pop(rng.randrange(len(recent)))
            files[i % N_FILES].write(json.dumps({"id": f"doc{i:07d}", "text": text}) + "\n")
    finally:
        for file_ in files:
            file_.close()
    return sum(p.stat().st_size for p in directory.iterdir())


BASELINE = """
import glob, json, sys, time
from beam_jobs.pretraining_filters import check_quality
from beam_jobs.pretraining_text import normalise
start = time.perf_counter()
n = kept = 0
for path in sorted(glob.glob(sys.argv[1])):
    with open(path, encoding="utf8") as file_:
        for line in file_:
            text = normalise(json.loads(line)["text"])
            n += 1
            kept += check_quality(text) is None
print(json.dumps({"seconds": time.perf_counter() - start, "docs": n, "kept": kept}))
"""


def run_child(argv, cwd=REPO_ROOT):
    """(wall seconds, CPU seconds: user + system of the child and its children, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])} failed:\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, nargs="+", default=[50_000, 100_000, 200_000])
    parser.add_argument("--workers", type=int, default=0,
                        help="0 (default): the in-memory runner; N: N worker processes.")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="Where the corpora and outputs go (default: a temporary "
                             "directory, removed at the end).")
    options = parser.parse_args()
    root = options.workdir or Path(tempfile.mkdtemp(prefix="pretraining_bench_"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p))
    os.environ.update(env)
    results = []
    try:
        for n_docs in options.docs:
            corpus = root / f"corpus-{n_docs}"
            size = make_corpus(corpus, n_docs)
            glob = str(corpus / "*.jsonl")
            _, base_cpu, out = run_child([sys.executable, "-c", BASELINE, glob])
            base = json.loads(out)
            output = root / f"out-{n_docs}"
            workers = ([] if not options.workers else [
                "--direct_running_mode=multi_processing",
                f"--direct_num_workers={options.workers}"])
            job_wall, job_cpu, _ = run_child([
                sys.executable, "-m", "beam_jobs.prepare_pretraining", "--input", glob,
                "--output", str(output), "--overwrite", "--runner=FnApiRunner", *workers])
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            stats = json.loads((output / "stats.json").read_text())
            row = {"docs": n_docs, "mb": round(size / 1e6, 1),
                   "baseline_s": round(base["seconds"], 1),
                   "baseline_cpu_s": round(base_cpu, 1), "job_cpu_s": round(job_cpu, 1),
                   "job_docs_per_cpu_s": round(n_docs / job_cpu),
                   "job_mb_per_cpu_s": round(size / 1e6 / job_cpu, 3),
                   "job_cpu_over_baseline_cpu": round(job_cpu / base_cpu, 2),
                   "job_s": round(stats["wall_seconds"], 1),
                   "job_process_s": round(job_wall, 1),
                   "job_docs_per_s": round(n_docs / stats["wall_seconds"]),
                   "job_mb_per_s": round(size / 1e6 / stats["wall_seconds"], 2),
                   "baseline_docs_per_s": round(n_docs / base["seconds"]),
                   "job_over_baseline": round(stats["wall_seconds"] / base["seconds"], 2),
                   "peak_rss_mb_so_far": round(peak_mb),
                   "counts": stats["counts"], "reconciled": stats["reconciled"]}
            results.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "counts"}), flush=True)
            shutil.rmtree(output, ignore_errors=True)
            shutil.rmtree(corpus, ignore_errors=True)
    finally:
        if options.workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    first = results[0]
    print(f"{'docs':>8} {'MB':>6} {'job s':>7} {'docs/s':>7} {'MB/s':>6} {'job cpu':>8} "
          f"{'docs/cpu':>8} {'base cpu':>8} {'cpu/base':>8} {'size x':>6} {'cpu x':>6}")
    for row in results:
        print(f"{row['docs']:>8} {row['mb']:>6} {row['job_s']:>7} {row['job_docs_per_s']:>7} "
              f"{row['job_mb_per_s']:>6} {row['job_cpu_s']:>8} {row['job_docs_per_cpu_s']:>8} "
              f"{row['baseline_cpu_s']:>8} {row['job_cpu_over_baseline_cpu']:>8} "
              f"{row['docs'] / first['docs']:>6.2f} {row['job_cpu_s'] / first['job_cpu_s']:>6.2f}")
    if options.json:
        options.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
