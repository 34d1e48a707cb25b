"""Loading the pipeline a job runs, once per worker process, and running it on a batch.

`--model` names what to load:

- `blank:LANG` — a tokenizer-only pipeline, `nlp_core.blank(LANG)`;
- a directory written by `nlp.to_disk` (local, or gs:// / s3:// ... through Beam
  FileSystems: copied to a local temporary directory first);
- the name of a pipeline shipped with nlp_core (e.g. `en_ewt_sm`), or of an installed
  pipeline package: one holding config.cfg, or declaring an `nlp_core_pipelines` entry
  point (`nlp_core.load(name)`). Any other name is an error naming `--model`, and nothing
  it points to is imported: a `mymodel.py` in the working directory never runs.

Workers receive only this string; the pipeline is never pickled. `SharedPipeline` holds the
loaded pipeline; the annotate DoFn gets it through `apache_beam.utils.shared.Shared`, so the
threads of one worker process share one copy, and a lock keeps them from running it at the
same time (its caches are not made for concurrent writers, and with the GIL, threads gain
nothing on CPU work anyway).

`--gpu` / `--gpu-id N` use the mechanism of `python -m nlp_core train --gpu-id`: thinc's
`require_gpu(N)` (CupyOps for thinc, `torch.cuda.set_device` for torch) before the pipeline
is loaded, so its weights are allocated on that GPU. cupy's current device, torch's and
thinc's current ops are per thread, and Beam may call `process` from another thread than
`setup`, so every batch runs inside `on_gpu(N)`. On a GPU every transformer component's
`max_batch_items` is "auto" (measured at its first large batch, in each worker process;
nlp_core/ml/transformer/batch_items.py) unless --model-config gives it.
"""
import contextlib
import gc
import json
import os
import re
import shutil
import tempfile
import threading
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from thinc.api import CupyOps, get_current_ops, set_current_ops
from thinc.api import require_gpu as thinc_require_gpu

import nlp_core
from nlp_core.errors import Errors
from nlp_core.language import Language
from nlp_core.ml.parse_threads import default_gpu_threads, set_parse_threads
from nlp_core.ml.transformer.extra import MissingExtraError
from nlp_core.pipeline_packages import PipelineNotFoundError
from nlp_core.tokens import Doc

from .pieces import PIECE_CHARS, annotate_in_pieces

BLANK_PREFIX = "blank:"
# bytes per read when copying a remote pipeline directory
COPY_CHUNK = 8 << 20
# strings a pipeline may add while annotating before they are dropped (SharedPipeline):
# about 20 MB of strings, lexemes and tokenizer cache (~200 bytes a string)
MAX_NEW_STRINGS = 100_000
# the pipeline the launcher loaded to check it (see `preload_pipeline`)
_PRELOADED: Dict[str, Language] = {}


def _copy_remote_dir(url: str) -> str:
    """Copy the pipeline directory `url` (gs://, s3://, ... through Beam FileSystems) into a
    new local temporary directory and return its path; each file streams through in
    COPY_CHUNK pieces, so memory stays bounded whatever the size of the weights.
    (`FileSystems.copy` cannot do it: it copies within one filesystem, e.g. gs:// to gs://.)
    """
    # apache_beam is heavy; pipelines load here without it (tests, a local --model)
    from apache_beam.io.filesystem import CompressionTypes  # lazy too: apache_beam
    from apache_beam.io.filesystems import FileSystems

    root = url.rstrip("/") + "/"
    matched = FileSystems.match([root + "**"])[0].metadata_list
    if not matched:
        raise OSError(f"--model {url!r}: no files under this path. Give the directory that "
                      "`nlp.to_disk` wrote (it holds config.cfg and meta.json).")
    names = [(meta.path, _local_name(url, root, meta.path)) for meta in matched
             if not meta.path.endswith("/")]  # "/": a "folder" placeholder object
    local = tempfile.mkdtemp(prefix="nlp_core_model_")
    try:
        for path, name in names:
            target = os.path.join(local, *name.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            # byte for byte: Beam would otherwise decompress a file named *.gz on the way
            with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED
                                  ) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, COPY_CHUNK)
    except BaseException:
        shutil.rmtree(local, ignore_errors=True)
        raise
    return local


def _local_name(url: str, root: str, path: str) -> str:
    """The relative local path an object of the remote directory `root` is copied to;
    OSError E622 (before anything is copied) for an object outside `root`, or one whose
    name is absolute or has a `..` (or `.`, or empty) segment: an object store takes any
    string as a name, and such a name would write outside the local directory."""
    if not path.startswith(root):
        raise OSError(Errors.E622.format(url=url, name=path, reason=f"not under {root}"))
    name = path[len(root):].replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or os.path.isabs(name):
        raise OSError(Errors.E622.format(url=url, name=name, reason="an absolute path"))
    if any(part in ("", ".", "..") for part in name.split("/")):
        raise OSError(Errors.E622.format(url=url, name=name,
                                         reason="a '..', '.' or empty path segment"))
    return name


def load_pipeline(model: str, config: Optional[Dict[str, Any]] = None) -> Language:
    """The pipeline `--model` names (see the module docstring), with `config` (dotted key
    -> value, from --model-config) overriding its saved config.

    Raises:
        ValueError / OSError: naming `--model`, e.g. for a name that is no pipeline (listing
            what is accepted), a file of the pipeline directory that is cut short, or a
            transformer pipeline where torch or transformers is not installed (naming the
            `nlp-core[transformers]` extra).
    """
    try:
        if model.startswith(BLANK_PREFIX):
            if config:
                raise ValueError(f"--model-config does not apply to {model}: a blank "
                                 "pipeline has no saved config to change.")
            return nlp_core.blank(model[len(BLANK_PREFIX):], meta={"name": "blank"})
        if "://" in model:
            return nlp_core.load(_copy_remote_dir(model), config=config or None)
        return nlp_core.load(model, config=config or None)
    except PipelineNotFoundError as err:
        raise OSError(f"--model {model!r}: {err} Here --model also takes {BLANK_PREFIX}LANG "
                      "(a tokenizer-only pipeline, e.g. blank:en) and a gs:// or s3:// "
                      "pipeline directory.") from err
    except MissingExtraError as err:  # a transformer pipeline in an image without torch
        raise OSError(f"--model {model!r}: {err}") from err
    except (ValueError, OSError) as err:
        if str(err).startswith("--model"):
            raise
        kind = OSError if isinstance(err, OSError) else ValueError
        raise kind(f"--model {model!r}: {err}") from err


def preload_pipeline(model: str, config: Optional[Dict[str, Any]] = None) -> Language:
    """Load the pipeline in the launcher (to check it and report its name) and keep it for
    the first CPU `SharedPipeline` of this process (same model, same `config`) to take:
    with the in-memory runner the worker is this process, and so loads it once, not twice.
    `forget_preloaded` drops it."""
    _PRELOADED.clear()
    nlp = _PRELOADED[_preload_key(model, config)] = load_pipeline(model, config)
    return nlp


def _preload_key(model: str, config: Optional[Dict[str, Any]]) -> str:
    return json.dumps([model, config or {}], sort_keys=True)


def forget_preloaded() -> None:
    _PRELOADED.clear()


def gpu_error(gpu_id: int, reason: Any) -> ValueError:
    return ValueError(f"--gpu/--gpu-id {gpu_id}: cannot use GPU {gpu_id}: {reason}. Install "
                      "cupy for the CUDA version of the machine that runs the pipeline (`pip "
                      "install nlp-core[gpu]`, i.e. cupy-cuda12x; on Dataflow, in the worker "
                      "container image), or run without --gpu.")


def require_gpu(gpu_id: int) -> None:
    """Put thinc and torch on GPU `gpu_id` for the calling thread (thinc's `require_gpu`,
    as `nlp_core train --gpu-id` does); ValueError naming the option when it cannot."""
    try:
        thinc_require_gpu(gpu_id)
    except Exception as err:  # no cupy, no device, or a bad id: all end the same way
        raise gpu_error(gpu_id, err) from None


def check_gpu(gpu_id: int) -> None:
    """Whether this machine can run the pipeline on GPU `gpu_id` (without selecting it);
    ValueError naming the option when it cannot."""
    try:  # cupy is the optional [gpu] extra
        import cupy
    except ImportError:
        raise gpu_error(gpu_id, "cupy is not installed") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:  # no driver / no device
        raise gpu_error(gpu_id, f"no CUDA device ({err})") from None
    if not 0 <= gpu_id < count:
        raise gpu_error(gpu_id, f"this machine has {count} CUDA device(s)")


@contextlib.contextmanager
def on_gpu(gpu_id: int) -> Iterator[None]:
    """Run the block with thinc's ops, cupy's and torch's current device on GPU `gpu_id`
    (all three are per thread); does nothing for -1."""
    if gpu_id < 0:
        yield
        return
    import cupy  # the optional [gpu] extra: only imported when a GPU is asked for

    previous = get_current_ops()
    set_current_ops(CupyOps())
    try:
        with cupy.cuda.Device(gpu_id):
            try:  # torch only matters when a transformer runs on the GPU
                import torch
            except ImportError:
                yield
                return
            with torch.cuda.device(gpu_id):
                yield
    finally:
        set_current_ops(previous)


def pipeline_info(nlp: Language) -> Dict[str, Any]:
    """Name ('<lang>_<name>'), version and components, as the outputs report them."""
    meta = nlp.meta
    return {"name": f"{meta['lang']}_{meta['name']}", "version": str(meta["version"]),
            "components": list(nlp.pipe_names)}


def auto_batch_items(nlp: Language, config: Optional[Dict[str, Any]] = None) -> List[str]:
    """Set `max_batch_items = "auto"` on every transformer component of `nlp` whose value
    `config` (--model-config) does not give; returns their names."""
    changed = []
    for name, component in nlp.pipeline:
        setter = getattr(component, "set_max_batch_items", None)  # a transformer
        if setter is None or f"components.{name}.max_batch_items" in (config or {}):
            continue
        setter("auto")
        changed.append(name)
    return changed


def tuned_batch_items(nlp: Language) -> Dict[str, int]:
    """{transformer component: the max_batch_items "auto" settled on} so far."""
    found = {}
    for name, component in nlp.pipeline:
        value = getattr(component, "tuned_max_batch_items", None)
        if value is not None:
            found[name] = int(value)
    return found


class SharedPipeline:
    """A loaded pipeline shared by the threads of a process (weak-referenceable, as
    `Shared` requires), on GPU `gpu_id` unless that is -1.

    Memory stays flat over a long run whatever the number of distinct words: the strings
    and lexemes the pipeline adds while annotating (every new word, its norm, shape, ...)
    are dropped, with the tokenizer's cache that refers to them, at the start of a batch
    once more than `max_new_strings` have accumulated (`Vocab.forget_since`). A batch's
    Docs are only valid inside `batch()`, which holds the pipeline for the batch's whole
    work (annotating and turning the Docs into rows), so no thread drops strings that
    another thread's Docs still use. `config` overrides the pipeline's saved config
    (--model-config). `parse_threads` sets the process's threads for the parser's and
    NER's transition loops (--parse-threads; None: on a GPU `default_gpu_threads()`, on
    the CPU as they are, 1 unless set).
    """

    def __init__(self, model: str, gpu_id: int = -1, piece_chars: int = PIECE_CHARS,
                 max_new_strings: int = MAX_NEW_STRINGS,
                 config: Optional[Dict[str, Any]] = None,
                 parse_threads: Optional[int] = None):
        self.gpu_id = gpu_id
        # the process's parse threads (nlp_core/ml/parse_threads.py): on a GPU by default
        # the cores but one, whose loops would otherwise run on one core while they idle
        if parse_threads is None and gpu_id >= 0:
            parse_threads = default_gpu_threads()
        if parse_threads is not None:
            set_parse_threads(parse_threads)
        self.piece_chars = piece_chars
        self.max_new_strings = max_new_strings
        self.strings_dropped = 0
        if gpu_id >= 0:
            require_gpu(gpu_id)
        preloaded = _PRELOADED.pop(_preload_key(model, config), None) if gpu_id < 0 else None
        if preloaded is not None:
            self.nlp = preloaded
        else:
            with on_gpu(gpu_id):
                self.nlp = load_pipeline(model, config)
        self.info = pipeline_info(self.nlp)
        if gpu_id >= 0:
            auto_batch_items(self.nlp, config)
        self._mark = self.nlp.vocab.mark()
        # The worker's objects so far (Beam, the pipeline's weights and tables: long-lived)
        # leave the garbage collector's generations: each full collection would otherwise
        # walk them all again (~0.5 s each, 5-7% of a run's time against bare nlp.pipe).
        # Refcounting still frees them; only cycles among them would stay.
        gc.freeze()
        # re-entrant: `annotate_pieces` runs inside `batch()`
        self._lock = threading.RLock()

    @contextlib.contextmanager
    def batch(self) -> Iterator["SharedPipeline"]:
        """Hold the pipeline for one batch: annotate and use the Docs inside the block.
        Drops the strings added by earlier batches first, when they exceed the bound."""
        with self._lock:
            self._bound_strings()
            yield self

    def _bound_strings(self) -> None:
        vocab = self.nlp.vocab
        if len(vocab.strings) - self._mark[0] <= self.max_new_strings:
            return
        self.strings_dropped += vocab.forget_since(self._mark)
        clear_cache = getattr(self.nlp.tokenizer, "clear_cache", None)
        if clear_cache is not None:  # its cache maps text to the dropped strings' IDs
            clear_cache()

    def annotate(self, inputs: Sequence[Any]) -> Tuple[List[Doc], List[Tuple[int, str]]]:
        """Run the pipeline on texts or `Doc.to_dict()` data.

        Returns:
            (docs, failures): the annotated Docs of the inputs that succeeded, in order, and
            (input index, error message) for the others (see `annotate_pieces`).
        """
        docs, _, failures = self.annotate_pieces(inputs)
        return docs, failures

    def annotate_pieces(self, inputs: Sequence[Any]
                        ) -> Tuple[List[Doc], List[List[Doc]], List[Tuple[int, str]]]:
        """`annotate`, also giving the Docs of each document's pieces: a document longer
        than `piece_chars` is annotated in pieces, so that memory stays bounded whatever
        its length (beam_jobs/pieces.py); a shorter one is its own single piece.

        Returns:
            (docs, pieces, failures): the Docs of the inputs that succeeded, in order, their
            pieces, and (input index, "ExceptionType: message") for each input the pipeline
            raised on. A call that raises is retried on each half of its inputs, down to
            single inputs, so one bad document costs only itself (and about 2 log2(n) more
            calls for a batch of n), while the rest of its batch is annotated.
        """
        with self._lock, on_gpu(self.gpu_id):
            done: Dict[int, Tuple[Doc, List[Doc]]] = {}
            failures: List[Tuple[int, str]] = []
            self._annotate_halving(list(enumerate(inputs)), done, failures)
            order = sorted(done)
            return ([done[i][0] for i in order], [done[i][1] for i in order],
                    sorted(failures))

    def _annotate_halving(self, items: List[Tuple[int, Any]],
                          done: Dict[int, Tuple[Doc, List[Doc]]],
                          failures: List[Tuple[int, str]]) -> None:
        """Annotate (index, input) `items` into `done`; on an error, each half on its own
        (iteratively: a batch of 10,000 failing inputs must not recurse 10,000 deep)."""
        pending = [items]
        while pending:
            part = pending.pop()
            try:
                results = list(annotate_in_pieces(self._pipe, self.nlp.make_doc,
                                                  [self._as_input(x) for _, x in part],
                                                  self.piece_chars))
            except Exception as err:  # a dead letter for a lone input, else split
                if len(part) == 1:
                    failures.append((part[0][0], f"{type(err).__name__}: {err}"))
                else:
                    middle = len(part) // 2
                    pending += [part[middle:], part[:middle]]
                continue
            for (i, _), result in zip(part, results):
                done[i] = result

    def _pipe(self, inputs: List[Any]) -> List[Doc]:
        return list(self.nlp.pipe(inputs, batch_size=max(1, len(inputs))))

    def _as_input(self, x: Any):
        return x if isinstance(x, str) else Doc.from_dict(self.nlp.vocab, x)
