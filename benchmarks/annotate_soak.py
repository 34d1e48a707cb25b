"""Soak: does the annotate job's memory stay flat over a long run with an unbounded
vocabulary? Annotates N short synthetic documents full of made-up words (generated on the
fly from a seed, nothing stored in the repository) and compares peak RSS after the first
10% of the documents with peak RSS at the end (issue 17: within 10%).

    python benchmarks/annotate_soak.py --docs 2000000 [--model blank:en] [--workdir DIR]
    python benchmarks/annotate_soak.py --docs 200000 --mode pipeline [--max-new-strings N]

--mode job (default): the corpus is written to WORKDIR (first.jsonl: the first 10%;
all.jsonl: all of it) and `python -m beam_jobs.annotate` runs on each in a fresh process
(in-memory FnApiRunner: the worker is that process); the peak is the job's own
run_summary.json `peak_rss_mb` (VmHWM) and the child's ru_maxrss. The run over the first
10% peaks where the long run stands after its first 10%: same input, same order.

--mode pipeline: one process drives the job's SharedPipeline and Arrow conversion batch
by batch (no Beam), reading VmHWM after 10% of the documents and at the end; with
`--max-new-strings` huge it shows what the bound on the string store saves.

Each document has ~12 tokens, 6 of them made-up words of 2-4 random syllables (about 5,800
distinct syllable pairs: a 2M-document run sees millions of distinct words). The machine
is shared: absolute times are noisy, the RSS ratios are what this reports.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
CONSONANTS = "bcdfghjklmnprstvwxz"
VOWELS = "aeiouy"
BATCH = 256


def synthetic_texts(n: int, seed: int = 17) -> Iterator[str]:
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) + rng.choice(CONSONANTS)
                       for _ in range(rng.randint(2, 4)))

    for _ in range(n):
        w = [word() for _ in range(6)]
        yield (f"The {w[0]} of {w[1].title()} met {w[2]} near {w[3].title()}, "
               f"then {w[4]} {w[5]}s left.")


def vm_hwm_kib() -> int:
    with open("/proc/self/status", "rb") as status:
        for line in status:
            if line.startswith(b"VmHWM:"):
                return int(line.split()[1])
    raise OSError("no VmHWM in /proc/self/status (Linux only)")


def write_corpus(workdir: Path, n: int, first: int) -> None:
    with open(workdir / "all.jsonl", "w") as all_, open(workdir / "first.jsonl", "w") as head:
        for i, text in enumerate(synthetic_texts(n)):
            line = json.dumps({"id": f"s{i}", "text": text}) + "\n"
            all_.write(line)
            if i < first:
                head.write(line)


def run_job(workdir: Path, name: str, model: str, extra=()) -> dict:
    output = workdir / f"out_{name}"
    argv = [sys.executable, "-m", "beam_jobs.annotate", "--input", str(workdir / f"{name}.jsonl"),
            "--output", str(output), "--model", model, "--overwrite", "--runner=FnApiRunner",
            "--allow-duplicate-ids", *extra]
    start = time.perf_counter()
    child = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    out, err = child.communicate()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the job failed on {name}.jsonl:\n{err.decode()[-3000:]}")
    summary = json.loads((output / "run_summary.json").read_text())
    workers = summary["peak_rss_mb"]["workers"]
    return {"docs": summary["counts"]["annotated"], "seconds": time.perf_counter() - start,
            "launcher_mib": summary["peak_rss_mb"]["launcher"],
            "worker_mib": max(workers.values()) if workers else None,
            "ru_maxrss_mib": round(usage.ru_maxrss / 1024, 1)}


def job_mode(args) -> None:
    first = args.docs // 10
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        workdir = Path(tmp)
        start = time.perf_counter()
        write_corpus(workdir, args.docs, first)
        print(f"corpus: {args.docs} docs ({(workdir / 'all.jsonl').stat().st_size >> 20} MiB)"
              f" written in {time.perf_counter() - start:.1f} s")
        extra = ["--row-group-mb", str(args.row_group_mb)] if args.row_group_mb else []
        head = run_job(workdir, "first", args.model, extra)
        print(f"first {first}: {json.dumps(head)}")
        whole = run_job(workdir, "all", args.model, extra)
        print(f"all {args.docs}: {json.dumps(whole)}")
    ratio = whole["launcher_mib"] / head["launcher_mib"]
    print(f"peak RSS at the end / after the first 10%: {ratio:.3f} "
          f"({whole['launcher_mib']} / {head['launcher_mib']} MiB; within 10%: "
          f"{'yes' if ratio <= 1.10 else 'NO'})")


def pipeline_mode(args) -> None:
    sys.path.insert(0, str(ROOT))
    from beam_jobs.arrow import docs_to_record_batch
    from beam_jobs.model import SharedPipeline
    from beam_jobs.records import Record

    pipeline = SharedPipeline(args.model, max_new_strings=args.max_new_strings)
    strings = pipeline.nlp.vocab.strings
    first = args.docs // 10
    start = time.perf_counter()
    texts = synthetic_texts(args.docs)
    done, at_first = 0, None
    while done < args.docs:
        batch = [next(texts) for _ in range(min(BATCH, args.docs - done))]
        records = [Record(f"s{done + i}", "soak", done + i, None, t, None, len(t), len(t))
                   for i, t in enumerate(batch)]
        with pipeline.batch():
            docs, _, _ = pipeline.annotate_pieces(batch)
            docs_to_record_batch(records, docs, keep_text=False, pipeline_name="soak",
                                 pipeline_version="0")
        done += len(batch)
        if at_first is None and done >= first:
            at_first = vm_hwm_kib()
            print(f"after {done}: peak RSS {at_first / 1024:.1f} MiB, {len(strings)} "
                  f"strings, {time.perf_counter() - start:.1f} s")
    end = vm_hwm_kib()
    print(f"after {done}: peak RSS {end / 1024:.1f} MiB, {len(strings)} strings "
          f"({pipeline.strings_dropped} dropped in all), {time.perf_counter() - start:.1f} s")
    print(f"peak RSS at the end / after the first 10%: {end / at_first:.3f} "
          f"(max_new_strings={args.max_new_strings})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=2_000_000)
    parser.add_argument("--model", default="blank:en")
    parser.add_argument("--mode", choices=["job", "pipeline"], default="job")
    parser.add_argument("--max-new-strings", type=int, default=None,
                        help="pipeline mode: the string bound (default: the job's)")
    parser.add_argument("--workdir", default=None, help="where the corpus is written")
    parser.add_argument("--row-group-mb", type=int, default=None,
                        help="job mode: the job's --row-group-mb (its Parquet writer buffers "
                             "up to that much Arrow data per file before writing a row "
                             "group: a fixed cost that a short run may not reach)")
    args = parser.parse_args()
    if args.mode == "job":
        job_mode(args)
    else:
        if args.max_new_strings is None:
            sys.path.insert(0, str(ROOT))
            from beam_jobs.model import MAX_NEW_STRINGS
            args.max_new_strings = MAX_NEW_STRINGS
        pipeline_mode(args)


if __name__ == "__main__":
    main()
