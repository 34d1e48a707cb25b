"""stats.json of the pretraining-corpus job: documents and words per step and reason,
duplicate clusters, shards, and the reconciliation

    documents read = written + filtered (by reason) + duplicates removed + dead-lettered

Counts come from the elements themselves (combined inside the pipeline, as the annotate
job's run_summary.json does), not from metrics. Steps, each with documents and words
(whitespace-separated) that went in and came out:

    input        valid records as read (dead letters are not documents)
    cleaned      after normalising and boilerplate-line removal (same documents)
    filtered     after the quality filters; `filtered_by_reason`
    exact_dedupe after exact dedupe; `exact_duplicates`
    near_dedupe  after near dedupe; `near_duplicates`
    written      documents written; `pieces` the shard entries they became
"""
from typing import Any, Dict, List, Tuple

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from .pretraining_shards import ShardInfo
from .summary import write_json

STATS_NAME = "stats.json"
FILTER_PREFIX = "filtered/"


def count_event(name: str):
    """A Map function: a document (id, text) -> (name, (1, words))."""
    def event(doc) -> Tuple[str, Tuple[int, int]]:
        return name, (1, len(doc[1].split()))
    return event


def histogram(sizes: Dict[int, int]) -> Dict[str, int]:
    return {str(size): count for size, count in sorted(sizes.items())}


def make_stats(static: Dict[str, Any], read_counts: Tuple[int, int],
               events: Dict[str, Tuple[int, int]], dead_by_reason: Dict[str, int],
               exact_sizes: Dict[int, int], near_sizes: Dict[int, int],
               shards: List[ShardInfo], files: Dict[str, List[str]]) -> Dict[str, Any]:
    """The stats dict (see the module docstring)."""
    n_read, n_blank = read_counts
    zero = (0, 0)

    def step(name: str) -> Dict[str, int]:
        docs, words = events.get(name, zero)
        return {"documents": docs, "words": words}

    filtered = {key[len(FILTER_PREFIX):]: {"documents": v[0], "words": v[1]}
                for key, v in sorted(events.items()) if key.startswith(FILTER_PREFIX)}
    n_filtered = sum(v["documents"] for v in filtered.values())
    n_exact = events.get("exact_duplicate", zero)[0]
    n_near = events.get("near_duplicate", zero)[0]
    n_dead = sum(dead_by_reason.values())
    n_written = events.get("written", zero)[0]
    stats = dict(static)
    stats["counts"] = {
        "read": n_read, "written": n_written, "filtered": n_filtered,
        "exact_duplicates": n_exact, "near_duplicates": n_near, "dead_lettered": n_dead,
        "filtered_by_reason": {k: v["documents"] for k, v in filtered.items()},
        "dead_letter_by_reason": dict(sorted(dead_by_reason.items())),
        "blank_lines": n_blank, "pieces": events.get("pieces", zero)[0],
    }
    stats["reconciled"] = n_read == n_written + n_filtered + n_exact + n_near + n_dead
    stats["steps"] = {
        "input": step("input"), "cleaned": step("cleaned"),
        "filters": {"out": step("after_filters"), "removed_by_reason": filtered},
        "exact_dedupe": {"out": step("after_exact"), "removed": step("exact_duplicate")},
        "near_dedupe": {"out": step("after_near"), "removed": step("near_duplicate")},
        "written": {"documents": step("written"), "pieces": step("pieces")},
    }
    stats["duplicate_clusters"] = {
        "exact": {"clusters": sum(exact_sizes.values()), "size_histogram":
                  histogram(exact_sizes)},
        "near": {"clusters": sum(near_sizes.values()), "size_histogram":
                 histogram(near_sizes)},
    }
    ordered = sorted(shards, key=lambda s: s.index)
    stats["shards"] = [s._asdict() for s in ordered]
    stats["files"] = {name: sorted(paths) for name, paths in files.items()}
    return stats


def _write_stats(_, path: str, static, final_path, read_counts, events, dead_by_reason,
                 exact_sizes, near_sizes, shards, dead_files, removed_files):
    files = {"dead_letter": [final_path(f) for f in dead_files]}
    if static["options"].get("write_removed"):
        files["removed"] = [final_path(f) for f in removed_files]
    stats = make_stats(static, read_counts, dict(events), dict(dead_by_reason),
                       dict(exact_sizes), dict(near_sizes), list(shards), files)
    write_json(path, stats)
    return stats


class WriteStats(beam.PTransform):
    """Combines the counts and writes stats.json once every output is in place; outputs
    the stats dict. Its input: a tuple of PCollections, (records read, blank lines) pairs,
    count events, (dead-letter reason, count) pairs, exact and near cluster sizes, the
    ShardInfos, and the dead-letter and removed files.

    Args:
        path: where to write stats.json (staged).
        static: entries known before the run (job, options, ...).
        final_path: maps a staged file to its committed place.
    """

    def __init__(self, path: str, static: Dict[str, Any], final_path):
        super().__init__()
        self.path = path
        self.static = static
        self.final_path = final_path

    def expand(self, inputs):
        (read_counts, events, dead_reasons, exact_sizes, near_sizes, shards, dead_files,
         removed_files) = inputs
        p = read_counts.pipeline
        read_total = read_counts | "SumReads" >> beam.CombineGlobally(
            beam.combiners.TupleCombineFn(sum, sum))
        totals = events | "SumEvents" >> beam.CombinePerKey(
            beam.combiners.TupleCombineFn(sum, sum))
        by_reason = dead_reasons | "CountReasons" >> beam.CombinePerKey(sum)
        exact_hist = exact_sizes | "ExactHistogram" >> beam.combiners.Count.PerElement()
        near_hist = near_sizes | "NearHistogram" >> beam.combiners.Count.PerElement()
        return (p
                | "Once" >> beam.Create([None])
                | "Write" >> beam.Map(
                    _write_stats, self.path, self.static, self.final_path,
                    beam.pvalue.AsSingleton(read_total), beam.pvalue.AsDict(totals),
                    beam.pvalue.AsDict(by_reason), beam.pvalue.AsDict(exact_hist),
                    beam.pvalue.AsDict(near_hist), beam.pvalue.AsList(shards),
                    beam.pvalue.AsList(dead_files), beam.pvalue.AsList(removed_files)))


def report_lines(stats: Dict[str, Any]) -> List[str]:
    """What `main` prints at the end: stats.json in short."""
    c = stats["counts"]
    check = "reconciled" if stats["reconciled"] else "NOT RECONCILED"
    steps = stats["steps"]
    lines = [f"read {c['read']} documents = {c['written']} written + {c['filtered']} "
             f"filtered + {c['exact_duplicates']} exact duplicates + {c['near_duplicates']} "
             f"near duplicates + {c['dead_lettered']} dead-lettered ({check})"]
    for name, reasons in (("filtered", c["filtered_by_reason"]),
                          ("dead letters", c["dead_letter_by_reason"])):
        text = ", ".join(f"{k}: {v}" for k, v in reasons.items())
        lines.append(f"  {name} by reason: {text or 'none'}")
    lines.append(f"  words: {steps['input']['words']} in, "
                 f"{steps['written']['documents']['words']} written")
    clusters = stats["duplicate_clusters"]
    lines.append(f"  duplicate clusters: {clusters['exact']['clusters']} exact, "
                 f"{clusters['near']['clusters']} near")
    shards = stats["shards"]
    lines.append(f"shards: {len(shards)} in {stats['shards_dir']} ({c['pieces']} "
                 f"{stats['output_format']} entries)")
    if "removed" in stats["files"]:
        lines.append(f"removed: {FileSystems.join(stats['output'], 'removed')}")
    lines.append(f"stats: {FileSystems.join(stats['output'], STATS_NAME)}")
    lines.append(f"{stats['per_wall_second']['documents']:.0f} documents/s, "
                 f"{stats['per_wall_second']['mb']:.2f} MB/s ({stats['wall_seconds']:.1f} s)")
    return lines
