"""Memory of the vector-conversion job's worker processes: each one's peak RSS in the
job's metrics namespace (`peak_memory`, shared with the annotate job) and the allocator
settings that make a worker hand freed buffers back to the system.
"""
import os
from typing import Dict

from apache_beam.metrics.metric import MetricsFilter

from nlp_core.malloc import set_malloc

from . import peak_memory
from .peak_memory import peak_rss_kib, worker_name

PEAK_RSS_NAMESPACE = "convert_vectors.peak_rss_kib"
IDLE_RSS_NAMESPACE = "convert_vectors.idle_rss_kib"


_malloc_set_pid = None


def return_freed_memory() -> None:
    """Make this worker process hand freed buffers back to the system (once per process):
    glibc's mmap threshold fixed at its default, so a chunk's ~10 MB of text and numbers
    is unmapped when freed instead of staying in the heap after the threshold has risen,
    and at most two malloc arenas, where Beam's threads would otherwise each keep their
    own arena of freed blocks. As `init vectors` does (cli/init_vectors.py); nothing on a
    C library other than glibc."""
    global _malloc_set_pid
    if _malloc_set_pid == os.getpid():
        return
    _malloc_set_pid = os.getpid()
    set_malloc(mmap_threshold=128 * 1024, arena_max=2)


def note_peak_rss() -> None:
    """Record this process's peak RSS so far in the job's metrics distribution."""
    peak_memory.note_peak_rss(PEAK_RSS_NAMESPACE)


def note_idle_rss(kib: int) -> None:
    """Record `kib`, this process's peak RSS before its first piece of work (taken in a
    step's setup: the interpreter, Beam's SDK harness, beam_jobs and nlp_core imported;
    noted from inside a bundle, where Beam's metrics are counted); the smallest value a
    worker noted is its idle baseline (`idle_rss_by_worker`)."""
    peak_memory._distribution(IDLE_RSS_NAMESPACE).update(kib)


def idle_rss_by_worker(result) -> Dict[str, float]:
    """{worker name: idle baseline in MiB} (see `note_idle_rss`); empty when the runner
    reports no metrics."""
    try:
        found = result.metrics().query(MetricsFilter().with_namespace(IDLE_RSS_NAMESPACE))
    except (NotImplementedError, AttributeError):
        return {}
    idle: Dict[str, int] = {}
    for item in found.get("distributions", []):
        value = item.committed if item.committed is not None else item.attempted
        if value is None or value.min is None:
            continue
        name = item.key.metric.name
        idle[name] = min(idle.get(name, value.min), int(value.min))
    return {name: round(kib / 1024, 1) for name, kib in sorted(idle.items())}


def peak_rss_by_worker(result) -> Dict[str, float]:
    """{worker name: peak RSS in MiB} from a finished pipeline's metrics (see
    `peak_memory.peak_rss_by_worker`)."""
    return peak_memory.peak_rss_by_worker(result, PEAK_RSS_NAMESPACE)


__all__ = ["IDLE_RSS_NAMESPACE", "PEAK_RSS_NAMESPACE", "idle_rss_by_worker",
           "note_idle_rss", "note_peak_rss", "peak_rss_by_worker", "peak_rss_kib",
           "return_freed_memory", "worker_name"]
