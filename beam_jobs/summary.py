"""run_summary.json: what a run read, annotated and dead-lettered, and how fast.

The counts are computed from the elements themselves (not from metrics, which some runners
report only as "attempted"): the annotate job counts each shard's records as it writes them
and keeps the counts in the shard's manifest (shards.py); the launcher sums the manifests,
so a resumed run reports what an uninterrupted one does. `read` counts records as read,
`annotated` the rows written, `dead_lettered` the dead-letter rows: `reconciled` says
read = annotated + dead-lettered. The launcher adds wall-clock time, throughput and peak
memory when the job has finished. The run writes into a staging area (output_dir.py), so
`files` names each file where it will be once the run is committed, not where it is being
written.
"""
import json
from typing import Any, Dict, List, Tuple

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

SUMMARY_NAME = "run_summary.json"


def tuple_sum(width: int) -> beam.CombineFn:
    """Element-wise sum of `width`-tuples of numbers; zeros for an empty input."""
    return beam.combiners.TupleCombineFn(*[sum] * width)


def _rate(amount: float, seconds: float) -> float | None:
    return round(amount / seconds, 1) if seconds > 0 else None


def make_summary(static: Dict[str, Any], read_counts: Tuple[int, int],
                 stats: Tuple[int, int, int, float], dead_by_reason: Dict[str, int],
                 annotation_files: List[str], dead_letter_files: List[str]) -> Dict[str, Any]:
    """The summary dict from the pipeline's combined counts (see the module docstring)."""
    n_read, n_blank = read_counts
    n_docs, n_tokens, n_chars, seconds = stats
    n_dead = sum(dead_by_reason.values())
    summary = dict(static)
    summary["counts"] = {
        "read": n_read, "annotated": n_docs, "dead_lettered": n_dead,
        "dead_letter_by_reason": dict(sorted(dead_by_reason.items())),
        "blank_lines": n_blank, "tokens": n_tokens, "chars": n_chars,
    }
    summary["reconciled"] = n_read == n_docs + n_dead
    summary["annotate_seconds"] = round(seconds, 3)
    summary["per_annotate_second"] = {"docs": _rate(n_docs, seconds),
                                      "words": _rate(n_tokens, seconds)}
    summary["files"] = {"annotations": sorted(annotation_files),
                        "dead_letter": sorted(dead_letter_files)}
    return summary


def write_json(path: str, data: Dict[str, Any]) -> None:
    with FileSystems.create(path, mime_type="application/json") as file_:
        file_.write(json.dumps(data, indent=2, ensure_ascii=False).encode("utf8") + b"\n")


def read_json(path: str) -> Dict[str, Any]:
    with FileSystems.open(path) as file_:
        return json.loads(file_.read().decode("utf8"))
