"""The annotate job's scaling over worker processes and its overhead against bare nlp.pipe.

    nice -n 5 python benchmarks/scaling.py                      # the issue's run
    python benchmarks/scaling.py --docs 4000 --passes 1         # a quick check
    python benchmarks/scaling.py --json out.json --workers 1,2

One corpus (`annotate_corpus.build`: JSONL records of up to 3 consecutive sentences of one
UD English EWT train document, cycled; --docs of them, one file, no bad records) goes
through, each in a fresh process timed from launch to exit (Python's start, the imports
and the pipeline load counted on every side):

    bare    python -c: import nlp_core, read the texts, `nlp_core.load(MODEL)`,
            `nlp.pipe(texts, batch_size=256)` (counting tokens), OPENBLAS_NUM_THREADS=1
            (the job's workers' setting; with 2 BLAS threads the pipe is no faster here
            and takes a third more CPU)
    job ×1  `python -m beam_jobs.annotate` on FnApiRunner in memory (one worker: the
            launcher's own process)
    job ×N  the same with `--direct_running_mode=multi_processing --direct_num_workers=N`
            for each N of --workers above 1

with the job's defaults otherwise (its --shard-mb, duplicate-id pass, thread limits). The
runs alternate (bare, ×1, ×2, bare, ...), --passes times; the best wall time of each
counts, and each pass's ratios against its own bare run are given with their median. Each
run's CPU seconds (user + system, its worker processes included) are given too: on a busy
machine they move less than wall times, and CPU/bare shows what the job adds in work,
whatever the load. Start-up is measured the same way on the first --startup-docs documents
(a job that is almost all start-up) and reported as a share of each full run;
`cpu_after_startup` (the run's CPU seconds less the start-up run's) is the work that grows
with the corpus, which with N workers should stay that of one. From each job's
run_summary.json come the per-stage seconds (Beam counters summed over the workers:
duplicate_ids, read_check, annotate, arrow, write). The 1-minute load average is printed
before and after each run: the machine may be shared, so compare the ratios of one run,
not absolute words/s across runs.

Targets (issue 20): job ×2 >= 1.7x job ×1; job ×1 >= 0.95x bare.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import annotate_corpus

REPO = Path(__file__).resolve().parent.parent
BARE = r"""
import json, sys
import nlp_core
texts = [json.loads(line)["text"] for line in open(sys.argv[1], encoding="utf8")]
nlp = nlp_core.load(sys.argv[2])
words = sum(len(doc) for doc in nlp.pipe(texts, batch_size=256))
print(json.dumps({"docs": len(texts), "words": words}))
"""


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _timed(command: List[str], env: Optional[Dict[str, str]] = None) -> Dict:
    load = _load()
    cpu = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                          env=None if env is None else {**os.environ, **env})
    seconds = time.perf_counter() - start
    cpu = _children_cpu() - cpu
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} ... failed ({done.returncode}):\n"
                           f"{done.stderr[-3000:]}")
    return {"seconds": seconds, "cpu_seconds": cpu, "stdout": done.stdout,
            "load_before": load, "load_after": _load()}


def _children_cpu() -> float:
    """User + system CPU seconds of the finished child processes (and theirs: the job's
    worker processes are reaped by the launcher)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# numpy's BLAS on one thread, as the job's workers run it (workers.py): its fastest
# setting for these pipelines, and what the job is compared with
BARE_ENV = {"OPENBLAS_NUM_THREADS": "1"}


def bare_command(corpus: Path, model: str) -> List[str]:
    return [sys.executable, "-c", BARE, str(corpus), model]


def job_command(corpus: Path, output: Path, model: str, workers: int) -> List[str]:
    """The annotate job with its defaults: FnApiRunner in memory for one worker,
    multi_processing for more."""
    beam = ["--runner=FnApiRunner"] + ([] if workers == 1 else [
        "--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"])
    return [sys.executable, "-m", "beam_jobs.annotate", "--input", str(corpus),
            "--output", str(output), "--model", model, "--overwrite", *beam]


def job_summary(output: Path) -> Dict:
    """The finished job's run_summary.json (its counts reconciled)."""
    summary = json.loads((output / "run_summary.json").read_text())
    assert summary["reconciled"], summary["counts"]
    return summary


def bare(corpus: Path, model: str) -> Dict:
    run = _timed(bare_command(corpus, model), BARE_ENV)
    run.update(json.loads(run.pop("stdout").strip().splitlines()[-1]))
    return run


def job(corpus: Path, output: Path, model: str, workers: int) -> Dict:
    run = _timed(job_command(corpus, output, model, workers))
    run.pop("stdout")
    summary = job_summary(output)
    run.update(docs=summary["counts"]["annotated"], words=summary["counts"]["tokens"],
               shards=summary["shards"]["total"], job_wall_seconds=summary["wall_seconds"],
               stage_seconds=summary.get("stage_seconds", {}),
               stage_share=summary.get("stage_share", {}),
               peak_rss_mb=summary["peak_rss_mb"])
    return run


def best(runs: List[Dict]) -> Dict:
    return min(runs, key=lambda r: r["seconds"])


def main(argv=None) -> Dict:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=48000,
                        help="documents in the corpus (default 48,000: ~2.2 M words, "
                             "~13 MB, where start-up is under 5%% of a 1-worker run)")
    parser.add_argument("--model", default="en_ewt_sm")
    parser.add_argument("--workers", default="1,2", help="worker counts (1: in memory)")
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--startup-docs", type=int, default=64)
    parser.add_argument("--json", type=Path, help="write the results here too")
    options = parser.parse_args(argv)
    counts = sorted({int(n) for n in options.workers.split(",")} | {1})
    with tempfile.TemporaryDirectory(prefix="nlp_core_scaling_") as tmp:
        root = Path(tmp)
        lines, _ = annotate_corpus.build(options.docs, 0, source="train", max_sents=3)
        corpus = root / "corpus.jsonl"
        annotate_corpus.write(corpus, lines)
        small = root / "small.jsonl"
        annotate_corpus.write(small, lines[:options.startup_docs])
        startup = {n: job(small, root / f"startup{n}", options.model, n) for n in counts}
        runs: Dict[str, List[Dict]] = {"bare": []}
        for _ in range(max(1, options.passes)):
            runs["bare"].append(bare(corpus, options.model))
            for n in counts:
                runs.setdefault(f"job x{n}", []).append(
                    job(corpus, root / f"out{n}", options.model, n))
        size = corpus.stat().st_size
    result = report(options, size, startup, {name: best(r) for name, r in runs.items()})
    result["paired"] = paired(runs)
    if options.json:
        options.json.write_text(json.dumps(result, indent=1))
    return result


def paired(runs: Dict[str, List[Dict]]) -> Dict:
    """Each pass's ratios against the bare run just before it, and their medians: speed
    (bare wall / job wall, as `vs bare`) and work (job CPU / bare CPU, as `CPU/bare`). A
    job and the bare run before it share the machine's state of those minutes, so the
    median of per-pass ratios is steadier than the ratio of best runs when it drifts."""
    result = {}
    for name, jobs in runs.items():
        if name == "bare":
            continue
        wall = [b["seconds"] / j["seconds"] for b, j in zip(runs["bare"], jobs)]
        cpu = [j["cpu_seconds"] / b["cpu_seconds"] for b, j in zip(runs["bare"], jobs)]
        result[name] = {"wall_vs_bare": [round(r, 3) for r in wall],
                        "cpu_vs_bare": [round(r, 3) for r in cpu],
                        "median_wall_vs_bare": round(statistics.median(wall), 3),
                        "median_cpu_vs_bare": round(statistics.median(cpu), 3),
                        # each pass's (bare, job) wall seconds and the job's stage seconds
                        "passes": [{"bare_seconds": round(b["seconds"], 2),
                                    "job_seconds": round(j["seconds"], 2),
                                    "job_stage_seconds": j["stage_seconds"]}
                                   for b, j in zip(runs["bare"], jobs)]}
        print(f"{name} / bare per pass: wall {result[name]['wall_vs_bare']} (median "
              f"{result[name]['median_wall_vs_bare']}); CPU seconds job / bare "
              f"{result[name]['cpu_vs_bare']} (median {result[name]['median_cpu_vs_bare']})")
    return result


def report(options, size: int, startup: Dict[int, Dict], best_runs: Dict[str, Dict]
           ) -> Dict:
    bare_run = best_runs["bare"]
    words = bare_run["words"]
    one = best_runs["job x1"]
    print(f"corpus: {options.docs} docs, {words} words, {size / 1e6:.1f} MB; model "
          f"{options.model}; {os.cpu_count()} CPUs; best of {options.passes} pass(es)")
    print(f"{'run':<10} {'seconds':>8} {'words/s':>9} {'vs bare':>8} {'vs job x1':>9} "
          f"{'start-up':>9} {'shards':>6} {'CPU s':>7} {'CPU/bare':>8}  load before/after  "
          "stage split (share)")
    rows = {}
    for name, run in best_runs.items():
        assert run["words"] == words, (name, run["words"], words)
        n = int(name.split("x")[1]) if name != "bare" else None
        row = {"seconds": round(run["seconds"], 2),
               "words_per_s": round(words / run["seconds"]),
               "vs_bare": round(bare_run["seconds"] / run["seconds"], 3),
               "cpu_seconds": round(run["cpu_seconds"], 2),
               "cpu_vs_bare": round(run["cpu_seconds"] / bare_run["cpu_seconds"], 3),
               "load": [run["load_before"], run["load_after"]]}
        if n is not None:
            row.update(vs_job_x1=round(one["seconds"] / run["seconds"], 3),
                       startup_seconds=round(startup[n]["seconds"], 2),
                       startup_share=round(startup[n]["seconds"] / run["seconds"], 3),
                       startup_cpu_seconds=round(startup[n]["cpu_seconds"], 2),
                       cpu_after_startup=round(run["cpu_seconds"]
                                               - startup[n]["cpu_seconds"], 2),
                       shards=run["shards"], stage_seconds=run["stage_seconds"],
                       stage_share=run["stage_share"], peak_rss_mb=run["peak_rss_mb"])
        rows[name] = row
        split = ", ".join(f"{k} {v:.1%}" for k, v in row.get("stage_share", {}).items())
        print(f"{name:<10} {row['seconds']:>8.1f} {row['words_per_s']:>9} "
              f"{row['vs_bare']:>8.3f} {row.get('vs_job_x1', ''):>9} "
              f"{row.get('startup_share', ''):>9} {row.get('shards', ''):>6} "
              f"{row['cpu_seconds']:>7.1f} {row['cpu_vs_bare']:>8.3f}  "
              f"{row['load'][0]:>5} / {row['load'][1]:<5}  {split}")
    return {"docs": options.docs, "words": words, "corpus_bytes": size,
            "model": options.model, "cpus": os.cpu_count(), "passes": options.passes,
            "runs": rows}


if __name__ == "__main__":
    main()
