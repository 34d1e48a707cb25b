"""run_summary.json: what a run read, annotated and dead-lettered, and how fast.

The counts are computed inside the pipeline from the elements themselves (not from metrics,
which some runners report only as "attempted"), and written by a last step that waits for
both Parquet outputs to be in place. `read` counts records as read, `annotated` the rows
written, `dead_lettered` the dead-letter rows: `reconciled` says read = annotated +
dead-lettered. The launcher adds wall-clock time and throughput when the job has finished.
The run writes into a staging area (output_dir.py), so `files` names each file where it
will be once the run is committed, not where it is being written.
"""
import json
from typing import Any, Callable, Dict, List, Tuple

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


def _write_summary(_, path: str, static, final_path, read_counts, stats, dead_by_reason,
                   annotation_files, dead_letter_files) -> Dict[str, Any]:
    summary = make_summary(static, read_counts, stats, dict(dead_by_reason),
                           [final_path(f) for f in annotation_files],
                           [final_path(f) for f in dead_letter_files])
    write_json(path, summary)
    return summary


def _same_path(path: str) -> str:
    return path


class WriteSummary(beam.PTransform):
    """Combines the counts and writes run_summary.json after both outputs are final;
    outputs the summary dict.

    Args:
        path: where to write run_summary.json.
        static: the summary's entries known before the run (job, model, options, ...).
        final_path: maps a written Parquet file to the path the summary names (its place
            after the staging area is committed).
    """

    def __init__(self, path: str, static: Dict[str, Any],
                 final_path: Callable[[str], str] = _same_path):
        super().__init__()
        self.path = path
        self.static = static
        self.final_path = final_path

    def expand(self, inputs):
        read_counts, stats, dead_letters, annotation_files, dead_letter_files = inputs
        p = read_counts.pipeline
        read_total = read_counts | "SumReads" >> beam.CombineGlobally(tuple_sum(2))
        stats_total = stats | "SumStats" >> beam.CombineGlobally(tuple_sum(4))
        by_reason = (dead_letters
                     | "Reasons" >> beam.Map(lambda letter: letter.error_type)
                     | "CountReasons" >> beam.combiners.Count.PerElement())
        return (p
                | "Once" >> beam.Create([None])
                | "Write" >> beam.Map(
                    _write_summary, self.path, self.static, self.final_path,
                    beam.pvalue.AsSingleton(read_total), beam.pvalue.AsSingleton(stats_total),
                    beam.pvalue.AsDict(by_reason), beam.pvalue.AsList(annotation_files),
                    beam.pvalue.AsList(dead_letter_files)))
