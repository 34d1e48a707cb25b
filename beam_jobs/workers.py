"""How the annotate job spreads its work over worker processes: how many share this
machine's cores, how finely the input is cut into shards so that each gets work, and how
many BLAS / torch threads each process uses.

Two things stop a job from scaling with its worker processes on one machine:

- Too few shards. A shard is the unit a worker takes (shards.py); the local runners hand
  each process an equal share of the shard list, without moving work later. One 60 MiB
  file under `--shard-mb 64` is one shard, so a second process idles. `shard_bytes`
  therefore cuts the input into at least SHARDS_PER_PROCESS shards per process (never
  below MIN_SHARD_BYTES, never above --shard-mb), so the shares stay even within a
  shard's worth of work.
- Threads fighting over cores. OpenBLAS and torch each start one thread per core in every
  process: two processes on two cores then run four busy threads. `limit_threads` gives
  each worker process's torch `cores // processes` threads (a transformer's large matrix
  products gain from them) and numpy's BLAS one: the CNN pipelines' matrices are small
  (a batch's tokens by a few hundred), and OpenBLAS's spinning threads cost more CPU than
  they save (en_ewt_sm, one process on 2 cores: the same wall time with 1 thread as with
  2, a third less CPU), as `nlp_core train` already does (`single_blas_thread`). The
  user's environment variables, when set, rule instead.

And one thing slows each worker against a bare `nlp.pipe`: glibc's malloc hands the
pipeline's large, short-lived arrays back to the system and maps them again at the next
batch (page faults and system time). `steady_malloc` keeps them for reuse.
"""
import logging
import os
import sys
from typing import Iterable, List, Optional, Sequence

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import (
    DirectOptions,
    PipelineOptions,
    StandardOptions,
    WorkerOptions,
)

from nlp_core.malloc import set_malloc
from nlp_core.ml.parse_threads import default_gpu_threads, usable_cpus

from .records import JSONL

# runners whose SDK workers run on this machine
LOCAL_RUNNERS = ("FnApiRunner", "DirectRunner", "BundleBasedDirectRunner",
                 "SwitchingDirectRunner", "PrismRunner")
SHARDS_PER_PROCESS = 4
MIN_SHARD_BYTES = 256 << 10
# set by the user: the worker then keeps the thread counts these ask for
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "BLIS_NUM_THREADS")


def machine_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells it)."""
    return usable_cpus()


def runner_name(options: PipelineOptions) -> str:
    runner = options.view_as(StandardOptions).runner
    name = runner if isinstance(runner, str) or runner is None else type(runner).__name__
    return str(name).rsplit(".", 1)[-1]


def local_processes(options: PipelineOptions) -> Optional[int]:
    """How many SDK worker processes share this machine's cores: --direct_num_workers
    with `--direct_running_mode=multi_processing` on a local runner (0 means one per
    core, as Beam reads it), 1 for the other local modes (threads of one process); None
    for a remote runner, whose workers run elsewhere."""
    if runner_name(options) not in LOCAL_RUNNERS:
        return None
    direct = options.view_as(DirectOptions)
    if direct.direct_running_mode != "multi_processing":
        return 1
    workers = direct.direct_num_workers
    return machine_cores() if not workers or workers < 1 else workers


def planned_processes(options: PipelineOptions) -> int:
    """The worker processes to plan shards for: the local ones, else the remote runner's
    --num_workers / --max_num_workers (machines, a lower bound), else 1."""
    local = local_processes(options)
    if local is not None:
        return local
    worker = options.view_as(WorkerOptions)
    return max(worker.num_workers or 0, worker.max_num_workers or 0, 1)


def worker_threads(options: PipelineOptions) -> Optional[int]:
    """BLAS / torch threads per worker process: cores // local processes (at least 1);
    None for a remote runner (its machines' cores are not known here: left as they are)."""
    processes = local_processes(options)
    if processes is None:
        return None
    return max(1, machine_cores() // processes)


def gpu_parse_threads(options: PipelineOptions, given: Optional[int]) -> Optional[int]:
    """--parse-threads for GPU workers: `given` when set; with several local worker
    processes (multi_processing), each one's share of the cores (`default_gpu_threads`),
    so that together they do not ask for more threads than the machine has; None (each
    worker takes the default for one process per machine) otherwise."""
    processes = local_processes(options)
    if given is not None or processes is None or processes <= 1:
        return given
    return default_gpu_threads(processes)


def shard_bytes(plain_sizes: Iterable[int], shard_mb: int, processes: int) -> int:
    """The byte size of a plain JSONL file's shards: --shard-mb, or less, so that the plain
    files (their sizes) give SHARDS_PER_PROCESS shards per worker process, or fewer of at
    least MIN_SHARD_BYTES each, but always a multiple of the processes (so that each gets
    an equal share). Compressed and .spacy files are one shard each whatever this is.
    """
    cap = shard_mb << 20
    total = sum(plain_sizes)
    if processes <= 1 or total == 0:
        return cap
    wanted = SHARDS_PER_PROCESS * processes
    if total < wanted * MIN_SHARD_BYTES:  # a small input: fewer, not tiny, shards
        wanted = max(processes, total // MIN_SHARD_BYTES // processes * processes)
    return max(1, min(cap, -(-total // wanted)))  # ceil: the last shard a little smaller


_applied: Optional[int] = None


def limit_threads(threads: Optional[int]) -> None:
    """Give this process's numpy BLAS one thread (threadpoolctl) and torch `threads`, once
    per process; nothing for None, nor when the user set one of THREAD_VARIABLES."""
    global _applied
    if threads is None or _applied == threads:
        return
    _applied = threads
    if any(name in os.environ for name in THREAD_VARIABLES):
        logging.info("worker threads: left as the environment sets them")
        return
    # threadpoolctl loads the BLAS libraries' symbols: only in a worker that annotates
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits=1, user_api="blas")  # not as a context: for the process's life
    torch = sys.modules.get("torch")  # only when thinc (or a transformer) imported it
    if torch is not None:
        torch.set_num_threads(threads)


# glibc malloc settings of an annotating worker: arrays under 32 MiB come from the heap
# (not a fresh mmap each time) and up to 256 MiB of freed heap stays for the next batch.
# 16,000 EWT documents, en_ewt_sm, one worker: wall 31.5-34.4 s against 33.3-40.5 s with
# glibc's defaults, peak RSS 839 MB against 852 MB (benchmarks/README.md, scaling.py).
MALLOC_SETTINGS = {"mmap_threshold": 32 << 20, "trim_threshold": 256 << 20}
_malloc_pid: Optional[int] = None


def steady_malloc() -> None:
    """Apply MALLOC_SETTINGS to this process once; nothing when the user set one of glibc's
    MALLOC_* variables (theirs rule) or on a C library other than glibc."""
    global _malloc_pid
    if _malloc_pid == os.getpid():
        return
    _malloc_pid = os.getpid()
    if not set_malloc(**MALLOC_SETTINGS, respect_environment=True):
        logging.info("worker malloc: left as the environment or C library sets it")


def plain_sizes(paths: Sequence[str], kind: str) -> List[int]:
    """The sizes of the files that are split into byte ranges (plain JSONL)."""
    if kind != JSONL:
        return []
    plain = [path for path in paths
             if CompressionTypes.detect_compression_type(path) == CompressionTypes.UNCOMPRESSED]
    if not plain:
        return []
    return [meta.size_in_bytes for result in FileSystems.match(plain)
            for meta in result.metadata_list]
