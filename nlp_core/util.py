"""Helpers of the pipeline object: worker processes for `nlp.pipe(n_process=N)`, and
importing user code (`--code functions.py`) so that its registered functions exist.

Worker processes never receive a pickled model: the parent writes the pipeline with
`nlp.to_disk` into a temporary directory and each worker loads it from there. Texts go to
the workers as strings (pre-tokenized Docs as `Doc.to_bytes()` msgpack) and annotated Docs
come back as msgpack bytes, read into the parent's vocab with `Doc.from_bytes`.
"""
import hashlib
import importlib.util
import multiprocessing
import queue
import re
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, Tuple, Union

from .errors import Errors
from .tokens import Doc

if TYPE_CHECKING:
    from .language import Language

# Batches in flight per worker: enough to keep workers busy, few enough to bound memory.
_PREFETCH = 2
_POLL_SECONDS = 0.1


def import_code(path: Union[str, Path, None]) -> ModuleType | None:
    """Import a Python file so that the functions it registers can be used in configs.

    The file becomes the module `user_code_module_name(path)`, a private name no installed
    module has: a user's `json.py` registers its functions without replacing the standard
    library's `json` in `sys.modules` for everyone else.

    Returns:
        The imported module (None when `path` is None).
    """
    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(Errors.E227.format(path=path))
    name = user_code_module_name(path)
    spec = importlib.util.spec_from_file_location(name, str(path))
    if spec is None or spec.loader is None:
        raise ValueError(Errors.E412.format(path=path, reason="Python cannot import this "
                                            "file; give a .py file"))
    module = importlib.util.module_from_spec(spec)
    # Registered before running, as the import system does, so that the file's own
    # dataclasses and type hints can look the module up while it runs.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def user_code_module_name(path: Union[str, Path]) -> str:
    """The module name `import_code` gives the file `path`: `nlp_core_user_code_`, a hash of
    its resolved path and its stem (made an identifier), so that one file always gets the
    same name and two files never share one."""
    path = Path(path).resolve()
    digest = hashlib.sha1(str(path).encode("utf8")).hexdigest()[:12]
    stem = re.sub(r"\W", "_", path.stem)
    return f"nlp_core_user_code_{digest}_{stem}"


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


def _worker(model_dir: str, tasks: Any, results: Any) -> None:
    """Load the pipeline once, then annotate batches until the None sentinel arrives."""
    try:
        from .language import load

        nlp = load(model_dir)
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
                      batch_size: int) -> Iterator[Doc]:
    """`nlp.pipe` over `n_process` worker processes; yields Docs in input order."""
    ctx = _start_context()
    with tempfile.TemporaryDirectory(prefix="nlp_core_pipe_") as model_dir:
        nlp.to_disk(model_dir)
        tasks = ctx.Queue(maxsize=n_process * _PREFETCH)
        results = ctx.Queue()
        workers = [ctx.Process(target=_worker, args=(model_dir, tasks, results), daemon=True)
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
