"""Near-duplicate removal, evaluated: NearDedupe on a planted EWT/UNER corpus (FnApiRunner).

    python benchmarks/dedupe_eval.py                       # 20,000 documents, threshold 0.8
    python benchmarks/dedupe_eval.py --datatrove-python /work/dedupe-venv/bin/python
    python benchmarks/dedupe_eval.py --scaling 50000,100000,200000 --docs 0

Builds the corpus of `dedupe_corpus.py` (planted exact and near duplicates, exact 5-gram
Jaccard ground truth), runs NearDedupe and prints: recall on the pairs of true Jaccard
>= 0.85 (target >= 0.95), recall on exact copies (target 1.0), the share of documents
without any duplicate (true Jaccard < 0.5 to every other) that were removed (target
<= 0.01), and per true-Jaccard band the true pairs, how many were found and how many
removals fell there. With --datatrove-python the same corpus goes through datatrove's
MinHash dedup (`dedupe_datatrove.py`) with the same bands x rows, scored the same way.
--scaling times NearDedupe alone on corpora of those sizes (documents/s; the machine is
shared, so the figures are ratios to the smallest size of the same run).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Sequence, Tuple

import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dedupe_corpus  # noqa: E402  (beside this script)

from beam_jobs.near_dedupe import NearDedupe, NearDedupeSettings  # noqa: E402


def _write(rows: list, path: str) -> None:
    with open(path, "w", encoding="utf8") as f:
        json.dump(sorted(rows), f)


def run_near_dedupe(docs: Sequence[Tuple[str, str]], settings: NearDedupeSettings):
    """NearDedupe on FnApiRunner (in memory), reading the documents from a JSONL file.

    Returns:
        (removed triples, {counter name: value}, seconds of the pipeline run, reading the
        file included).
    """
    with tempfile.TemporaryDirectory() as tmp:
        # the documents go in as a JSONL file: beam.Create would pickle and bz2-compress the
        # whole corpus into the pipeline (seconds that are not NearDedupe's)
        source = os.path.join(tmp, "docs.jsonl")
        with open(source, "w", encoding="utf8") as f:
            for doc_id, text in docs:
                f.write(json.dumps([doc_id, text]) + "\n")
        out = os.path.join(tmp, "removed.json")
        pipeline = beam.Pipeline(runner=FnApiRunner())
        _ = (pipeline
             | "Read" >> beam.io.ReadFromText(source)
             | "Parse" >> beam.Map(lambda line: tuple(json.loads(line)))
             | "NearDedupe" >> NearDedupe(settings)
             | "All" >> beam.combiners.ToList()
             | "Write" >> beam.Map(_write, out))
        start, cpu = time.perf_counter(), time.process_time()
        result = pipeline.run()
        result.wait_until_finish()
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu
        with open(out, encoding="utf8") as f:
            removed = [tuple(row) for row in json.load(f)]
    metrics = {"cpu_seconds": cpu_seconds}
    query = result.metrics().query()
    for counter in query["counters"]:
        metrics[counter.key.metric.name] = counter.committed
    for dist in query["distributions"]:
        d = dist.committed
        metrics[dist.key.metric.name] = {"count": d.count, "sum": d.sum, "min": d.min,
                                         "max": d.max}
    return removed, metrics, seconds


def run_datatrove(python: str, docs, bands: int, rows: int, own_norm: bool):
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus.jsonl")
        with open(corpus, "w", encoding="utf8") as f:
            for doc_id, text in docs:
                f.write(json.dumps({"id": doc_id, "text": text}) + "\n")
        out = os.path.join(tmp, "out.json")
        cmd = [python, str(Path(__file__).with_name("dedupe_datatrove.py")), corpus, out,
               "--bands", str(bands), "--rows", str(rows)]
        if own_norm:
            cmd.append("--own-normalisation")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(cmd, capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        if done.returncode:
            raise RuntimeError(f"datatrove failed ({done.returncode}):\n{done.stderr[-3000:]}")
        with open(out, encoding="utf8") as f:
            result = json.load(f)
    return [(a, b, float("nan")) for a, b in result["removed"]], result["seconds"], cpu


def report(name: str, scores: dict, seconds: float, cpu: float) -> List[str]:
    lines = [f"== {name}: {scores['removed']} of {scores['documents']} removed in "
             f"{seconds:.1f} s ({cpu:.1f} CPU s)",
             f"recall, true Jaccard >= 0.85: {scores['recall_jaccard_0.85']:.4f} "
             f"({scores['pairs_jaccard_0.85']} pairs)",
             f"recall, exact copies: {scores['recall_exact']:.4f} "
             f"({scores['exact_pairs']} pairs)",
             f"precision (true Jaccard to the kept doc >= threshold): "
             f"{scores['precision']:.4f}; removed docs with a true duplicate >= threshold: "
             f"{scores['removed_with_true_dup']:.4f}",
             f"documents without a duplicate removed: {scores['no_dup_removed_share']:.4%} "
             f"(of {scores['no_dup_docs']})",
             "band | true pairs | found | recall | removals with true J to kept here"]
    for band, row in scores["bands"].items():
        pairs = row.get("true_pairs", 0)
        recall = f"{row.get('found', 0) / pairs:.3f}" if pairs else "-"
        lines.append(f"{band} | {pairs} | {row.get('found', 0)} | {recall} | "
                     f"{row.get('removed', 0)}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--keep", default="first", choices=["first", "longest"])
    parser.add_argument("--datatrove-python", default=None)
    parser.add_argument("--scaling", default="", help="comma-separated corpus sizes")
    parser.add_argument("--json", default=None, help="write all figures to this file")
    args = parser.parse_args(argv)
    settings = NearDedupeSettings(threshold=args.threshold, keep=args.keep)
    figures = {"settings": {"bands": settings.bands, "rows": settings.rows,
                            "num_perm": settings.num_perm, "threshold": settings.threshold}}
    print(f"NearDedupe: num_perm {settings.num_perm}, {settings.bands} bands x "
          f"{settings.rows} rows, threshold {settings.threshold}, keep {settings.keep}")
    if args.docs:
        start = time.perf_counter()
        corpus = dedupe_corpus.build(args.docs, seed=args.seed)
        print(f"corpus: {len(corpus.docs)} documents, {len(corpus.planted)} planted, "
              f"{len(corpus.pairs)} pairs >= 0.5, built in {time.perf_counter() - start:.1f} s")
        removed, metrics, seconds = run_near_dedupe(corpus.docs, settings)
        scores = dedupe_corpus.score(corpus, removed, args.threshold)
        print("\n".join(report("NearDedupe", scores, seconds, metrics["cpu_seconds"])))
        print("metrics:", json.dumps(metrics))
        figures["near_dedupe"] = {"scores": scores, "metrics": metrics, "seconds": seconds}
        if args.datatrove_python:
            for own in (False, True):
                name = "datatrove" + (" (its own normalisation)" if own else "")
                try:
                    dt_removed, dt_seconds, dt_cpu = run_datatrove(args.datatrove_python, corpus.docs,
                                                           settings.bands, settings.rows, own)
                except RuntimeError as error:
                    print(f"== {name}: {error}")
                    continue
                dt_scores = dedupe_corpus.score(corpus, dt_removed, args.threshold)
                print("\n".join(report(name, dt_scores, dt_seconds, dt_cpu)))
                print(f"{name} / NearDedupe: {dt_seconds / seconds:.2f}x the wall time, "
                      f"{dt_cpu / metrics['cpu_seconds']:.2f}x the CPU time (same run)")
                figures[name] = {"scores": dt_scores, "seconds": dt_seconds, "cpu": dt_cpu}
    sizes = [int(n) for n in args.scaling.split(",") if n]
    base = None
    for n in sizes:
        docs = dedupe_corpus.build(n, seed=args.seed, truth=False).docs
        mb = sum(len(t.encode("utf8")) for _, t in docs) / 1e6
        removed, metrics, seconds = run_near_dedupe(docs, settings)
        rate = n / seconds
        base = base or rate
        cpu = metrics["cpu_seconds"]
        print(f"scaling: {n} docs ({mb:.1f} MB) in {seconds:.1f} s, {cpu:.1f} CPU s = "
              f"{n / cpu:.0f} docs/CPU s, {rate:.0f} docs/s wall ({rate / base:.2f}x the "
              f"smallest size's wall rate), {len(removed)} removed")
        figures.setdefault("scaling", []).append({"docs": n, "mb": mb, "seconds": seconds,
                                                  "cpu_seconds": cpu,
                                                  "removed": len(removed)})
    if args.json:
        with open(args.json, "w", encoding="utf8") as f:
            json.dump(figures, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
