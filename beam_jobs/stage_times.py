"""Where the annotate job's time goes, as Beam metrics and in run_summary.json.

Each step adds the seconds it spent to a Beam counter (in microseconds, summed over every
worker process and thread) in the STAGE_NAMESPACE namespace:

    duplicate_ids  the duplicate-id pass (reading and checking the records with an id)
    read_check     a shard's reading, record checks and batching
    annotate       the pipeline (nlp.pipe) on each batch
    arrow          the batch's Docs -> Arrow record batches (annotations, tensors)
    write          Parquet writing and each shard's commit (a row group written on the
                   writer thread counts only while the shard waits for it: parquet.py)

`stage_seconds(result)` reads them back from the finished pipeline; `finish_summary`
(annotate.py) writes them with each one's share of the total as `stage_seconds` and
`stage_share`. They are CPU-side wall time inside the workers, so with N processes their
sum is up to N times the run's wall time.
"""
from typing import Dict

from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter

STAGE_NAMESPACE = "annotate.stage_us"
STAGES = ("duplicate_ids", "read_check", "annotate", "arrow", "write")


class StageClock:
    """The stage counters of one DoFn instance (make it in `setup`)."""

    def __init__(self):
        self._counters = {stage: Metrics.counter(STAGE_NAMESPACE, stage) for stage in STAGES}

    def add(self, stage: str, seconds: float) -> None:
        if seconds > 0:
            self._counters[stage].inc(int(seconds * 1e6))


def stage_seconds(result) -> Dict[str, float]:
    """stage -> seconds from a finished pipeline's metrics (committed values, attempted
    ones where the runner reports no committed ones); empty when it reports none."""
    try:
        found = result.metrics().query(MetricsFilter().with_namespace(STAGE_NAMESPACE))
    except Exception:  # a runner without metrics support: the summary goes without
        return {}
    totals: Dict[str, float] = {}
    for counter in found.get("counters", []):
        value = counter.committed if counter.committed is not None else counter.attempted
        name = counter.key.metric.name
        totals[name] = totals.get(name, 0) + (value or 0) / 1e6
    return {stage: round(totals[stage], 6) for stage in STAGES if stage in totals}


def stage_share(seconds: Dict[str, float]) -> Dict[str, float]:
    """Each stage's share of the stages' total (0-1)."""
    total = sum(seconds.values())
    return {stage: round(value / total, 4) for stage, value in seconds.items()} if total \
        else {}
