"""TrainablePipe: the protocol every trainable component follows, and its shared parts.

    preds = pipe.predict(docs)                  # pure: no Doc is changed
    pipe.set_annotations(docs, preds)           # writes the predictions into the Docs
    losses = pipe.update(examples, drop=0.1, sgd=None, losses=losses)
    pipe.finish_update(optimizer)               # one optimizer step over its weights
    pipe.initialize(get_examples, nlp=nlp)      # labels and shapes from the data
    pipe.to_disk(path); pipe.from_disk(path)    # cfg.json + model.msgpack, never pickle

Subclasses implement `predict`, `set_annotations`, `update`, `initialize` and (for
scoring) `score`. Those that can learn from a teacher (`Distillable`: tagger, parser, NER)
also have

    losses = pipe.distill(teacher_pipe, examples, drop=0.1, sgd=None, losses=losses)
    losses = pipe.rehearse(examples, drop=0.1, sgd=None, losses=losses)

where each Example holds the student's doc (`predicted`) and the teacher's doc over the same
tokens (`reference`), and rehearsal's teacher is the copy `nlp.resume_training()` keeps.
"""
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Sequence, Union

import srsly
from thinc.api import Model, Optimizer

from ..errors import Errors
from ..pipeline_files import parsing, read_json
from ..tokens import Doc
from ..training.example import Example

CFG_FILE = "cfg.json"
MODEL_FILE = "model.msgpack"
# Docs from the examples used to initialise a model's shapes.
N_SAMPLE_DOCS = 10


class TrainablePipe:
    """A pipeline component with a thinc model that learns from Examples.

    Attributes:
        vocab: the pipeline's Vocab.
        model: the thinc model, `List[Doc] -> predictions`.
        name: the component's name in the pipeline (losses are keyed by it).
        cfg: JSON-serialisable settings saved with the component (labels included).
    """

    is_trainable = True
    is_resizable = False

    def __init__(self, vocab, model: Model, name: str, cfg: Dict[str, Any] | None = None):
        self.vocab = vocab
        self.model = model
        self.name = name
        self.cfg: Dict[str, Any] = dict(cfg or {})

    # --- running ----------------------------------------------------------------------

    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations([doc], self.predict([doc]))
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        """Annotate a stream of Docs, `batch_size` at a time; yields them in order."""
        docs = iter(docs)
        while True:
            batch = list(islice(docs, batch_size))
            if not batch:
                return
            self.set_annotations(batch, self.predict(batch))
            yield from batch

    def predict(self, docs: Sequence[Doc]) -> Any:
        raise NotImplementedError

    def set_annotations(self, docs: Sequence[Doc], preds: Any) -> None:
        raise NotImplementedError

    # --- training ---------------------------------------------------------------------

    @property
    def labels(self) -> tuple:
        return tuple(self.cfg.get("labels", ()))

    @property
    def label_data(self) -> Any:
        """What `init labels` saves and `initialize(labels=...)` accepts."""
        return self.labels

    def add_label(self, label: str) -> int:
        raise NotImplementedError(Errors.E362.format(
            component=self.name, cls=type(self).__name__, label=label,
            reason="this component has no labels."))

    def update(self, examples: Sequence[Any], *, drop: float = 0.0,
               sgd: Optimizer | None = None, losses: Dict[str, float] | None = None
               ) -> Dict[str, float]:
        raise NotImplementedError

    def get_loss(self, examples: Sequence[Any], scores: Any) -> Any:
        raise NotImplementedError

    def finish_update(self, sgd: Optimizer) -> None:
        """Apply the accumulated gradients with the optimizer (and zero them)."""
        self.model.finish_update(sgd)

    def initialize(self, get_examples: Callable[[], Iterable[Any]], *, nlp: Any = None,
                   **settings: Any) -> None:
        raise NotImplementedError

    def score(self, examples: Iterable[Any], **kwargs: Any) -> Dict[str, Any]:
        return {}

    # --- saving -----------------------------------------------------------------------

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = ()) -> None:
        """Write `cfg.json` (settings and labels) and `model.msgpack` (thinc's msgpack
        serialisation of the weights and dimensions) to the directory `path`."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        exclude = set(exclude)
        if "cfg" not in exclude:
            srsly.write_json(path / CFG_FILE, self.cfg)
        if "model" not in exclude:
            (path / MODEL_FILE).write_bytes(self.model.to_bytes())

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = ()
                  ) -> "TrainablePipe":
        """Read what `to_disk` wrote into this (freshly built) component."""
        path = Path(path)
        exclude = set(exclude)
        if "cfg" not in exclude:
            if not (path / CFG_FILE).is_file():
                raise OSError(Errors.E369.format(component=self.name,
                                                     cls=type(self).__name__, path=path,
                                                     what=CFG_FILE))
            with parsing(path / CFG_FILE):
                self.cfg.update(self._saved_cfg(read_json(path / CFG_FILE, expect=dict)))
                self._cfg_loaded()
        if "model" not in exclude:
            if not (path / MODEL_FILE).is_file():
                raise OSError(Errors.E369.format(component=self.name,
                                                     cls=type(self).__name__, path=path,
                                                     what=MODEL_FILE))
            data = (path / MODEL_FILE).read_bytes()
            with parsing(path / MODEL_FILE):
                self.model.from_bytes(data)
        return self

    def _saved_cfg(self, saved: Dict[str, Any]) -> Dict[str, Any]:
        """Hook: the settings a saved `cfg.json` stands for (a subclass fills in what older
        saves lack)."""
        return saved

    def _cfg_loaded(self) -> None:
        """Hook: rebuild what depends on `cfg` (e.g. label lookup tables)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class Distillable:
    """What the components that learn from a teacher share: the rehearsal teacher, and the
    checks of a distillation batch. A subclass implements `distill`."""

    # The frozen copy of this component that `rehearse` learns from (set by
    # `initialize_rehearsal`, which `nlp.resume_training()` calls).
    _rehearsal_teacher: Any = None

    def distill(self, teacher_pipe: Any, examples: Sequence[Any], *, drop: float = 0.0,
                sgd: Optimizer | None = None, losses: Dict[str, float] | None = None
                ) -> Dict[str, float]:
        raise NotImplementedError

    def initialize_rehearsal(self, teacher_pipe: Any) -> None:
        """Keep `teacher_pipe` (a frozen copy of this component) as the rehearsal teacher."""
        self._rehearsal_teacher = teacher_pipe

    def rehearse(self, examples: Sequence[Any], *, drop: float = 0.0,
                 sgd: Optimizer | None = None, losses: Dict[str, float] | None = None
                 ) -> Dict[str, float]:
        """Learn to keep the rehearsal teacher's predictions on the examples (usually raw
        text): `distill` from the copy `nlp.resume_training()` kept.

        Raises:
            ValueError: E602 when there is no rehearsal teacher.
        """
        if self._rehearsal_teacher is None:
            raise ValueError(Errors.E602.format(component=getattr(self, "name", "?")))
        return self.distill(self._rehearsal_teacher, examples, drop=drop, sgd=sgd,
                            losses=losses)

    def _distill_docs(self, teacher_pipe: Any, examples: Sequence[Any], method: str
                      ) -> tuple:
        """(student docs, teacher docs) of a distillation batch, checked: the teacher is
        a component of this class, and reads the student's tokens."""
        name = getattr(self, "name", "?")
        if not isinstance(teacher_pipe, type(self)) and not isinstance(self, type(teacher_pipe)):
            raise TypeError(Errors.E600.format(component=name,
                                               teacher_cls=type(teacher_pipe).__name__,
                                               cls=type(self).__name__))
        examples = validate_examples(examples, f"{type(self).__name__}.{method}")
        students = [eg.predicted for eg in examples]
        teachers = [eg.reference for eg in examples]
        for i, (s, t) in enumerate(zip(students, teachers)):
            if len(s) != len(t):
                raise ValueError(Errors.E601.format(component=name, method=method, i=i,
                                                    n_student=len(s), n_teacher=len(t)))
        return students, teachers


def set_dropout_rate(model: Model, drop: float | None) -> None:
    """Set `dropout_rate` on every layer of `model` that has one."""
    for node in model.walk():
        if "dropout_rate" in node.attrs:
            node.attrs["dropout_rate"] = drop


def validate_examples(examples: Any, method: str) -> List[Any]:
    """The examples as a list; raises TypeError (E363) unless each is an Example."""
    examples = list(examples)
    for eg in examples:
        if not isinstance(eg, Example):
            raise TypeError(Errors.E363.format(method=method, type=type(eg).__name__))
    return examples


def sample_examples(get_examples: Callable[[], Iterable[Any]], pipe: Any,
                    n: int | None = N_SAMPLE_DOCS) -> List[Any]:
    """The first `n` examples of `get_examples()` (all when `n` is None), checked.

    Raises:
        TypeError: E351 (not callable) / E352 (an item is not an Example).
        ValueError: E350 when there are no examples.
    """
    cls = type(pipe).__name__
    if not callable(get_examples):
        raise TypeError(Errors.E351.format(component=pipe.name, cls=cls,
                                               type=type(get_examples).__name__))
    examples = list(islice(get_examples(), n)) if n is not None else list(get_examples())
    if not examples:
        raise ValueError(Errors.E350.format(component=pipe.name, cls=cls))
    for eg in examples:
        if not isinstance(eg, Example):
            raise TypeError(Errors.E352.format(component=pipe.name, cls=cls,
                                                   type=type(eg).__name__))
    return examples
