"""Peak memory of each worker process of a job, as Beam metrics and in run_summary.json.

A step calls `note_peak_rss(namespace)` after its work: a Beam metrics distribution named
after the process (`<host>:<pid>`) in the job's `namespace` records the process's peak
resident set so far (Linux: `VmHWM` of /proc/self/status, the high-water mark of this
process's own memory; elsewhere `ru_maxrss`). The peak only grows, so the distribution's
max is the process's peak over the steps it ran. After the run `peak_rss_by_worker` reads
them back from the pipeline result. `note_peak_gpu` does the same for the memory a
pipeline on a GPU has held (torch's and cupy's allocators).

`ru_maxrss` is not used on Linux because a worker that Beam starts with fork + exec keeps
the launcher's peak at the time of the fork in it (the kernel carries the old memory's
high-water mark across exec), which would credit every worker with the launcher's memory.

The convert_vectors job uses it through vector_memory.py (its namespace and its workers'
allocator settings).
"""
import os
import resource
import socket
import sys
from typing import Dict, Optional

from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter

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


def gpu_peak_kib(gpu_id: int) -> Optional[int]:
    """The most GPU memory this process has held on GPU `gpu_id` through torch's caching
    allocator plus what cupy's memory pool holds now (thinc's arrays), in KiB; None when
    neither library is in use."""
    total, found = 0, False
    torch = sys.modules.get("torch")  # only when the pipeline already imported it
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        total += torch.cuda.max_memory_reserved(gpu_id)
        found = True
    cupy = sys.modules.get("cupy")
    if cupy is not None:
        total += cupy.get_default_memory_pool().total_bytes()
        found = True
    return total >> 10 if found else None


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


_distributions: Dict[tuple, object] = {}


def _distribution(namespace: str, prefix: str = ""):
    key = (namespace, prefix, os.getpid())  # a forked process names itself anew
    if key not in _distributions:
        name = f"{prefix}@{worker_name()}" if prefix else worker_name()
        _distributions[key] = Metrics.distribution(namespace, name)
    return _distributions[key]


def note_value(namespace: str, value: int, prefix: str) -> None:
    """Record `value` in this process's distribution `<prefix>@<worker>` in `namespace`
    (e.g. the max_batch_items a transformer component settled on)."""
    _distribution(namespace, prefix).update(int(value))


def note_peak_rss(namespace: str) -> None:
    """Record this process's peak RSS so far in its distribution in `namespace`."""
    _distribution(namespace).update(peak_rss_kib())


def note_peak_gpu(namespace: str, gpu_id: int) -> None:
    """Record this process's GPU memory peak (see `gpu_peak_kib`), when it uses a GPU."""
    peak = gpu_peak_kib(gpu_id)
    if peak is not None:
        _distribution(namespace).update(peak)


def peak_rss_by_worker(result, namespace: str) -> Dict[str, float]:
    """{worker name: peak in MiB} from a finished pipeline's distributions in `namespace`
    (committed values; attempted ones where the runner reports no committed metrics).
    Empty when the runner reports no metrics."""
    return {name: round(kib / 1024, 1) for name, kib in max_by_name(result, namespace).items()}


def max_by_name(result, namespace: str) -> Dict[str, int]:
    """{distribution name: its max} of a finished pipeline's distributions in `namespace`
    (as `peak_rss_by_worker`)."""
    try:
        found = result.metrics().query(MetricsFilter().with_namespace(namespace))
    except (NotImplementedError, AttributeError):
        return {}
    peaks: Dict[str, int] = {}
    for item in found.get("distributions", []):
        value = item.committed if item.committed is not None else item.attempted
        if value is None or value.max is None:
            continue
        name = item.key.metric.name
        peaks[name] = max(peaks.get(name, 0), int(value.max))
    return dict(sorted(peaks.items()))
