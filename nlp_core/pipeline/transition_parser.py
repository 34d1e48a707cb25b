"""TransitionParser: what the dependency parser and the entity recogniser share.

Both run a transition system (`moves`: ArcEager or BiluoNER from native/parser) with the
TransitionBasedParser.v3 model:

- `predict(docs)`: the docs are embedded once; states for chunks of about CHUNK_TOKENS
  tokens are parsed to the end (greedy in C, on the host also when the model is on GPU;
  `beam_width > 1`: beam search). Sentence starts already set on a Doc (`sent_start`
  1 / -1) constrain its states.
- `update(examples)`: golds from the examples (dynamic-oracle costs); with
  `update_with_oracle_cut_size = N > 0` each doc's static-oracle path is cut into pieces of
  at most about N moves (a random length in [N/2, 2N] per batch, as spaCy does), which
  become separate states, so the batch needs fewer, fuller steps; 0 parses whole docs.
- the model scores only the classes seen on the oracle paths of the training data
  (`seen_mask`); classes added later count as seen.

- `distill(teacher_pipe, examples)` / `rehearse(examples)`: the student (this component)
  parses greedily with its own moves, no golds; a copy of its starting batch is advanced
  with the student's classes while the teacher scores every state on the way
  (`nlp_core.ml.parser_distill`); the loss is KL(teacher || student) over each state's
  valid, seen moves (`nlp_core.ml.distill_loss`). The teacher's moves the student lacks are
  added to it first.

Subclasses give the transition system, the golds, the label collection and
`set_annotations`.
"""
import random
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy
from thinc.api import Model, Optimizer

from ..errors import Errors
from ..ml.distill_loss import class_map, in_student_space, kl_to_teacher
from ..ml.listener import Tok2VecListener, batch_id
from ..ml.parser_distill import score_actions
from ..ml.parser_model import n_moves, resize_output, seen_mask, set_seen_classes
from ..ml.parser_step import transition_loss
from ..parser_internals import BeamBatch, GreedyBatch, TransitionSystem, sent_constraints
from ..tokens import Doc
from .trainable import (
    Distillable,
    TrainablePipe,
    sample_examples,
    set_dropout_rate,
    validate_examples,
)

# Tokens per chunk at inference: the precomputed features of a chunk are
# CHUNK_TOKENS * nF * hidden_width * maxout_pieces floats (en_ewt_sm's parser: 13 * 128 * 3
# * 2048 * 4 B = 41 MB), in one buffer that the chunks of a predict call reuse in turn.
CHUNK_TOKENS = 2048
# Docs per batch when following the static oracle over the training data at initialize.
ORACLE_BATCH = 512


class TransitionParser(Distillable, TrainablePipe):
    """Base of DependencyParser and EntityRecognizer (see the module docstring).

    Attributes:
        moves: the transition system (its move names are saved in cfg["moves"]).
    """

    is_resizable = True
    system_class: type = TransitionSystem
    # The kind of component in messages ("parser", "ner").
    kind = "transition parser"

    def __init__(self, vocab, model: Model, name: str, *, moves: Any = None,
                 update_with_oracle_cut_size: int = 100, beam_width: int = 1,
                 beam_density: float = 0.0, scorer: Optional[Callable] = None,
                 **cfg: Any):
        if beam_width < 1 or not 0.0 <= beam_density <= 1.0:
            raise ValueError(Errors.E380.format(component=name, width=beam_width,
                                                    density=beam_density))
        if update_with_oracle_cut_size < 0:
            raise ValueError(Errors.E381.format(component=name,
                                                    value=update_with_oracle_cut_size))
        settings = {"moves": self._move_names(moves),
                    "update_with_oracle_cut_size": int(update_with_oracle_cut_size),
                    "beam_width": int(beam_width), "beam_density": float(beam_density),
                    **cfg}
        super().__init__(vocab, model, name, settings)
        self.scorer = scorer
        self._cfg_loaded()

    def _move_names(self, moves: Any) -> List[str]:
        if moves is None:
            return []
        if isinstance(moves, TransitionSystem):
            return moves.to_list()
        return [str(name) for name in moves]

    def _cfg_loaded(self) -> None:
        self.moves = self.system_class.from_list(self.cfg["moves"]) if self.cfg["moves"] \
            else self.system_class()
        self._labels_changed()

    def _labels_changed(self) -> None:
        """Hook: rebuild lookups that depend on the move table."""

    # --- labels ------------------------------------------------------------------------

    @property
    def move_names(self) -> List[str]:
        return self.moves.move_names

    @property
    def label_data(self) -> List[str]:
        """The move names, in class order (what `initialize(labels=...)` accepts)."""
        return self.moves.to_list()

    def add_label(self, label: str) -> int:
        """Add a label's moves; returns 1 if the label is new, 0 if known. After
        initialization the model's output grows; the old classes keep their weights."""
        if not isinstance(label, str) or not label:
            raise ValueError(Errors.E382.format(component=self.name, label=label))
        if self.moves.label_id(label) >= 0:
            return 0
        self.moves.add_label(label)
        self._sync_moves()
        return 1

    def _add_names(self, names: Iterable[str]) -> None:
        """Add moves by name ("L-nsubj", "B-PER", "S") or plain labels."""
        actions = set(self.moves.action_names)
        for name in names:
            prefix, _, label = name.partition("-")
            if prefix in actions and (label or name == prefix):
                self.moves.add_action(prefix, label or None)
            else:
                self.moves.add_label(name)
        self._sync_moves()

    def _sync_moves(self) -> None:
        self.cfg["moves"] = self.moves.to_list()
        nO = n_moves(self.model)
        if nO is not None and nO < self.moves.n_moves:
            resize_output(self.model, self.moves.n_moves)
        self._labels_changed()

    # --- running -----------------------------------------------------------------------

    def _constraints(self, docs: Sequence[Doc]) -> Optional[numpy.ndarray]:
        """Sentence constraints of the docs, concatenated (None when no doc has any)."""
        if not any(doc.has_column("sent_start") for doc in docs):
            return None
        return numpy.concatenate([sent_constraints(doc) for doc in docs]) if docs else None

    def _new_batch(self, docs: Sequence[Doc], beam_width: int = 1):
        lengths = [len(doc) for doc in docs]
        constraints = self._constraints(docs)
        if beam_width > 1:
            return BeamBatch(self.moves, lengths, beam_width=beam_width,
                             beam_density=self.cfg["beam_density"], sent_starts=constraints)
        return GreedyBatch(self.moves, lengths, sent_starts=constraints)

    def _chunks(self, docs: Sequence[Doc]) -> List[List[Doc]]:
        chunks: List[List[Doc]] = [[]]
        n = 0
        for doc in docs:
            if n and n + len(doc) > CHUNK_TOKENS:
                chunks.append([])
                n = 0
            chunks[-1].append(doc)
            n += len(doc)
        return chunks

    def predict(self, docs: Sequence[Doc]) -> List[Any]:
        """Parse the docs (greedy, or beam search with beam_width > 1); returns one result
        per doc for `set_annotations` (see the subclass). No Doc is changed."""
        docs = list(docs)
        if not self.moves.n_moves or n_moves(self.model) is None:
            raise ValueError(Errors.E383.format(component=self.name, kind=self.kind))
        if not any(len(doc) for doc in docs):
            return [self._empty_result(doc) for doc in docs]
        width = self.cfg["beam_width"]
        chunks = self._chunks(docs)
        batches = [self._new_batch(chunk, width) for chunk in chunks]
        self.model.predict((docs, batches))
        results: List[Any] = []
        for batch in batches:
            for d in range(batch.n_docs):
                results.append(self._result(batch, d))
        return results

    def _empty_result(self, doc: Doc) -> Any:
        raise NotImplementedError

    def _result(self, batch: Any, d: int) -> Any:
        """The prediction for doc d of a final batch."""
        raise NotImplementedError

    # --- training ----------------------------------------------------------------------

    def _gold(self, example: Any, constraints: Optional[numpy.ndarray]) -> Any:
        raise NotImplementedError

    def _golds(self, examples: Sequence[Any], docs: Sequence[Doc]
               ) -> Tuple[List[Any], Optional[numpy.ndarray]]:
        constraints = self._constraints(docs)
        golds = []
        start = 0
        for eg, doc in zip(examples, docs):
            piece = None if constraints is None else constraints[start:start + len(doc)]
            start += len(doc)
            golds.append(self._gold(eg, piece))
        return golds, constraints

    def _costs_source(self, examples: Sequence[Any], golds: List[Any]) -> Any:
        """What the model's training forward takes as golds (a list of Gold, or a
        callable batch -> costs)."""
        return golds

    def update(self, examples: Sequence[Any], *, drop: float = 0.0,
               sgd: Optimizer | None = None, losses: Dict[str, float] | None = None
               ) -> Dict[str, float]:
        """Learn from one batch: follow the model's moves from the (cut) oracle states,
        loss against the zero-cost moves at every step, backprop once."""
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        examples = validate_examples(examples, f"{type(self).__name__}.update")
        docs = [eg.predicted for eg in examples]
        if not any(len(doc) for doc in docs):
            return losses
        set_dropout_rate(self.model, drop)
        golds, constraints = self._golds(examples, docs)
        batch = GreedyBatch(self.moves, [len(doc) for doc in docs], sent_starts=constraints)
        cut = self.cfg["update_with_oracle_cut_size"]
        if cut > 0:
            size = random.randint(max(1, cut // 2), 2 * cut)
            batch = batch.oracle_cuts(golds, size)
        trace, backprop = self.model.begin_update(
            (docs, batch, self._costs_source(examples, golds)))
        loss, d_scores = self.get_loss(examples, trace)
        backprop(d_scores)
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def get_loss(self, examples: Sequence[Any], trace: Any) -> Tuple[float, List[Any]]:
        """Softmax cross-entropy against the zero-cost moves of every scored state (see
        `nlp_core.ml.parser_step.transition_loss`); returns (loss, d_scores per step)."""
        loss, d_scores = transition_loss(trace, seen_mask(self.model),
                                         to_numpy=self.model.ops.to_numpy)
        if numpy.isnan(loss):
            raise ValueError(Errors.E384.format(component=self.name))
        return loss, d_scores

    # --- distillation ------------------------------------------------------------------

    def distill(self, teacher_pipe: "TransitionParser", examples: Sequence[Any], *,
                drop: float = 0.0, sgd: Optimizer | None = None,
                losses: Dict[str, float] | None = None) -> Dict[str, float]:
        """Learn the teacher's move distribution along the student's own parse (see the
        module docstring). Each Example holds the student's doc (`predicted`) and the
        teacher's doc over the same tokens (`reference`); no gold annotation is read.

        Raises:
            TypeError: E600 when the teacher is another kind of component.
            ValueError: E601 when the docs' tokens differ, E603 for an untrained teacher.
        """
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        docs, teacher_docs = self._distill_docs(teacher_pipe, examples, "distill")
        if not teacher_pipe.moves.n_moves or n_moves(teacher_pipe.model) is None:
            raise ValueError(Errors.E603.format(component=self.name))
        self.add_teacher_moves(teacher_pipe)
        if not any(len(doc) for doc in docs):
            return losses
        set_dropout_rate(self.model, drop)
        batch = self._new_batch(docs)
        teacher_batch = batch.copy()
        trace, backprop = self.model.begin_update((docs, batch, None))
        actions = [batch.history(i) for i in range(batch.n_states)]
        sizes, T = score_actions(teacher_pipe.model, teacher_docs, teacher_batch, actions,
                                 trace.n_scored)
        if [int(n) for n in sizes] != trace.sizes:  # the same moves from the same states
            raise RuntimeError(f"{self.name}.distill: the teacher scored {list(sizes)} "
                               f"states per step along the student's moves, the student "
                               f"{trace.sizes}.")
        loss, d_scores = self.get_distill_loss(teacher_pipe, trace, T)
        backprop(d_scores)
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def add_teacher_moves(self, teacher_pipe: "TransitionParser") -> None:
        """Add the teacher's moves this component lacks (they count as seen)."""
        mine = set(self.moves.move_names)
        missing = [name for name in teacher_pipe.moves.move_names if name not in mine]
        if missing:
            self._add_names(missing)

    def get_distill_loss(self, teacher_pipe: "TransitionParser", trace: Any,
                         teacher_scores: numpy.ndarray) -> Tuple[float, numpy.ndarray]:
        """KL(teacher || student) over the scored states and its gradient (N, nO).

        Each state's softmaxes span its valid moves that both sides have; the student's
        also leaves out its unseen moves, the teacher's its own unseen ones and the
        student's (so the teacher's distribution lies inside the student's)."""
        S = trace.all_scores(self.model.ops.to_numpy)
        valid = numpy.isfinite(trace.all_costs())
        mapping = class_map(self.moves.move_names, teacher_pipe.moves.move_names)
        T, shared = in_student_space(teacher_scores, mapping)
        student_seen = seen_mask(self.model)
        if student_seen is None:
            student_seen = numpy.ones(len(mapping), dtype=bool)
        teacher_seen = seen_mask(teacher_pipe.model)
        mapped_seen = shared.copy()
        if teacher_seen is not None:
            mapped_seen[shared] = teacher_seen[mapping[shared]]
        student_allowed = valid & (student_seen & shared)[None, :]
        teacher_allowed = student_allowed & mapped_seen[None, :]
        loss, d_scores = kl_to_teacher(S, T, student_allowed, teacher_allowed)
        if numpy.isnan(loss):
            raise ValueError(Errors.E384.format(component=self.name))
        return loss, d_scores

    def initialize_distillation(self, teacher_pipe: "TransitionParser",
                                get_examples: Callable[[], Iterable[Any]], *,
                                nlp: Any = None) -> None:
        """Initialise a fresh student from its teacher: the teacher's moves, its seen
        classes, and the model's shapes from a sample of the (raw text) examples."""
        examples = sample_examples(get_examples, self)
        if not teacher_pipe.moves.n_moves:
            raise ValueError(Errors.E603.format(component=self.name))
        self._add_names(teacher_pipe.moves.move_names)
        self._initialize_model([eg.predicted for eg in examples])
        mapping = class_map(self.moves.move_names, teacher_pipe.moves.move_names)
        teacher_seen = seen_mask(teacher_pipe.model)
        seen = mapping >= 0
        if teacher_seen is not None:
            seen[seen] = teacher_seen[mapping[seen]]
        set_seen_classes(self.model, seen)

    def initialize(self, get_examples: Callable[[], Iterable[Any]], *, nlp: Any = None,
                   labels: Optional[Iterable[str]] = None) -> None:
        """Set the moves (from `labels`, else from the examples' gold annotation), the seen
        classes (those on the static-oracle paths of the examples) and the model's shapes.

        Raises:
            ValueError: E350 when `get_examples()` yields nothing, E385 when no labels
                were found.
        """
        examples = sample_examples(get_examples, self, n=None)
        if labels is not None:
            self._add_names(labels)
        else:
            self._add_names(self._collect_labels(examples))
        if not self._has_labels():
            raise ValueError(Errors.E385.format(component=self.name, kind=self.kind,
                                                    n=len(examples), what=self._label_what))
        self._initialize_model([eg.predicted for eg in examples[:10]])
        set_seen_classes(self.model, self._oracle_classes(examples))

    _label_what = "labels"

    def _has_labels(self) -> bool:
        return bool(self.moves.labels)

    def _collect_labels(self, examples: Sequence[Any]) -> List[str]:
        raise NotImplementedError

    def labels_in(self, examples: Sequence[Any]) -> List[str]:
        """The labels the examples' gold annotation holds, as `initialize` collects them
        (fine-tuning adds those the component lacks)."""
        return self._collect_labels(examples)

    def _oracle_classes(self, examples: Sequence[Any]) -> numpy.ndarray:
        """bool (n_moves,): the classes the static oracle uses on the examples."""
        seen = numpy.zeros(self.moves.n_moves, dtype=bool)
        for start in range(0, len(examples), ORACLE_BATCH):
            chunk = examples[start:start + ORACLE_BATCH]
            docs = [eg.predicted for eg in chunk]
            golds, constraints = self._golds(chunk, docs)
            batch = GreedyBatch(self.moves, [len(doc) for doc in docs],
                                sent_starts=constraints)
            batch.follow_oracle(golds)
            for i in range(batch.n_states):
                seen[batch.history(i)] = True
        return seen

    def _initialize_model(self, docs: List[Doc]) -> None:
        n = self.moves.n_moves
        nO = n_moves(self.model)
        if nO is None or nO < n:
            resize_output(self.model, n)
        ops = self.model.ops
        # A listener has nothing to return before its upstream has run: hand it zeros of
        # its width so that the projection can infer its input width from the sample.
        listeners = [node for node in self.model.walk() if isinstance(node, Tok2VecListener)]
        key = batch_id(docs)
        for listener in listeners:
            listener.receive(key, [ops.alloc2f(len(doc), listener.get_dim("nO"))
                                   for doc in docs], None)
        try:
            self.model.initialize(X=docs)
        finally:
            for listener in listeners:
                listener.clear()
