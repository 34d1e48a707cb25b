"""The tagger component: one label per token, from a softmax over its label set.

With `attr = "tag"` (the default) it predicts language-specific tags (XPOS) into
`token.tag_` and scores `tag_acc`; with `attr = "pos"` it predicts Universal POS tags into
`token.pos_` and scores `pos_acc`, so one pipeline can hold both:

    [components.tagger]
    factory = "tagger"

    [components.upos]
    factory = "tagger"
    attr = "pos"

Predictions are the argmax over the known labels only, so an unknown label cannot be
predicted. The loss is categorical cross-entropy (optionally label-smoothed) summed over
tokens; tokens without one aligned gold token, or whose gold value is unset, get no
gradient. A gold value `neg_prefix + LABEL` (e.g. "!NN") means "not LABEL": only that
class's probability is pushed down.

`distill(teacher_pipe, examples)` / `rehearse(examples)` learn the teacher's tag
distribution instead of gold tags: per token, KL(teacher || student) over the labels both
have (the teacher's labels the student lacks are added first).
"""
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy
from confection import Config
from thinc.api import Model, Optimizer
from thinc.types import Floats2d, Ints1d

from ..errors import Errors, nearest
from ..ml.distill_loss import class_map, in_student_space, kl_to_teacher
from ..ml.listener import Tok2VecListener, batch_id
from ..ml.tagger_model import resize_output
from ..registry import registry
from ..tokens import Doc
from ..tokens.annotation import UNIVERSAL_POS, pos_id
from ..training.scorer import score_token_attr
from .trainable import (
    Distillable,
    TrainablePipe,
    sample_examples,
    set_dropout_rate,
    validate_examples,
)

if TYPE_CHECKING:
    from ..language import Language

ATTRS = ("tag", "pos")
MISSING = -1  # class code of a token with no gold value; "not LABEL i" is -(i + 2)

DEFAULT_TAGGER_MODEL = """
[model]
@architectures = "spacy.Tagger.v2"
nO = null
normalize = false

[model.tok2vec]
@architectures = "spacy.Tok2Vec.v2"

[model.tok2vec.embed]
@architectures = "spacy.MultiHashEmbed.v2"
width = 96
attrs = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
rows = [5000, 1000, 2500, 2500]
include_static_vectors = false

[model.tok2vec.encode]
@architectures = "spacy.MaxoutWindowEncoder.v2"
width = 96
depth = 4
window_size = 1
maxout_pieces = 3
"""


@registry.scorers("nlp_core.tagger_scorer.v1", aliases=["spacy.tagger_scorer.v1"])
def make_tagger_scorer() -> Callable[..., Dict[str, Any]]:
    """The tagger's scorer: `scorer(examples, attr="tag") -> {"tag_acc": float | None}`."""
    return tagger_score


def tagger_score(examples: Iterable[Any], *, attr: str = "tag", **kwargs: Any
                 ) -> Dict[str, Any]:
    return score_token_attr(examples, attr, **kwargs)


@registry.factory(
    "tagger",
    assigns=["token.tag"],
    default_config={
        "model": Config().from_str(DEFAULT_TAGGER_MODEL)["model"],
        "overwrite": False,
        "scorer": {"@scorers": "spacy.tagger_scorer.v1"},
        "neg_prefix": "!",
        "label_smoothing": 0.0,
        "attr": "tag",
    },
    default_score_weights={"tag_acc": 1.0, "pos_acc": 0.0},
)
def make_tagger(nlp: "Language", name: str, model: Model, overwrite: bool,
                scorer: Optional[Callable], neg_prefix: str, label_smoothing: float,
                attr: str) -> "Tagger":
    """`[components.NAME] factory = "tagger"`.

    Args:
        model: `List[Doc] -> List[Floats2d]` class scores per token (spacy.Tagger.v2).
        overwrite: replace values already set on the tokens (else only fill unset ones).
        scorer: `scorer(examples, attr=...) -> scores` (spacy.tagger_scorer.v1).
        neg_prefix: marks negative gold values ("!NN": not NN).
        label_smoothing: share of the target probability spread over the other classes
            (0.0-0.2 typical).
        attr: "tag" (XPOS into token.tag_) or "pos" (UPOS into token.pos_).
    """
    return Tagger(nlp.vocab, model, name, overwrite=overwrite, scorer=scorer,
                  neg_prefix=neg_prefix, label_smoothing=label_smoothing, attr=attr)


class Tagger(Distillable, TrainablePipe):
    """Assigns one label per token from a softmax over its labels."""

    is_resizable = True

    def __init__(self, vocab, model: Model, name: str = "tagger", *, overwrite: bool = False,
                 scorer: Optional[Callable] = tagger_score, neg_prefix: str = "!",
                 label_smoothing: float = 0.0, attr: str = "tag"):
        if attr not in ATTRS:
            raise ValueError(Errors.E357.format(component=name, attr=attr))
        cfg = {"labels": [], "overwrite": overwrite, "neg_prefix": neg_prefix,
               "label_smoothing": label_smoothing, "attr": attr}
        super().__init__(vocab, model, name, cfg)
        self.scorer = scorer
        self._cfg_loaded()

    @property
    def attr(self) -> str:
        return self.cfg["attr"]

    def _cfg_loaded(self) -> None:
        labels = self.cfg["labels"]
        # The value each label has in the Doc column (string hash for tag, symbol for pos).
        self._label_ids = numpy.asarray([self._value_of(label) for label in labels],
                                        dtype=numpy.uint64)
        self._class_of = {int(value): i for i, value in enumerate(self._label_ids)}

    def _value_of(self, label: str) -> int:
        if self.attr == "pos":
            return pos_id(label)
        return self.vocab.strings.add(label)

    # --- labels ------------------------------------------------------------------------

    def add_label(self, label: str) -> int:
        """Add a label; returns 1 if it is new, 0 if known. After initialization the
        output layer grows (the new class's weights start at zero)."""
        if not isinstance(label, str) or not label:
            raise ValueError(Errors.E358.format(component=self.name, label=label))
        if label in self.cfg["labels"]:
            return 0
        if self.attr == "pos" and label not in UNIVERSAL_POS:
            raise ValueError(Errors.E356.format(component=self.name, label=label,
                                                    known=", ".join(UNIVERSAL_POS)))
        output = self.model.get_ref("output_layer")
        n_labels = len(self.cfg["labels"]) + 1
        if output.has_param("W") and output.get_dim("nO") < n_labels:
            resize_output(self.model, n_labels)
        self.cfg["labels"].append(label)
        self._cfg_loaded()
        return 1

    # --- running -----------------------------------------------------------------------

    def predict(self, docs: Sequence[Doc]) -> List[Ints1d]:
        """The class index of each token (an index into `labels`), one array per doc."""
        n_labels = len(self.labels)
        if not n_labels:
            raise ValueError(Errors.E354.format(component=self.name))
        if not any(len(doc) for doc in docs):
            return [numpy.zeros((len(doc),), dtype=numpy.int64) for doc in docs]
        scores = self.model.predict(docs)
        ops = self.model.ops
        return [ops.to_numpy(ops.xp.argmax(s[:, :n_labels], axis=1)) for s in scores]

    def set_annotations(self, docs: Sequence[Doc], batch_classes: List[Ints1d]) -> None:
        column, label_ids = self.attr, self._label_ids
        overwrite = self.cfg["overwrite"]
        for doc, classes in zip(docs, batch_classes):
            if not len(doc):
                continue
            values = label_ids[classes]
            if not overwrite and doc.has_column(column):
                current = doc.column(column)
                values = numpy.where(current == 0, values, current)
            doc.set_column(column, values)

    # --- training ----------------------------------------------------------------------

    def update(self, examples: Sequence[Any], *, drop: float = 0.0,
               sgd: Optimizer | None = None, losses: Dict[str, float] | None = None
               ) -> Dict[str, float]:
        """Learn from one batch: forward, loss against the aligned gold labels, backprop
        (gradients accumulate; `sgd` applies them at once, else `finish_update` does)."""
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        examples = validate_examples(examples, "Tagger.update")
        docs = [eg.predicted for eg in examples]
        if not any(len(doc) for doc in docs):
            return losses
        set_dropout_rate(self.model, drop)
        scores, backprop = self.model.begin_update(docs)
        loss, d_scores = self.get_loss(examples, scores)
        backprop(d_scores)
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def get_loss(self, examples: Sequence[Any], scores: List[Floats2d]
                 ) -> Tuple[float, List[Floats2d]]:
        """Cross-entropy gradient of softmax outputs `scores` (one (n_tokens, nO) array
        per example's predicted doc) and the loss, the sum of its squares."""
        ops = self.model.ops
        xp = ops.xp
        lengths = [s.shape[0] for s in scores]
        guesses = xp.concatenate(scores) if len(scores) != 1 else scores[0]
        classes = self._gold_classes(examples)
        d_scores = self._gradient(guesses, classes)
        loss = float((d_scores ** 2).sum())
        if numpy.isnan(loss):
            raise ValueError(Errors.E360.format(component=self.name))
        return loss, ops.unflatten(d_scores, ops.asarray1i(lengths))

    def _gradient(self, guesses: Floats2d, classes: numpy.ndarray) -> Floats2d:
        xp = self.model.ops.xp
        n_classes = guesses.shape[1]
        d = guesses.copy()
        rows = numpy.nonzero(classes >= 0)[0]
        cols = classes[rows]
        smoothing = self.cfg["label_smoothing"]
        if smoothing:
            limit = (n_classes - 1) / n_classes
            if n_classes < 2 or not 0 < smoothing < limit:
                raise ValueError(Errors.E361.format(component=self.name, value=smoothing,
                                                        limit=limit))
            other = smoothing / (n_classes - 1)
            d[xp.asarray(rows)] -= other
            d[xp.asarray(rows), xp.asarray(cols)] -= (1.0 - smoothing) - other
        else:
            d[xp.asarray(rows), xp.asarray(cols)] -= 1.0
        missing = numpy.nonzero(classes == MISSING)[0]
        if len(missing):
            d[xp.asarray(missing)] = 0.0
        negative = numpy.nonzero(classes < MISSING)[0]
        if len(negative):
            neg_rows, neg_cols = xp.asarray(negative), xp.asarray(-classes[negative] - 2)
            kept = d[neg_rows, neg_cols].copy()
            d[neg_rows] = 0.0
            d[neg_rows, neg_cols] = kept
        return d

    def _gold_classes(self, examples: Sequence[Any]) -> numpy.ndarray:
        """Per predicted token of the examples (concatenated): the gold class index,
        MISSING, or -(i + 2) for "not label i"."""
        if not examples:
            return numpy.zeros((0,), dtype=numpy.int64)
        gold = numpy.concatenate([self._gold_values(eg) for eg in examples])
        values, inverse = numpy.unique(gold, return_inverse=True)
        strings = examples[0].reference.vocab.strings
        codes = numpy.fromiter((self._code_of(int(v), strings) for v in values.tolist()),
                               dtype=numpy.int64, count=len(values))
        return codes[inverse.reshape(-1)]

    def _gold_values(self, example: Any) -> numpy.ndarray:
        """The gold column value (0: none) of each predicted token: that of the one gold
        token it is aligned to, 0 when it is aligned to none or several."""
        predicted, reference = example.predicted, example.reference
        n = len(predicted)
        if not reference.has_column(self.attr) or n == 0:
            return numpy.zeros((n,), dtype=numpy.uint64)
        column = reference.column(self.attr)
        if _same_tokens(predicted, reference):
            return column.astype(numpy.uint64, copy=False)
        x2y = example.alignment.x2y
        one = numpy.nonzero(x2y.lengths == 1)[0]
        gold = numpy.zeros((n,), dtype=numpy.uint64)
        gold[one] = column[x2y.data[x2y.starts[one]]]
        return gold

    def _code_of(self, value: int, strings: Any) -> int:
        if value == 0:
            return MISSING
        index = self._class_of.get(value)
        if index is not None:
            return index
        label = strings[value]
        prefix = self.cfg["neg_prefix"]
        if prefix and label.startswith(prefix):
            index = self._class_of.get(self._value_of(label[len(prefix):]))
            if index is not None:
                return -(index + 2)
        raise ValueError(Errors.E355.format(component=self.name, label=label,
                                                n=len(self.labels),
                                                known=nearest(label, self.labels)))

    # --- distillation ------------------------------------------------------------------

    def distill(self, teacher_pipe: "Tagger", examples: Sequence[Any], *, drop: float = 0.0,
                sgd: Optimizer | None = None, losses: Dict[str, float] | None = None
                ) -> Dict[str, float]:
        """Learn the teacher's tag distribution on the examples: the student tags each
        `predicted` doc, the teacher the `reference` doc over the same tokens; no gold tag
        is read.

        Raises:
            TypeError: E600 when the teacher is not a tagger.
            ValueError: E609 when it predicts another attribute, E601 when the docs'
                tokens differ, E603 for an untrained teacher.
        """
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        docs, teacher_docs = self._distill_docs(teacher_pipe, examples, "distill")
        if teacher_pipe.attr != self.attr:
            raise ValueError(Errors.E609.format(component=self.name, attr=self.attr,
                                                teacher_attr=teacher_pipe.attr))
        if not teacher_pipe.labels:
            raise ValueError(Errors.E603.format(component=self.name))
        for label in teacher_pipe.labels:
            if label not in self.cfg["labels"]:
                self.add_label(label)
        if not any(len(doc) for doc in docs):
            return losses
        T = teacher_log_scores(teacher_pipe, teacher_docs)
        set_dropout_rate(self.model, drop)
        probs, backprop = self.model.begin_update(docs)
        loss, d_scores = self.get_distill_loss(teacher_pipe, probs, T)
        backprop(d_scores)
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def get_distill_loss(self, teacher_pipe: "Tagger", probs: List[Floats2d],
                         teacher_scores: numpy.ndarray) -> Tuple[float, List[Floats2d]]:
        """KL(teacher || student) over the tokens, and its gradient (one array per doc,
        for the Softmax's backprop): the softmaxes span the labels both sides have."""
        ops = self.model.ops
        lengths = [p.shape[0] for p in probs]
        P = ops.to_numpy(ops.xp.concatenate(probs) if len(probs) != 1 else probs[0])
        n_out = P.shape[1]
        with numpy.errstate(divide="ignore"):
            S = numpy.log(numpy.asarray(P, dtype=numpy.float64))
        mapping = numpy.full(n_out, -1, dtype=numpy.int64)
        mapping[:len(self.labels)] = class_map(self.labels, teacher_pipe.labels)
        T, shared = in_student_space(teacher_scores, mapping)
        loss, d = kl_to_teacher(S, T, shared[None, :])
        if numpy.isnan(loss):
            raise ValueError(Errors.E360.format(component=self.name))
        return loss, ops.unflatten(ops.asarray2f(d), ops.asarray1i(lengths))

    def initialize_distillation(self, teacher_pipe: "Tagger",
                                get_examples: Callable[[], Iterable[Any]], *,
                                nlp: Any = None) -> None:
        """Initialise a fresh student from its teacher: the teacher's labels, and the
        model's shapes from a sample of the (raw text) examples."""
        if not teacher_pipe.labels:
            raise ValueError(Errors.E603.format(component=self.name))
        self.initialize(get_examples, nlp=nlp, labels=list(teacher_pipe.labels))

    def initialize(self, get_examples: Callable[[], Iterable[Any]], *, nlp: Any = None,
                   labels: Optional[Iterable[str]] = None) -> None:
        """Set the labels (`labels`, else every gold value in the examples, sorted) and
        initialise the model's weights and shapes.

        Raises:
            ValueError: E350 when `get_examples()` yields nothing, E353 when there are no
                labels.
        """
        if labels is not None:
            examples = sample_examples(get_examples, self)
            for label in labels:
                self.add_label(label)
        else:
            examples = sample_examples(get_examples, self, n=None)
            for label in sorted(self._labels_in(examples)):
                self.add_label(label)
        if not self.labels:
            what = "XPOS tags" if self.attr == "tag" else "UPOS tags"
            column = "XPOS" if self.attr == "tag" else "UPOS"
            raise ValueError(Errors.E353.format(component=self.name, attr=self.attr,
                                                    n=len(examples), what=what,
                                                    column=column))
        smoothing = self.cfg["label_smoothing"]
        n_labels = len(self.labels)
        if smoothing and (n_labels < 2 or not 0 < smoothing < (n_labels - 1) / n_labels):
            raise ValueError(Errors.E361.format(component=self.name, value=smoothing,
                                                    limit=(n_labels - 1) / n_labels))
        self._initialize_model([eg.predicted for eg in examples[:10]])

    def labels_in(self, examples: Sequence[Any]) -> List[str]:
        """The gold values of the examples, sorted, as `initialize` collects them
        (fine-tuning adds those the component lacks)."""
        return sorted(self._labels_in(examples))

    def _labels_in(self, examples: Sequence[Any]) -> set:
        columns: Dict[int, Tuple[Any, List[numpy.ndarray]]] = {}  # per StringStore
        for eg in examples:
            if eg.reference.has_column(self.attr) and len(eg.reference):
                column = eg.reference.column(self.attr)
                strings = eg.reference.vocab.strings
                columns.setdefault(id(strings), (strings, []))[1].append(column)
        labels: set = set()
        for strings, arrays in columns.values():
            values = numpy.unique(numpy.concatenate(arrays)).tolist()
            labels.update(strings[value] for value in values if value)
        prefix = self.cfg["neg_prefix"]
        return {label for label in labels if not (prefix and label.startswith(prefix))}

    def _initialize_model(self, docs: List[Doc]) -> None:
        output = self.model.get_ref("output_layer")
        n_labels = len(self.labels)
        if output.has_dim("nO") and output.get_dim("nO") < n_labels:
            resize_output(self.model, n_labels)
        elif not output.has_dim("nO"):
            output.set_dim("nO", n_labels)
        n_out = self.model.get_ref("output_layer").get_dim("nO")
        ops = self.model.ops
        # A listener has nothing to return before its upstream has run: hand it zeros of
        # its width so that the output layer can infer its input width from the sample.
        listeners = [node for node in self.model.walk() if isinstance(node, Tok2VecListener)]
        key = batch_id(docs)
        for listener in listeners:
            listener.receive(key, [ops.alloc2f(len(doc), listener.get_dim("nO"))
                                   for doc in docs], None)
        try:
            self.model.initialize(X=docs, Y=[ops.alloc2f(len(doc), n_out) for doc in docs])
        finally:
            for listener in listeners:
                listener.clear()

    def score(self, examples: Iterable[Any], **kwargs: Any) -> Dict[str, Any]:
        """`{"tag_acc": float}` (attr "tag") or `{"pos_acc": float}` (attr "pos"); None
        when the examples have no gold values."""
        examples = validate_examples(examples, "Tagger.score")
        if self.scorer is None:
            return {}
        return self.scorer(examples, attr=self.attr, **kwargs)


def teacher_log_scores(teacher_pipe: "Tagger", docs: Sequence[Doc]) -> numpy.ndarray:
    """The teacher's log-probabilities (or logits: the softmax is the same) over its labels,
    float64 (n_tokens, n_teacher_labels), docs concatenated."""
    ops = teacher_pipe.model.ops
    scores = teacher_pipe.model.predict(list(docs))
    n_labels = len(teacher_pipe.labels)
    T = numpy.concatenate([numpy.asarray(ops.to_numpy(s), dtype=numpy.float64)[:, :n_labels]
                           for s in scores])
    if teacher_pipe.model.get_ref("output_layer").attrs.get("softmax_normalize"):
        with numpy.errstate(divide="ignore"):
            T = numpy.log(T)  # it gave probabilities
    return T


def _same_tokens(predicted: Doc, reference: Doc) -> bool:
    """True when both docs have the same text and token offsets (gold tokens, or a
    tokenizer that agrees with the treebank): the alignment is the identity."""
    if len(predicted) != len(reference) or predicted.text != reference.text:
        return False
    return bool(numpy.array_equal(predicted.column("idx"), reference.column("idx"))
                and numpy.array_equal(predicted.column("length"), reference.column("length")))
