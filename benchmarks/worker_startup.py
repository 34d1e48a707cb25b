"""Worker start-up: process start to the first annotated batch, in a fresh process each run.

What a Beam worker does before its first output: start Python, import the job
(`beam_jobs.annotate`), load the pipeline (`SharedPipeline(MODEL)`, as the DoFn's `setup`
does) and annotate one batch. Each run is a new interpreter, so nothing is cached in
memory; the OS file cache is warm after the first run (as on a worker that has started
before). The best of `--runs` counts, and its split is printed:

    python benchmarks/worker_startup.py --runs 7
    python benchmarks/worker_startup.py --python /tmp/venv-notorch/bin/python

The clock is the wall clock of this machine: the parent notes it just before starting the
child, the child notes it after each step, so "interpreter" covers starting Python itself.
"""
import argparse
import json
import os
import subprocess
import sys
import time

CHILD = r"""
import json, sys, time
marks = {"started": time.time()}
import beam_jobs.annotate  # noqa: F401  (what the worker unpickles the job's DoFns from)
from beam_jobs.model import SharedPipeline
marks["imported"] = time.time()
pipeline = SharedPipeline(sys.argv[1])
marks["loaded"] = time.time()
docs, failures = pipeline.annotate(TEXTS)
assert not failures and all(doc.has_column("dep") for doc in docs), failures
marks["annotated"] = time.time()
marks["torch_imported"] = "torch" in sys.modules
marks["transformers_imported"] = "transformers" in sys.modules
print(json.dumps(marks))
"""

TEXTS = [
    "Apple is looking at buying a U.K. startup for $1 billion.",
    "The quick brown fox jumped over the lazy dog near the river bank.",
    "She said that the meeting in Berlin would start at nine on Monday.",
    "Workers load the pipeline once per process and then annotate batches.",
]


def one_run(python: str, model: str) -> dict:
    code = f"TEXTS = {TEXTS!r}\n{CHILD}"
    start = time.time()
    done = subprocess.run([python, "-c", code, model], capture_output=True, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if done.returncode != 0:
        sys.exit(f"the worker process failed (exit {done.returncode}):\n{done.stderr}")
    marks = json.loads(done.stdout.strip().splitlines()[-1])
    return {"interpreter": marks["started"] - start,
            "import": marks["imported"] - marks["started"],
            "load": marks["loaded"] - marks["imported"],
            "first_batch": marks["annotated"] - marks["loaded"],
            "total": marks["annotated"] - start,
            "torch_imported": marks["torch_imported"],
            "transformers_imported": marks["transformers_imported"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter of the environment to measure")
    parser.add_argument("--model", default="en_ewt_sm")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = [one_run(args.python, args.model) for _ in range(args.runs)]
    best = min(runs, key=lambda r: r["total"])
    has_torch = subprocess.run([args.python, "-c", "import torch"],
                               capture_output=True).returncode == 0
    print(f"python: {args.python} (torch installed: {'yes' if has_torch else 'no'})")
    print(f"model: {args.model}, {len(TEXTS)} docs in the first batch, best of {args.runs}")
    print("totals (s): " + ", ".join(f"{r['total']:.2f}" for r in runs))
    print("best: " + ", ".join(f"{key} {best[key]:.3f} s" for key in
                               ("total", "interpreter", "import", "load", "first_batch")))
    print(f"torch imported: {best['torch_imported']}, "
          f"transformers imported: {best['transformers_imported']}")


if __name__ == "__main__":
    main()
