"""Loading the pipeline a job runs, once per worker process, and running it on a batch.

`--model` names what to load:

- `blank:LANG` — a tokenizer-only pipeline, `nlp_core.blank(LANG)`;
- a directory written by `nlp.to_disk` (local, or gs:// / s3:// ... through Beam
  FileSystems: copied to a local temporary directory first);
- the name of an installed pipeline package (`nlp_core.load(name)`).

Workers receive only this string; the pipeline is never pickled. `SharedPipeline` holds the
loaded pipeline; the annotate DoFn gets it through `apache_beam.utils.shared.Shared`, so the
threads of one worker process share one copy, and a lock keeps them from running it at the
same time (its caches are not made for concurrent writers, and with the GIL, threads gain
nothing on CPU work anyway).
"""
import os
import tempfile
import threading
from typing import Any, Dict, List, Sequence, Tuple

import nlp_core
from nlp_core.language import Language
from nlp_core.tokens import Doc

BLANK_PREFIX = "blank:"


def _copy_remote_dir(url: str) -> str:
    from apache_beam.io.filesystems import FileSystems

    root = url.rstrip("/") + "/"
    matched = FileSystems.match([root + "**"])[0].metadata_list
    if not matched:
        raise OSError(f"--model {url!r}: no files under this path. Give the directory that "
                      "`nlp.to_disk` wrote (it holds config.cfg and meta.json).")
    local = tempfile.mkdtemp(prefix="nlp_core_model_")
    for meta in matched:
        target = os.path.join(local, meta.path[len(root):])
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with FileSystems.open(meta.path) as src, open(target, "wb") as dst:
            dst.write(src.read())
    return local


def load_pipeline(model: str) -> Language:
    """The pipeline `--model` names (see the module docstring)."""
    if model.startswith(BLANK_PREFIX):
        return nlp_core.blank(model[len(BLANK_PREFIX):], meta={"name": "blank"})
    if "://" in model:
        return nlp_core.load(_copy_remote_dir(model))
    return nlp_core.load(model)


def pipeline_info(nlp: Language) -> Dict[str, Any]:
    """Name ('<lang>_<name>'), version and components, as the outputs report them."""
    meta = nlp.meta
    return {"name": f"{meta['lang']}_{meta['name']}", "version": str(meta["version"]),
            "components": list(nlp.pipe_names)}


class SharedPipeline:
    """A loaded pipeline shared by the threads of a process (weak-referenceable, as
    `Shared` requires)."""

    def __init__(self, model: str):
        self.nlp = load_pipeline(model)
        self.info = pipeline_info(self.nlp)
        self._lock = threading.Lock()

    def annotate(self, inputs: Sequence[Any]) -> Tuple[List[Doc], List[Tuple[int, str]]]:
        """Run the pipeline on texts or `Doc.to_dict()` data.

        Returns:
            (docs, failures): the annotated Docs of the inputs that succeeded, in order, and
            (input index, error message) for the others. A batch that fails is retried one
            input at a time, so that one bad document costs only itself.
        """
        with self._lock:
            try:
                docs = list(self.nlp.pipe([self._as_input(x) for x in inputs],
                                          batch_size=len(inputs)))
                return docs, []
            except Exception:  # retried per document below to find the culprit(s)
                pass
            docs, failures = [], []
            for i, x in enumerate(inputs):
                try:
                    docs.append(self.nlp(self._as_input(x)))
                except Exception as err:  # reported as a dead letter
                    failures.append((i, f"{type(err).__name__}: {err}"))
            return docs, failures

    def _as_input(self, x: Any):
        return x if isinstance(x, str) else Doc.from_dict(self.nlp.vocab, x)
