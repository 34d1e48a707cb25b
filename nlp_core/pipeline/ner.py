"""The named-entity recogniser: BILUO transitions, one per token.

    [components.ner]
    factory = "ner"
    update_with_oracle_cut_size = 100
    incorrect_spans_key = null

It sets `doc.ents` (every other token becomes "O"). Entities never cross a sentence
boundary that an earlier component (e.g. the parser) set: a token with `sent_start == 1`
cannot continue an entity. Training data may be partially annotated (tokens with a missing
IOB value cost nothing); with `incorrect_spans_key = "KEY"`, the spans in the reference's
`doc.spans["KEY"]` are known wrong entities: the moves that would complete one of them
(Last or Unit of its label at its end, with the entity opened at its start) cost 1.

Scores (`ner_score`): `ents_p`, `ents_r`, `ents_f`, `ents_per_type`.
"""
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy
from confection import Config
from thinc.api import Model

from ..parser_internals import BiluoNER, biluo_from_example, make_ner_gold
from ..registry import registry
from ..tokens import Doc
from ..training.scorer import one_to_one, score_spans
from .trainable import validate_examples
from .transition_parser import TransitionParser

if TYPE_CHECKING:
    from ..language import Language

DEFAULT_NER_MODEL = """
[model]
@architectures = "spacy.TransitionBasedParser.v3"
state_type = "ner"
extra_state_tokens = false
hidden_width = 64
maxout_pieces = 2
use_upper = true
nO = null

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


@registry.scorers("nlp_core.ner_scorer.v1", aliases=["spacy.ner_scorer.v1"])
def make_ner_scorer() -> Callable[..., Dict[str, Any]]:
    """The recogniser's scorer: `scorer(examples) -> {"ents_p", "ents_r", "ents_f",
    "ents_per_type"}`."""
    return ner_score


def ner_score(examples: Iterable[Any], **kwargs: Any) -> Dict[str, Any]:
    return score_spans(examples, "ents", **kwargs)


@registry.factory(
    "ner",
    assigns=["doc.ents", "token.ent_iob", "token.ent_type"],
    default_config={
        "model": Config().from_str(DEFAULT_NER_MODEL)["model"],
        "moves": None,
        "update_with_oracle_cut_size": 100,
        "incorrect_spans_key": None,
        "beam_width": 1,
        "beam_density": 0.0,
        "scorer": {"@scorers": "spacy.ner_scorer.v1"},
    },
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0,
                           "ents_per_type": None},
)
def make_ner(nlp: "Language", name: str, model: Model, moves: Optional[Any],
             update_with_oracle_cut_size: int, incorrect_spans_key: Optional[str],
             beam_width: int, beam_density: float,
             scorer: Optional[Callable]) -> "EntityRecognizer":
    """`[components.NAME] factory = "ner"`.

    Args:
        model: TransitionBasedParser.v3 with state_type "ner".
        moves: move names (or a BiluoNER table) to start from; None: from the data.
        update_with_oracle_cut_size: cut training docs into pieces of about this many
            moves (0: whole docs).
        incorrect_spans_key: key of the reference span group holding known wrong entities.
        beam_width: 1 = greedy; > 1 = beam search with that many states per doc.
        beam_density: beam states whose probability is below this share of the best
            one's are dropped (0.0 keeps all).
        scorer: `scorer(examples) -> scores` (spacy.ner_scorer.v1).
    """
    return EntityRecognizer(nlp.vocab, model, name, moves=moves,
                            update_with_oracle_cut_size=update_with_oracle_cut_size,
                            incorrect_spans_key=incorrect_spans_key, beam_width=beam_width,
                            beam_density=beam_density, scorer=scorer)


class EntityRecognizer(TransitionParser):
    """Sets `doc.ents` (see the module docstring)."""

    system_class = BiluoNER
    kind = "ner"
    _label_what = "entity annotation"

    def __init__(self, vocab, model: Model, name: str = "ner", *, moves: Any = None,
                 update_with_oracle_cut_size: int = 100,
                 incorrect_spans_key: Optional[str] = None, beam_width: int = 1,
                 beam_density: float = 0.0, scorer: Optional[Callable] = ner_score):
        super().__init__(vocab, model, name, moves=moves,
                         update_with_oracle_cut_size=update_with_oracle_cut_size,
                         beam_width=beam_width, beam_density=beam_density, scorer=scorer,
                         incorrect_spans_key=incorrect_spans_key)

    def _labels_changed(self) -> None:
        strings = self.vocab.strings
        self._label_hashes = numpy.asarray([strings.add(label) for label in self.moves.labels],
                                           dtype=numpy.uint64)

    @property
    def labels(self) -> Tuple[str, ...]:
        """The entity labels."""
        return tuple(sorted(self.moves.labels))

    # --- running -----------------------------------------------------------------------

    def _empty_result(self, doc: Doc) -> List[Tuple[int, int, int]]:
        return []

    def _result(self, batch: Any, d: int) -> List[Tuple[int, int, int]]:
        return batch.entities(d)

    def set_annotations(self, docs: Sequence[Doc],
                        entities: List[List[Tuple[int, int, int]]]) -> None:
        """Set each doc's entities [(start, end, label id)]; other tokens become O."""
        hashes = self._label_hashes
        for doc, ents in zip(docs, entities):
            if len(doc) == 0:
                continue
            iob = numpy.full(len(doc), 2, dtype=numpy.uint8)
            types = numpy.zeros(len(doc), dtype=numpy.uint64)
            for start, end, label in ents:
                iob[start] = 3
                iob[start + 1:end] = 1
                types[start:end] = hashes[label]
            doc.set_column("ent_iob", iob)
            doc.set_column("ent_type", types)
            doc.set_column("ent_kb_id", numpy.zeros(len(doc), dtype=numpy.uint64))

    # --- training ----------------------------------------------------------------------

    def _gold(self, example: Any, constraints: Optional[numpy.ndarray]) -> Any:
        return make_ner_gold(self.moves, example, constraints=constraints)

    def _collect_labels(self, examples: Sequence[Any]) -> List[str]:
        labels = set()
        for eg in examples:
            _, found = biluo_from_example(eg)
            labels.update(label for label in found if label)
        return sorted(labels)

    def _costs_source(self, examples: Sequence[Any], golds: List[Any]) -> Any:
        key = self.cfg.get("incorrect_spans_key")
        if not key:
            return golds
        wrong = [_incorrect_spans(self.moves, eg, key) for eg in examples]
        if not any(wrong):
            return golds
        return _WrongSpanCosts(self.moves, golds, wrong)

    def score(self, examples: Iterable[Any], **kwargs: Any) -> Dict[str, Any]:
        """`ents_p`, `ents_r`, `ents_f`, `ents_per_type`."""
        examples = validate_examples(examples, "EntityRecognizer.score")
        if self.scorer is None:
            return {}
        return self.scorer(examples, **kwargs)


def _incorrect_spans(moves: BiluoNER, example: Any, key: str) -> Dict[int, List[Tuple]]:
    """{end token: [(start, label id)]} of the reference's known wrong entities, over the
    predicted tokens (spans whose edges fall inside a predicted token are left out)."""
    group = example.reference.spans.get(key) if hasattr(example.reference, "spans") else None
    out: Dict[int, List[Tuple]] = {}
    if not group:
        return out
    x_of_y = numpy.full(len(example.reference), -1, dtype=numpy.int64)
    gold_of = one_to_one(example)
    x_of_y[gold_of[gold_of >= 0]] = numpy.nonzero(gold_of >= 0)[0]
    for span in group:
        label = moves.label_id(span.label_)
        start, last = int(x_of_y[span.start]), int(x_of_y[span.end - 1])
        if label < 0 or start < 0 or last < start:
            continue
        out.setdefault(last, []).append((start, label))
    return out


class _WrongSpanCosts:
    """Costs of the golds, plus 1 for each move completing a known wrong entity (then the
    least valid cost of each row is subtracted again, as the native costs are)."""

    def __init__(self, moves: BiluoNER, golds: List[Any], wrong: List[Dict[int, List[Tuple]]]):
        self.golds = golds
        self.wrong = wrong
        self.moves = moves

    def __call__(self, batch: Any) -> numpy.ndarray:
        costs = batch.costs(self.golds)
        moves = self.moves
        for row, state in enumerate(batch.active.tolist()):
            spans = self.wrong[batch.state_doc(state)].get(batch.buffer_front(state))
            if not spans:
                continue
            opened = batch.open_entity(state)
            b0 = batch.buffer_front(state)
            for start, label in spans:
                name = moves.labels[label]
                if opened is None and start == b0:
                    costs[row, moves.class_of(f"U-{name}")] += 1
                elif opened is not None and opened == (start, label):
                    costs[row, moves.class_of(f"L-{name}")] += 1
            finite = costs[row][numpy.isfinite(costs[row])]
            if len(finite):
                costs[row] -= finite.min()
        return costs
