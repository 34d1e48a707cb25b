"""Peak memory of each worker process of the vector-conversion job.

Every step of the job that holds rows calls `note_peak_rss()` after its work: a Beam
metrics distribution named after the process (`<host>:<pid>`) in the namespace
`PEAK_RSS_NAMESPACE` records the process's peak resident set so far (Linux: `VmHWM` of
/proc/self/status, the high-water mark of this process's own memory; elsewhere
`ru_maxrss`). The peak only grows, so the distribution's max is the process's peak over
the steps it ran. After the run `peak_rss_by_worker` reads them back from the pipeline
result; `run_summary.json` lists them with the launching process's own peak.

`ru_maxrss` is not used on Linux because a worker that Beam starts with fork + exec keeps
the launcher's peak at the time of the fork in it (the kernel carries the old memory's
high-water mark across exec), which would credit every worker with the launcher's memory.
"""
import os
import resource
import socket
import sys
from typing import Dict

from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter

PEAK_RSS_NAMESPACE = "convert_vectors.peak_rss_kib"
_STATUS = "/proc/self/status"


def peak_rss_kib() -> int:
    """This process's peak resident set in KiB."""
    if sys.platform.startswith("linux"):
        try:
            with open(_STATUS, "rb") as status:
                for line in status:
                    if line.startswith(b"VmHWM:"):
                        return int(line.split()[1])
        except (OSError, ValueError, IndexError):
            pass  # no /proc (a sandbox): ru_maxrss below
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # macOS: bytes


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


_distribution = None
_distribution_pid = None


def note_peak_rss() -> None:
    """Record this process's peak RSS so far in its metrics distribution."""
    global _distribution, _distribution_pid
    if _distribution is None or _distribution_pid != os.getpid():
        _distribution = Metrics.distribution(PEAK_RSS_NAMESPACE, worker_name())
        _distribution_pid = os.getpid()
    _distribution.update(peak_rss_kib())


def peak_rss_by_worker(result) -> Dict[str, float]:
    """{worker name: peak RSS in MiB} from a finished pipeline's metrics (committed values;
    attempted ones where the runner reports no committed metrics). Empty when the runner
    reports no metrics."""
    try:
        found = result.metrics().query(MetricsFilter().with_namespace(PEAK_RSS_NAMESPACE))
    except (NotImplementedError, AttributeError):
        return {}
    peaks: Dict[str, int] = {}
    for item in found.get("distributions", []):
        value = item.committed if item.committed is not None else item.attempted
        if value is None or value.max is None:
            continue
        name = item.key.metric.name
        peaks[name] = max(peaks.get(name, 0), int(value.max))
    return {name: round(kib / 1024, 1) for name, kib in sorted(peaks.items())}
