"""Acceptance run of the annotate job (issue 5, "Must show"), for any pipeline:

    OPENBLAS_NUM_THREADS=1 python benchmarks/annotate_acceptance.py --model en_ewt_sm
    # options: --records 10000 --bad-fraction 0.1 --rss 10000,100000 (0 to skip)
    #          --workdir DIR (default: a temporary directory, removed afterwards)

1. Builds a JSONL corpus of `--records` records (EWT test documents of up to 3 sentences),
   `--bad-fraction` of them malformed, equally of every kind the job dead-letters
   (annotate_corpus.BAD_KINDS).
2. Runs `python -m beam_jobs.annotate` on it on FnApiRunner in memory, on FnApiRunner with
   `--direct_running_mode=multi_processing --direct_num_workers=2`, and in memory again.
   Each run: read = annotated + dead-lettered exactly, and each count is what the corpus
   holds (dead letters by reason included); the Parquet opens in pyarrow, DuckDB and Polars
   with the schema name and version in its metadata and the documented columns. The three
   runs give identical rows (sorted by source and offset).
3. Peak RSS of the job (in-memory runner, one process) on `--rss` corpora of short
   documents (one EWT train sentence each, no bad records), with the default options and
   with `--row-group-mb 1 --allow-duplicate-ids` ("bounded"). With the defaults it grows
   until the row-group buffer (64 MiB of Arrow data) is full, and by the duplicate-id
   shuffle, which this runner keeps in memory (about 150-200 bytes per record with an id);
   "bounded" must stay flat (under 5% more for the larger corpus).

Each job runs in its own process, started by a small Python parent that reports its
children's `ru_maxrss`. Prints one line per check and a summary; exits 1 if a check failed.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(REPO_ROOT))

import annotate_corpus  # noqa: E402

MULTI = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
# runs a command and prints the peak RSS (kB) of its largest process (Linux ru_maxrss)
RSS_WRAPPER = ("import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
               "print('MAXRSS', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
               "file=sys.stderr); sys.exit(rc)")


class Checks:
    def __init__(self):
        self.failed = []

    def __call__(self, name: str, ok: bool, detail: str = "") -> bool:
        print(f"  [{'ok' if ok else 'FAIL'}] {name}" + (f": {detail}" if detail else ""),
              flush=True)
        if not ok:
            self.failed.append(name)
        return ok


def run_job(corpus: Path, output: Path, model: str, extra=()) -> dict:
    """Runs the job in a child process; returns its run summary with `peak_rss_mb` and the
    job's printed report."""
    command = [sys.executable, "-c", RSS_WRAPPER, sys.executable, "-m", "beam_jobs.annotate",
               "--input", str(corpus), "--output", str(output), "--model", model,
               "--max-chars", str(annotate_corpus.OVERSIZE_LIMIT), "--overwrite", *extra]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p))
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"the job failed ({' '.join(command[3:])}):\n{done.stderr[-3000:]}")
    rss_kb = int(next(line.split()[1] for line in done.stderr.splitlines()
                      if line.startswith("MAXRSS")))
    summary = json.loads((output / "run_summary.json").read_text())
    summary["peak_rss_mb"] = round(rss_kb / 1024, 1)
    summary["process_seconds"] = round(seconds, 1)
    summary["report"] = done.stdout.strip()
    return summary


def check_counts(check: Checks, label: str, summary: dict, n_read: int, bad: dict) -> None:
    counts = summary["counts"]
    check(f"{label}: read = annotated + dead-lettered",
          summary["reconciled"] and counts["read"] == counts["annotated"] +
          counts["dead_lettered"],
          f"{counts['read']} = {counts['annotated']} + {counts['dead_lettered']}")
    check(f"{label}: counts are the corpus's",
          counts["read"] == n_read and counts["dead_letter_by_reason"] == dict(sorted(
              bad.items())), json.dumps(counts["dead_letter_by_reason"]))


def check_engines(check: Checks, label: str, output: Path, n_rows: dict) -> None:
    import duckdb
    import polars as pl
    import pyarrow.parquet as pq

    from schemas import SCHEMA_NAME_KEY, annotations, dead_letter, schema_identity

    for table, module in (("annotations", annotations), ("dead_letter", dead_letter)):
        files = sorted((output / table).glob("part-*.parquet"))
        arrow = [pq.read_table(f) for f in files]
        ok = all(schema_identity(t.schema.metadata) == (module.NAME, module.VERSION)
                 and [(f.name, f.type) for f in t.schema] ==
                 [(f.name, f.type) for f in module.SCHEMA] for t in arrow)
        rows = sum(t.num_rows for t in arrow)
        check(f"{label}: pyarrow reads {table}", ok and rows == n_rows[table],
              f"{rows} rows in {len(files)} file(s), schema {module.NAME} v{module.VERSION}")
        glob = f"{output}/{table}/*.parquet"
        meta = dict(duckdb.sql(f"SELECT key, value FROM parquet_kv_metadata('{glob}')")
                    .fetchall())
        columns = [r[0] for r in duckdb.sql(f"DESCRIBE SELECT * FROM '{glob}'").fetchall()]
        rows = duckdb.sql(f"SELECT count(*) FROM '{glob}'").fetchall()[0][0]
        check(f"{label}: DuckDB reads {table}",
              meta.get(SCHEMA_NAME_KEY.encode()) == module.NAME.encode()
              and columns == module.SCHEMA.names and rows == n_rows[table], f"{rows} rows")
        frame = pl.read_parquet(glob)
        polars_meta = pl.read_parquet_metadata(files[0])
        check(f"{label}: Polars reads {table}",
              polars_meta.get(SCHEMA_NAME_KEY) == module.NAME
              and frame.columns == module.SCHEMA.names and frame.height == n_rows[table],
              f"{frame.height} rows")


def sorted_rows(output: Path, table: str) -> list:
    import pyarrow.parquet as pq

    rows = [r for f in sorted((output / table).glob("part-*.parquet"))
            for r in pq.read_table(f).to_pylist()]
    return sorted(rows, key=lambda r: (r["source"], r["offset"]))


def acceptance(check: Checks, model: str, root: Path, n_records: int, bad_fraction: float
               ) -> dict:
    n_bad_per_kind = round(n_records * bad_fraction / len(annotate_corpus.BAD_KINDS))
    n_good = n_records - n_bad_per_kind * len(annotate_corpus.BAD_KINDS)
    lines, bad = annotate_corpus.build(n_good, n_bad_per_kind, source="test")
    corpus = root / f"corpus_{n_records}.jsonl"
    annotate_corpus.write(corpus, lines)
    print(f"corpus: {corpus} ({len(lines)} records, {sum(bad.values())} malformed: "
          f"{n_bad_per_kind} of each of {len(bad)} kinds)", flush=True)
    n_rows = {"annotations": n_good, "dead_letter": sum(bad.values())}
    runs = {}
    for label, extra in (("in-memory", ["--runner=FnApiRunner"]),
                         ("multi-processing x2", ["--runner=FnApiRunner", *MULTI]),
                         ("in-memory, second run", ["--runner=FnApiRunner"])):
        output = root / f"out_{len(runs)}"
        summary = run_job(corpus, output, model, extra)
        print(f"{label}: {summary['wall_seconds']} s, "
              f"{summary['per_wall_second']['words']:,.0f} words/s, peak RSS "
              f"{summary['peak_rss_mb']} MB", flush=True)
        check_counts(check, label, summary, len(lines), bad)
        check_engines(check, label, output, n_rows)
        runs[label] = (output, summary)
    first = runs["in-memory"][0]
    reference = {t: sorted_rows(first, t) for t in ("annotations", "dead_letter")}
    for label in ("multi-processing x2", "in-memory, second run"):
        for table in ("annotations", "dead_letter"):
            same = sorted_rows(runs[label][0], table) == reference[table]
            check(f"{label}: identical {table} rows to the first run", same,
                  f"{len(reference[table])} rows")
    return {label: {k: s[k] for k in ("wall_seconds", "peak_rss_mb", "counts")}
            for label, (_, s) in runs.items()}


# the two things in the job that grow with the corpus, both bounded or optional (see
# benchmarks/README.md): the Parquet row-group buffer (--row-group-mb, 64 MiB of Arrow
# data by default) and the duplicate-id pass (an in-memory shuffle of (id, position) pairs
# on this runner); "bounded" turns both down, and its peak RSS must stay flat
MEMORY_CONFIGS = (("defaults", []),
                  ("bounded", ["--row-group-mb", "1", "--allow-duplicate-ids"]))


def memory(check: Checks, model: str, root: Path, sizes) -> dict:
    results = {}
    for name, extra in MEMORY_CONFIGS:
        results[name] = {}
        for n in sizes:
            lines, _ = annotate_corpus.build(n, 0, source="train", max_sents=1)
            corpus = root / f"short_{n}.jsonl"
            annotate_corpus.write(corpus, lines)
            summary = run_job(corpus, root / f"rss_{n}", model,
                              ["--runner=FnApiRunner", *extra])
            counts = summary["counts"]
            results[name][n] = {"peak_rss_mb": summary["peak_rss_mb"],
                                "wall_seconds": summary["wall_seconds"],
                                "words": counts["tokens"],
                                "words_per_s": summary["per_wall_second"]["words"],
                                "corpus_mb": round(corpus.stat().st_size / 1e6, 1)}
            print(f"{name} {' '.join(extra)}: {n:,} short documents "
                  f"({results[name][n]['corpus_mb']} MB, {counts['tokens']:,} words): peak "
                  f"RSS {summary['peak_rss_mb']} MB, {summary['wall_seconds']} s", flush=True)
            check(f"{name}: {n:,} short documents reconcile", summary["reconciled"]
                  and counts["annotated"] == n)
        if len(sizes) > 1:
            small, large = results[name][min(sizes)], results[name][max(sizes)]
            growth = large["peak_rss_mb"] - small["peak_rss_mb"]
            detail = (f"{small['peak_rss_mb']} MB -> {large['peak_rss_mb']} MB ({growth:+.1f} "
                      f"MB for {max(sizes) // min(sizes)}x the documents)")
            if name == "bounded":  # flat within noise: under 5% for a 10x larger corpus
                check("bounded: peak RSS does not grow with the corpus",
                      growth < 0.05 * small["peak_rss_mb"], detail)
            else:
                print(f"  [info] {name}: {detail}", flush=True)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="--model of the job (name or path)")
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--bad-fraction", type=float, default=0.1)
    parser.add_argument("--rss", default="10000,100000",
                        help="comma-separated corpus sizes for the peak-RSS runs; 0 skips")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--only-rss", action="store_true",
                        help="skip the acceptance runs, measure peak RSS only")
    options = parser.parse_args(argv)
    model = options.model if not Path(options.model).exists() \
        else str(Path(options.model).resolve())
    sizes = [int(s) for s in options.rss.split(",") if int(s) > 0]
    check = Checks()
    with tempfile.TemporaryDirectory(prefix="annotate_acceptance_") as tmp:
        root = options.workdir or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        print(f"model: {model}; {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f}", flush=True)
        summary = {"model": model, "date": time.strftime("%Y-%m-%d"),
                   "load_average": os.getloadavg()[0]}
        if not options.only_rss:
            summary["runs"] = acceptance(check, model, root, options.records,
                                         options.bad_fraction)
        if sizes:
            summary["memory"] = memory(check, model, root, sizes)
    print("summary:", json.dumps(summary, indent=1))
    print(f"{'FAILED: ' + ', '.join(check.failed) if check.failed else 'all checks passed'}")
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
