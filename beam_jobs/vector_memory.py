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
import ctypes
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


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameters
M_ARENA_MAX = -8
_malloc_set_pid = None


def return_freed_memory() -> None:
    """Make this worker process hand freed buffers back to the system (once per process):
    glibc's mmap threshold fixed at its default, so a chunk's ~10 MB of text and numbers
    is unmapped when freed instead of staying in the heap after the threshold has risen,
    and at most two malloc arenas, where Beam's threads would otherwise each keep their
    own arena of freed blocks. As `init vectors` does (cli/init_vectors.py); nothing on a
    C library other than glibc."""
    global _malloc_set_pid
    if _malloc_set_pid == os.getpid() or not sys.platform.startswith("linux"):
        return
    _malloc_set_pid = os.getpid()
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(M_MMAP_THRESHOLD, 128 * 1024)
        libc.mallopt(M_ARENA_MAX, 2)
    except (OSError, AttributeError):  # not glibc (musl): nothing to set
        pass


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
