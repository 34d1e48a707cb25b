"""Peak memory of the annotate job on the two inputs that used to exhaust it (issue 11):
one document of 999,999 characters (the default --max-chars less one) and a 1 MB `.spacy`
file that inflates to 1 GB.

    python benchmarks/hostile_rss.py [--model en_ewt_sm] [--workdir DIR] [--runs long,bomb]

Each job runs in a fresh process (`python -m beam_jobs.annotate`, in-memory FnApiRunner);
a small parent process reports its child's peak RSS (`ru_maxrss`). Prints one line per run:
the input, peak RSS, wall time, and the job's count line. The long document is built from
the sample corpus (examples/ewt_sample.jsonl), paragraphs of its texts joined by blank
lines, so that the job cuts it at paragraph breaks as it would a real long document.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import srsly

ROOT = Path(__file__).resolve().parents[1]
LONG_CHARS = 999_999
BOMB_BYTES = 1 << 30

# A parent that runs the job and prints its peak RSS in KiB (Linux ru_maxrss).
PARENT = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
          "print('RSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
          "sys.exit(r.returncode)")


def long_document(path: Path) -> None:
    texts = []
    with open(ROOT / "examples" / "ewt_sample.jsonl", "rb") as file_:
        for line in file_:
            try:
                text = json.loads(line).get("text")
            except (ValueError, AttributeError):  # the sample's deliberately bad records
                continue
            if isinstance(text, str) and text.strip():
                texts.append(text.strip())
    paragraphs, size, k = [], 0, 0
    while size < LONG_CHARS:
        paragraph = " ".join(texts[(k + j) % len(texts)] for j in range(5))
        paragraphs.append(paragraph)
        size += len(paragraph) + 2
        k += 5
    text = "\n\n".join(paragraphs)[:LONG_CHARS]
    path.write_text(json.dumps({"id": "long", "text": text}) + "\n", encoding="utf8")


def spacy_bomb(path: Path) -> None:
    """A DocBin-shaped msgpack map holding 1 GiB of zeros, zlib level 9 (about 1 MB)."""
    data = srsly.msgpack_dumps({"version": "0.1", "attrs": [65], "tokens": b"\0" * BOMB_BYTES})
    path.write_bytes(zlib.compress(data, 9))


def run_job(input_path: Path, output: Path, model: str, *extra: str):
    command = [sys.executable, "-c", PARENT, sys.executable, "-m", "beam_jobs.annotate",
               "--input", str(input_path), "--output", str(output), "--model", model,
               "--runner=FnApiRunner", "--overwrite", *extra]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    rss = next((int(line.split()[1]) for line in result.stdout.splitlines()
                if line.startswith("RSS_KB")), None)
    counts = next((line for line in result.stdout.splitlines() if line.startswith("read ")),
                  result.stderr.strip().splitlines()[-1:] or ["(no output)"])
    return result.returncode, rss, seconds, counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="en_ewt_sm")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--runs", default="long,bomb")
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="hostile_rss_"))
    work.mkdir(parents=True, exist_ok=True)
    runs = args.runs.split(",")
    plans = []
    if "long" in runs:
        long_document(work / "long.jsonl")
        plans.append(("999,999-char document", work / "long.jsonl", args.model, ()))
    if "bomb" in runs:
        spacy_bomb(work / "bomb.spacy")
        size = os.path.getsize(work / "bomb.spacy")
        plans.append((f".spacy bomb ({size:,} B -> 1 GiB), default cap", work / "bomb.spacy",
                      "blank:en", ()))
        plans.append((".spacy bomb, --max-decompressed-mb 64", work / "bomb.spacy",
                      "blank:en", ("--max-decompressed-mb", "64")))
    failed = False
    for name, path, model, extra in plans:
        rc, rss, seconds, counts = run_job(path, work / ("out_" + path.stem), model, *extra)
        failed |= rc != 0
        rss_mb = f"{rss / 1024:,.0f} MB" if rss else "?"
        print(f"{name}: peak RSS {rss_mb}, {seconds:.1f} s, exit {rc}: {counts}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
