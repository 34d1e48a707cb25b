"""Peak RSS of `beam_jobs.prepare_pretraining` on the in-memory runner, step by step, to see
where its memory goes and how it grows with the corpus.

    python benchmarks/prepare_pretraining_memory.py --docs 50000 100000
    python benchmarks/prepare_pretraining_memory.py --docs 50000 --repo /path/to/old/checkout

For each size: the synthetic corpus of prepare_pretraining_throughput.py (8 JSONL files,
~1 kB documents, 5% exact / 5% near duplicates, 5% too short), then the job in a child
process per variant, each child's own peak RSS (wait4's ru_maxrss) and wall time:

  read      --dedupe none: read, check, normalise, filter, write the shards
  exact     --dedupe exact
  full      the defaults (exact and near dedupe)

With --repo the same variants run from another checkout too (e.g. the commit before a
change), in the same run, so the figures compare on the same loaded machine. Peak RSS is
the figure to read (wall times move with the machine's load).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from prepare_pretraining_throughput import make_corpus  # noqa: E402

VARIANTS = {"read": ["--dedupe", "none"], "exact": ["--dedupe", "exact"], "full": []}


def run_job(repo: Path, glob: str, output: Path, extra):
    """(peak RSS MiB of the child, wall seconds, stats)."""
    env = dict(os.environ, PYTHONPATH=str(repo))
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "beam_jobs.prepare_pretraining",
                              "--input", glob, "--output", str(output), "--overwrite",
                              "--runner=FnApiRunner", *extra], cwd=repo, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    error = child.stderr.read().decode()
    child.stderr.close()
    if status != 0:
        raise SystemExit(f"the job failed in {repo}:\n{error[-3000:]}")
    stats = json.loads((output / "stats.json").read_text())
    return usage.ru_maxrss / 1024, seconds, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, nargs="+", default=[50_000])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS),
                        choices=list(VARIANTS))
    parser.add_argument("--repo", type=Path, default=None,
                        help="Another checkout to run the same variants from.")
    parser.add_argument("--json", type=Path, default=None)
    options = parser.parse_args()
    repos = [("this", REPO_ROOT)] + ([("other", options.repo)] if options.repo else [])
    root = Path(tempfile.mkdtemp(prefix="pretraining_memory_"))
    results = []
    try:
        for n_docs in options.docs:
            corpus = root / f"corpus-{n_docs}"
            size = make_corpus(corpus, n_docs)
            for variant in options.variants:
                for label, repo in repos:
                    output = root / f"out-{label}"
                    peak, seconds, stats = run_job(repo, str(corpus / "*.jsonl"), output,
                                                   VARIANTS[variant])
                    row = {"docs": n_docs, "mb": round(size / 1e6, 1), "variant": variant,
                           "checkout": label, "peak_rss_mb": round(peak),
                           "wall_s": round(seconds, 1), "reconciled": stats["reconciled"],
                           "written": stats["counts"]["written"]}
                    results.append(row)
                    print(json.dumps(row), flush=True)
                    shutil.rmtree(output, ignore_errors=True)
            shutil.rmtree(corpus, ignore_errors=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if options.json:
        options.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
