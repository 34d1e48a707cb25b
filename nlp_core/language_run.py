"""Running a pipeline: `nlp(text)`, `nlp.pipe(texts)` in this process or in workers, and
switching components off for a while (`nlp.select_pipes`).

Each function takes the pipeline object as its first argument; `Language` calls them from
its thin methods of the same names. A component is called as `component(doc) -> doc` or,
when it has one, through `component.pipe(docs, batch_size=...)`; whatever it returns must be
a Doc.
"""
import itertools
import os
from typing import TYPE_CHECKING, Any, Iterable, Iterator, List, Tuple, Type, Union

from .errors import Errors
from .pipe_workers import pipe_in_processes
from .tokens import Doc

if TYPE_CHECKING:
    from .language import Language


def ensure_doc(nlp: "Language", doc_like: Union[str, Doc]) -> Doc:
    """`doc_like` itself if it is a Doc (its tokens are kept), else `nlp.make_doc(text)`.

    Raises:
        TypeError: E210 for anything but a str or a Doc.
    """
    if isinstance(doc_like, Doc):
        return doc_like
    if isinstance(doc_like, str):
        return nlp.make_doc(doc_like)
    raise TypeError(Errors.E210.format(type=type(doc_like).__name__))


def run_pipeline(nlp: "Language", text: Union[str, Doc]) -> Doc:
    """Tokenize `text` (a pre-tokenized Doc keeps its tokens) and run every enabled
    component on it, in order."""
    doc = ensure_doc(nlp, text)
    for name, proc in nlp.pipeline:
        doc = checked(name, proc(doc))
    return doc


def pipe(nlp: "Language", texts: Iterable[Any], *, as_tuples: bool, batch_size: int,
         n_process: int, worker_class: Type["Language"]) -> Iterator[Any]:
    """Process a stream of texts (or Docs) and yield Docs in the same order.

    Args:
        nlp: the pipeline.
        texts: strs or pre-tokenized Docs; with `as_tuples`, `(text, context)` pairs.
        as_tuples: yield `(doc, context)` pairs.
        batch_size: docs per batch given to components with a `pipe` method.
        n_process: worker processes (-1: one per CPU); see `pipe_workers`.
        worker_class: the class the workers rebuild the pipeline with.

    Raises:
        ValueError: E226 for an `n_process` that is not -1 or a positive int; E224 for an
            item that is no pair with `as_tuples`.
    """
    if as_tuples:
        pairs1, pairs2 = itertools.tee(checked_pairs(texts))
        docs = pipe(nlp, (t for t, _ in pairs1), as_tuples=False, batch_size=batch_size,
                    n_process=n_process, worker_class=worker_class)
        yield from zip(docs, (c for _, c in pairs2))
        return
    if n_process == -1:
        n_process = os.cpu_count() or 1
    if not isinstance(n_process, int) or n_process < 1:
        raise ValueError(Errors.E226.format(n_process=n_process))
    if n_process > 1:
        yield from pipe_in_processes(nlp, texts, n_process=n_process, batch_size=batch_size,
                                     worker_class=worker_class)
        return
    docs: Iterable[Doc] = (ensure_doc(nlp, text) for text in texts)
    for name, proc in nlp.pipeline:
        if hasattr(proc, "pipe"):
            docs = proc.pipe(docs, batch_size=batch_size)
        else:
            docs = (checked(name, proc(doc)) for doc in docs)
    yield from docs


def checked(name: str, doc: Any) -> Doc:
    """`doc`, if component `name` returned a Doc.

    Raises:
        ValueError: E217 naming the component and what it returned.
    """
    if not isinstance(doc, Doc):
        raise ValueError(Errors.E217.format(name=name, type=type(doc).__name__))
    return doc


def checked_pairs(items: Iterable[Any]) -> Iterator[Tuple[Any, Any]]:
    """The `(text, context)` pairs of `items`; E224 (ValueError) at the first non-pair."""
    for item in items:
        if not isinstance(item, tuple) or len(item) != 2:
            raise ValueError(Errors.E224.format(item=repr(item)[:80]))
        yield item


class DisabledPipes(list):
    """The names `select_pipes` disabled; `restore()` (or leaving the `with` block)
    enables them again."""

    def __init__(self, nlp: "Language", names: List[str]):
        super().__init__(names)
        self.nlp = nlp

    def __enter__(self) -> "DisabledPipes":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.restore()

    def restore(self) -> None:
        """Enable the components again (those still in the pipeline)."""
        for name in self:
            if self.nlp.has_pipe(name):
                self.nlp.enable_pipe(name)
        self[:] = []


def _names(value: Union[str, Iterable[str], None]) -> List[str]:
    return [value] if isinstance(value, str) else list(value or [])


def select_pipes(nlp: "Language", *, disable: Union[str, Iterable[str], None],
                 enable: Union[str, Iterable[str], None]) -> DisabledPipes:
    """Disable the components named in `disable`, or all enabled ones not in `enable`.

    Args:
        nlp: the pipeline.
        disable / enable: a component name or names (give one of the two, or both when
            they agree).

    Returns:
        The names disabled by this call (those already disabled are left out).

    Raises:
        ValueError: E218 when neither is given; E228 when both are and they disagree.
        KeyError: E214 for a name that is not a component of `nlp`.
    """
    if disable is None and enable is None:
        raise ValueError(Errors.E218)
    to_disable = _names(disable)
    if enable is not None:
        keep = _names(enable)
        for name in keep:
            nlp.get_pipe(name)
        others = [n for n in nlp.pipe_names if n not in keep]
        if to_disable and set(to_disable) != set(others):
            raise ValueError(Errors.E228.format(disable=to_disable, enable=keep,
                                                names=nlp.component_names))
        to_disable = others
    for name in to_disable:
        nlp.get_pipe(name)
    newly = [n for n in to_disable if n not in nlp.disabled]
    for name in newly:
        nlp.disable_pipe(name)
    return DisabledPipes(nlp, newly)
