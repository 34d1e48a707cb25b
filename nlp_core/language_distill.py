"""Distillation and rehearsal of a whole pipeline: `nlp.distill(teacher, examples)`,
`nlp.rehearse(examples)`, and the teacher copy `nlp.resume_training()` keeps.

    losses = student.distill(teacher, batch, sgd=optimizer)   # learn the teacher's outputs
    optimizer = nlp.resume_training()                         # keeps a frozen copy
    nlp.update(new_domain_batch, sgd=optimizer)               # learn the new data...
    nlp.rehearse(raw_text_batch, sgd=optimizer)               # ...keeping the old outputs

The student's components that can learn from a teacher (`distill`: tagger, parser, NER) each
learn from one teacher component: the one of the same name, or the one
`student_to_teacher` names. The teacher reads the student's tokens: every example's
predicted doc is copied, unannotated, into the teacher's vocab, the teacher's embedding
components (tok2vec, transformer) run on the copies, and the student's components get
`Example(student_doc, teacher_doc)` pairs. Gold annotation is never read. The student's
embedding components update as in `nlp.update` (their listeners' gradients, summed); a
frozen one (in `exclude`) hands its output over without a gradient.

The functions take the pipelines as arguments; `Language` calls them from its thin methods
of the same names.
"""
import dataclasses
import hashlib
import tempfile
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Tuple

import numpy

from .errors import Errors
from .language_disk import load_from_directory
from .language_training import check_examples
from .tokens import Doc
from .training.example import Example

if TYPE_CHECKING:
    from .language import Language


def teacher_doc(vocab: Any, doc: Doc) -> Doc:
    """An unannotated Doc over `doc`'s tokens in `vocab` (the teacher's)."""
    orth = doc.column("orth").copy()
    if vocab is not doc.vocab:
        text, idx, length = doc.text, doc.column("idx"), doc.column("length")
        add = vocab.strings.add
        for start, n in zip(idx.tolist(), length.tolist()):
            add(text[start:start + n])
    return Doc.from_columns(vocab, doc.text, orth, doc.column("length").copy(),
                            doc.column("trailing_space").copy(), idx=doc.column("idx").copy())


def teacher_examples(teacher: "Language", examples: List[Example],
                     cache: Optional["TeacherCache"] = None) -> List[Example]:
    """`Example(student doc, teacher doc)` per example, the teacher's embedding components
    run on the teacher docs (so that its listeners find their output); with `cache`, a
    doc whose outputs it holds is not run again."""
    docs = [teacher_doc(teacher.vocab, eg.predicted) for eg in examples]
    for name, proc in teacher.pipeline:
        if not (hasattr(proc, "listening_components") and hasattr(proc, "predict")):
            continue
        if cache is not None and hasattr(proc, "set_doc_outputs"):
            cache.annotate(name, proc, docs)
        else:
            proc.set_annotations(docs, proc.predict(docs))
    return [Example(eg.predicted, doc) for eg, doc in zip(examples, docs)]


class TeacherCache:
    """The per-doc outputs of a teacher's embedding components (tok2vec, transformer),
    kept between distillation steps. The teacher does not change, so a doc met again (the
    same text and tokens, e.g. in the next epoch over the raw text) is not run through
    its transformer again: on a CPU that is most of a step's time. Bounded: once
    `max_mb` MiB are held (on the device the arrays live on), new docs are run but not
    kept; with an epoch-by-epoch pass over a corpus that keeps the same docs and serves
    them in every later epoch.

    Attributes:
        hits, misses: docs served from the cache / run through the component.
        nbytes: the bytes held.
    """

    def __init__(self, max_mb: float) -> None:
        self.max_bytes = int(max_mb * 2 ** 20)
        self.nbytes = 0
        self.hits = 0
        self.misses = 0
        self._items: Dict[Tuple[str, bytes], Any] = {}

    def __len__(self) -> int:
        return len(self._items)

    def annotate(self, name: str, proc: Any, docs: List[Doc]) -> None:
        """Annotate `docs` with `proc`'s outputs (component `name` of the teacher), running
        it only on the docs not held."""
        keys = [(name, _doc_key(doc)) for doc in docs]
        outputs = [self._items.get(key) for key in keys]
        missing = [i for i, out in enumerate(outputs) if out is None]
        self.hits += len(docs) - len(missing)
        self.misses += len(missing)
        if missing:
            fresh = proc.doc_outputs(proc.predict([docs[i] for i in missing]))
            for i, out in zip(missing, fresh):
                outputs[i] = out
                size = _nbytes(out)
                if self.nbytes + size <= self.max_bytes and keys[i] not in self._items:
                    self._items[keys[i]] = out
                    self.nbytes += size
        proc.set_doc_outputs(docs, outputs)

    def summary(self) -> str:
        return (f"teacher cache: {len(self)} docs held ({self.nbytes / 2 ** 20:.0f} of "
                f"{self.max_bytes / 2 ** 20:.0f} MiB); {self.hits} served, {self.misses} run")


def _doc_key(doc: Doc) -> bytes:
    """A digest of the doc's text and token boundaries."""
    digest = hashlib.blake2b(doc.text.encode("utf8"), digest_size=16)
    digest.update(numpy.ascontiguousarray(doc.column("idx"), dtype=numpy.int64).tobytes())
    digest.update(numpy.ascontiguousarray(doc.column("length"), dtype=numpy.int64).tobytes())
    return digest.digest()


def _nbytes(value: Any) -> int:
    """The bytes of the arrays in `value` (arrays, lists of them, dataclasses of them);
    an array of objects counts nothing (a shared table such as a wordpiece vocab)."""
    if getattr(getattr(value, "dtype", None), "kind", None) == "O":
        return 0
    if hasattr(value, "nbytes"):
        return int(value.nbytes)
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(item) for item in value)
    if dataclasses.is_dataclass(value):  # TransformerData, WordpieceBatch, thinc's Ragged
        return sum(_nbytes(getattr(value, f.name)) for f in dataclasses.fields(value))
    return 0


def _pairs(student: "Language", teacher: "Language", exclude: set,
           student_to_teacher: Dict[str, str]) -> List[Tuple[str, Any, Any]]:
    """(name, student component, teacher component) of each component that distils."""
    pairs = []
    for name, proc in student.pipeline:
        if name in exclude or not hasattr(proc, "distill"):
            continue
        teacher_name = student_to_teacher.get(name, name)
        if teacher_name not in teacher.component_names:
            raise ValueError(Errors.E604.format(name=name, teacher_name=teacher_name,
                                                names=teacher.component_names))
        pairs.append((name, proc, teacher.get_pipe(teacher_name)))
    if not pairs:
        raise ValueError(Errors.E607.format(names=student.pipe_names, exclude=sorted(exclude)))
    return pairs


def distill(student: "Language", teacher: "Language", examples: Iterable[Any], *,
            drop: float = 0.0, sgd: Any = None, losses: Optional[Dict[str, float]] = None,
            exclude: Iterable[str] = (), frozen: Iterable[str] = (),
            student_to_teacher: Optional[Dict[str, str]] = None,
            method: str = "distill", teacher_cache: Optional[TeacherCache] = None
            ) -> Dict[str, float]:
    """One distillation step of `student` from `teacher` (see the module docstring).

    Args:
        examples: Examples (or raw-text ones: only their predicted docs are read).
        drop: dropout rate of the student.
        sgd: the optimizer, or None / False for no step (gradients accumulate).
        losses: accumulates each component's loss under its name.
        exclude: student components that take no part.
        frozen: student components whose weights stay as they are, but which still learn
            from the teacher through the embedding components they listen to (their
            gradient reaches the shared tok2vec; their own is dropped).
        student_to_teacher: student component name -> teacher component name.
        method: "distill", or "rehearse" (the components' own teachers: `teacher` is
            then only used for its embedding components).
        teacher_cache: keeps the teacher's embedding outputs between calls (see
            `TeacherCache`).

    Raises:
        ValueError: E604 for a teacher component that does not exist; E607 when nothing
            would learn.
    """
    losses = {} if losses is None else losses
    examples = check_examples(examples, f"Language.{method}")
    if not examples:
        return losses
    exclude, frozen = set(exclude), set(frozen)
    pairs = _pairs(student, teacher, exclude, dict(student_to_teacher or {}))
    distilled = {name: (proc, teacher_proc) for name, proc, teacher_proc in pairs}
    with_teacher = teacher_examples(teacher, examples, teacher_cache)
    updated = []
    for name, proc in student.pipeline:
        listened = set(getattr(proc, "listening_components", ()))
        if name in distilled:
            student_proc, teacher_proc = distilled[name]
            if method == "rehearse":
                student_proc.rehearse(with_teacher, drop=drop, sgd=None, losses=losses)
            else:
                student_proc.distill(teacher_proc, with_teacher, drop=drop, sgd=None,
                                     losses=losses)
            if name in frozen:
                _drop_gradients(proc.model)
            else:
                updated.append(proc)
        elif listened & set(distilled):
            if name in exclude or not getattr(proc, "is_trainable", False):
                docs = [eg.predicted for eg in examples]
                proc.set_annotations(docs, proc.predict(docs))
            else:
                proc.update(examples, drop=drop, sgd=None, losses=losses)
                updated.append(proc)
    if sgd is not None and sgd is not False:
        for proc in updated:
            proc.finish_update(sgd)
    return losses


def _drop_gradients(model: Any) -> None:
    for node in model.walk():
        for param in node.param_names:
            if node.has_grad(param):
                node.set_grad(param, node.ops.alloc(node.get_grad(param).shape))


def start_rehearsal(nlp: "Language") -> "Language":
    """Keep a frozen copy of `nlp` (saved and rebuilt, sharing nothing) as the rehearsal
    teacher: `nlp._rehearsal_teacher`, and each distilling component's copy as that
    component's teacher. Returns the copy."""
    with tempfile.TemporaryDirectory(prefix="nlp_core-rehearsal-") as tmp:
        nlp.to_disk(tmp)
        copy = load_from_directory(type(nlp), tmp)
    for name, proc in nlp.components:
        if hasattr(proc, "initialize_rehearsal") and name in copy.component_names:
            proc.initialize_rehearsal(copy.get_pipe(name))
    nlp._rehearsal_teacher = copy
    return copy


def rehearse(nlp: "Language", examples: Iterable[Any], *, drop: float = 0.0, sgd: Any = None,
             losses: Optional[Dict[str, float]] = None, exclude: Iterable[str] = (),
             frozen: Iterable[str] = ()) -> Dict[str, float]:
    """One rehearsal step: each distilling component learns to keep the outputs of its
    copy from `nlp.resume_training()` on the examples (usually unlabelled text).

    Raises:
        ValueError: E602 when `resume_training` has not kept a copy.
    """
    teacher = getattr(nlp, "_rehearsal_teacher", None)
    if teacher is None:
        raise ValueError(Errors.E602.format(component="nlp"))
    return distill(nlp, teacher, examples, drop=drop, sgd=sgd, losses=losses,
                   exclude=exclude, frozen=frozen, method="rehearse")


__all__ = ["TeacherCache", "distill", "rehearse", "start_rehearsal", "teacher_doc",
           "teacher_examples"]
