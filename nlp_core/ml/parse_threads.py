"""Threads for the parser's and entity recogniser's greedy C loop at inference.

    import nlp_core
    nlp_core.set_parse_threads(8)     # this process; 1 (the default) parses on the caller

A parse runs in chunks of about 2,048 tokens (`TransitionParser.predict`). Each chunk's
features are precomputed (one matrix product, on the pipeline's device) and then its states
are run to the end by a C loop on the host that holds no GIL and shares nothing writable
with other chunks. With N threads up to N chunks' loops run at once, and the caller
precomputes the next chunk while up to N - 1 of them run.

Where it pays: on a GPU the precompute is cheap and the loops are what the host does, on
one core, while the machine's other cores idle (the annotate job with --gpu sets the
threads from the cores it may use: `default_gpu_threads`). On the CPU the precompute is
most of the time and the job's worker processes already fill the cores, so the default is
1; a single process on an otherwise idle multi-core machine gains by overlapping the loop
of one chunk with the precompute of the next. Each chunk in flight on the CPU holds its
own precomputed features (en_ewt_sm's parser: 41 MB), so memory grows by that per thread.
The parses are the same whatever the number of threads.
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

from ..errors import Errors

# threads beyond this gain nothing measurable: a batch of the job has about 8 chunks
MAX_DEFAULT_THREADS = 8

_threads = 1
_pool: Optional[ThreadPoolExecutor] = None
_pool_threads = 0
_pool_pid = 0
_lock = threading.Lock()


def set_parse_threads(n: int) -> None:
    """Parse up to `n` chunks at once in this process (1: on the calling thread).

    Raises:
        ValueError: E727 when `n` is not a positive integer.
    """
    global _threads
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(Errors.E727.format(value=n))
    _threads = n


def parse_threads() -> int:
    """The number of chunks parsed at once in this process."""
    return _threads


def usable_cpus() -> int:
    """The cores this process may run on (its affinity where the OS gives it; all of the
    machine's elsewhere). Also beam_jobs' `workers.machine_cores` and init vectors'
    pruning threads."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_gpu_threads(processes: int = 1) -> int:
    """Parse threads for a process that runs its pipeline on a GPU: its share of the cores
    it may use (`processes` such processes on the machine share them) but one (the
    caller's, which drives the GPU), at most MAX_DEFAULT_THREADS, at least 1."""
    return max(1, min(MAX_DEFAULT_THREADS, usable_cpus() // max(processes, 1) - 1))


def executor() -> ThreadPoolExecutor:
    """The process's pool of `parse_threads()` workers, made again when that number
    changes, and in a process forked from one that had a pool (the pool's threads do not
    exist there: work handed to it would never run).

    A replaced pool is not shut down: a parse on another thread may still be handing it
    work (submitting to a shut-down pool raises). Its idle threads end once the last
    caller lets it go (ThreadPoolExecutor wakes them when it is collected)."""
    global _pool, _pool_threads, _pool_pid
    with _lock:
        if _pool is None or _pool_threads != _threads or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(_threads, thread_name_prefix="nlp-core-parse")
            _pool_threads, _pool_pid = _threads, os.getpid()
        return _pool


def _after_fork_in_child() -> None:
    """A lock held by another thread of the parent at the fork stays held in the child:
    the child gets a free one."""
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)
