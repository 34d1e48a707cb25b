"""`nlp.pipe(texts, n_process=N)`: the pipeline run in N worker processes.

Worker processes never receive a pickled model: the parent writes the pipeline with
`nlp.to_disk` into a temporary directory and each worker rebuilds it from there. Texts go to
the workers as strings (pre-tokenized Docs as `Doc.to_bytes()` msgpack) and annotated Docs
come back as msgpack bytes, read into the parent's vocab with `Doc.from_bytes`.
"""
import multiprocessing
import queue
import sys
import tempfile
import threading
import traceback
from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, Tuple, Type

from .errors import Errors
from .language_disk import load_from_directory
from .tokens import Doc

if TYPE_CHECKING:
    from .language import Language

# Batches in flight per worker: enough to keep workers busy, few enough to bound memory.
_PREFETCH = 2
_POLL_SECONDS = 0.1


def _start_context() -> multiprocessing.context.BaseContext:
    # fork keeps the factories and functions the parent registered at run time (in a script
    # or a test) available to the workers; spawn is the fallback where fork does not exist.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _encode(item: Any) -> Tuple[str, Any]:
    if isinstance(item, str):
        return "text", item
    if isinstance(item, Doc):
        return "doc", item.to_bytes()
    return "bad", type(item).__name__


def _one_torch_thread() -> None:
    """A forked worker's torch runs on one thread. A child forked after the parent's torch
    has run a parallel region (loading or saving a transformer does) hangs in its first
    one: OpenMP's thread pool does not survive fork. The workers share the machine's
    cores anyway, as the annotate job's worker processes do."""
    torch = sys.modules.get("torch")  # only where the parent imported it: it is optional
    if torch is not None:
        torch.set_num_threads(1)


def _worker(worker_class: Type["Language"], model_dir: str, tasks: Any, results: Any
            ) -> None:
    """Load the pipeline once, then annotate batches until the None sentinel arrives."""
    _one_torch_thread()
    try:
        nlp = load_from_directory(worker_class, model_dir)
    except Exception:
        results.put((-1, "error", "RuntimeError", traceback.format_exc()))
        return
    while True:
        task = tasks.get()
        if task is None:
            break
        index, items = task
        try:
            inputs = []
            for kind, value in items:
                if kind == "bad":
                    raise TypeError(Errors.E210.format(type=value))
                inputs.append(value if kind == "text" else Doc.from_bytes(nlp.vocab, value))
            docs = [doc.to_bytes() for doc in nlp.pipe(inputs, batch_size=len(inputs))]
            results.put((index, "ok", docs, None))
        except Exception as err:
            results.put((index, "error", type(err).__name__, traceback.format_exc()))


def _feed(texts: Iterable[Any], tasks: Any, batch_size: int, n_workers: int,
          stop: threading.Event, counter: List[int]) -> None:
    """Put numbered batches on the task queue, then one sentinel per worker."""

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                tasks.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    iterator = iter(texts)
    index = 0
    while True:
        batch = [_encode(item) for item in _take(iterator, batch_size)]
        if not batch:
            break
        if not put((index, batch)):
            return
        index += 1
    counter.append(index)
    for _ in range(n_workers):
        if not put(None):
            return


def _take(iterator: Iterator[Any], n: int) -> List[Any]:
    batch = []
    for item in iterator:
        batch.append(item)
        if len(batch) >= n:
            break
    return batch


def pipe_in_processes(nlp: "Language", texts: Iterable[Any], *, n_process: int,
                      batch_size: int, worker_class: Type["Language"]) -> Iterator[Doc]:
    """`nlp.pipe` over `n_process` worker processes; yields Docs in input order.

    Args:
        nlp: the pipeline; its `to_disk` copy is what the workers run.
        texts: strs or pre-tokenized Docs.
        n_process: number of worker processes (> 1).
        batch_size: docs per task sent to a worker.
        worker_class: the class each worker rebuilds the pipeline with (its
            `from_config`), as `nlp_core.load` does.

    Raises:
        TypeError / ValueError: E223 with the worker's traceback when a batch fails on bad
            input; RuntimeError: E223 for any other failure or when the workers exit.
    """
    ctx = _start_context()
    with tempfile.TemporaryDirectory(prefix="nlp_core_pipe_") as model_dir:
        nlp.to_disk(model_dir)
        tasks = ctx.Queue(maxsize=n_process * _PREFETCH)
        results = ctx.Queue()
        workers = [ctx.Process(target=_worker, daemon=True,
                               args=(worker_class, model_dir, tasks, results))
                   for _ in range(n_process)]
        for worker in workers:
            worker.start()
        stop = threading.Event()
        n_batches: List[int] = []
        feeder = threading.Thread(target=_feed, daemon=True,
                                  args=(texts, tasks, batch_size, n_process, stop, n_batches))
        feeder.start()
        pending: Dict[int, List[bytes]] = {}
        next_index = 0
        try:
            while not n_batches or next_index < n_batches[0]:
                if next_index in pending:
                    for data in pending.pop(next_index):
                        yield Doc.from_bytes(nlp.vocab, data)
                    next_index += 1
                    continue
                try:
                    index, status, payload, detail = results.get(timeout=_POLL_SECONDS)
                except queue.Empty:
                    if not any(w.is_alive() for w in workers):
                        raise RuntimeError(Errors.E223.format(detail="workers exited")) from None
                    continue
                if status == "error":
                    if payload in ("TypeError", "ValueError"):
                        raise (TypeError if payload == "TypeError" else ValueError)(
                            Errors.E223.format(detail=detail))
                    raise RuntimeError(Errors.E223.format(detail=detail))
                pending[index] = payload
        finally:
            stop.set()
            for worker in workers:
                if worker.is_alive():
                    worker.terminate()
                worker.join()
            feeder.join(timeout=1)
            tasks.close()
            results.close()
