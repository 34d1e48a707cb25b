"""The dependency parser: arc-eager transitions with pseudo-projective lifting.

    [components.parser]
    factory = "parser"
    update_with_oracle_cut_size = 100
    min_action_freq = 30

It sets `token.head`, `token.dep_` and the sentence starts (each root's subtree is one
sentence). A token still headless when the buffer runs out, or at a sentence Break, can
take the stack item below it as its head (the arc-eager end phase, `cfg["end_phase"]`; a
parser saved before it existed loads without it, as it was trained). Non-projective
training trees are projectivized (lifted tokens get decorated labels "label||headlabel") and predictions are deprojectivized. Labels seen fewer than
`min_action_freq` times in the training data are learned as "dep" (a rare decorated label
as its base label when that one is frequent). Sentence starts already on a Doc without a
parse (`sent_start` 1 / -1, e.g. from a sentence segmenter) constrain the parse.

Scores (`parser_score`, spaCy's convention): `dep_uas`, `dep_las` and `dep_las_per_type`
over lower-cased labels, punctuation ("p", "punct") left out; `sents_p/r/f`.
"""
from collections import Counter
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy
from confection import Config
from thinc.api import Model

from ..errors import Errors
from ..parser_internals import (
    ArcEager,
    decompose,
    deprojectivize,
    is_decorated,
    parse_from_example,
    sent_constraints,
)
from ..registry import registry
from ..tokens import Doc
from ..training.scorer import score_deps, score_sents
from .trainable import validate_examples
from .transition_parser import TransitionParser

if TYPE_CHECKING:
    from ..language import Language

DEFAULT_PARSER_MODEL = """
[model]
@architectures = "spacy.TransitionBasedParser.v3"
state_type = "parser"
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
# Label of rare labels (min_action_freq) and of unknown ones in training.
RARE_LABEL = "dep"
PUNCT_LABELS = ("p", "punct")


@registry.scorers("nlp_core.parser_scorer.v1", aliases=["spacy.parser_scorer.v1"])
def make_parser_scorer() -> Callable[..., Dict[str, Any]]:
    """The parser's scorer: `scorer(examples) -> {"dep_uas", "dep_las",
    "dep_las_per_type", "sents_p", "sents_r", "sents_f"}`."""
    return parser_score


def _dep_getter(token: Any, attr: str) -> str:
    return getattr(token, f"{attr}_").lower()


def parser_score(examples: Iterable[Any], **kwargs: Any) -> Dict[str, Any]:
    examples = list(examples)
    results: Dict[str, Any] = dict(score_sents(examples))
    kwargs.setdefault("getter", _dep_getter)
    kwargs.setdefault("ignore_labels", PUNCT_LABELS)
    results.update(score_deps(examples, "dep", **kwargs))
    return results


@registry.factory(
    "parser",
    assigns=["token.dep", "token.head", "token.is_sent_start", "doc.sents"],
    default_config={
        "model": Config().from_str(DEFAULT_PARSER_MODEL)["model"],
        "moves": None,
        "update_with_oracle_cut_size": 100,
        "learn_tokens": False,
        "min_action_freq": 30,
        "beam_width": 1,
        "beam_density": 0.0,
        "scorer": {"@scorers": "spacy.parser_scorer.v1"},
    },
    default_score_weights={"dep_uas": 0.5, "dep_las": 0.5, "dep_las_per_type": None,
                           "sents_p": None, "sents_r": None, "sents_f": 0.0},
)
def make_parser(nlp: "Language", name: str, model: Model, moves: Optional[Any],
                update_with_oracle_cut_size: int, learn_tokens: bool, min_action_freq: int,
                beam_width: int, beam_density: float,
                scorer: Optional[Callable]) -> "DependencyParser":
    """`[components.NAME] factory = "parser"`.

    Args:
        model: TransitionBasedParser.v3 with state_type "parser".
        moves: move names (or an ArcEager table) to start from; None: from the data.
        update_with_oracle_cut_size: cut training docs into pieces of about this many
            moves (0: whole docs).
        learn_tokens: must be false (no token splitting or merging).
        min_action_freq: labels rarer than this in the training data become "dep".
        beam_width: 1 = greedy; > 1 = beam search with that many states per doc.
        beam_density: beam states whose probability is below this share of the best
            one's are dropped (0.0 keeps all).
        scorer: `scorer(examples) -> scores` (spacy.parser_scorer.v1).
    """
    return DependencyParser(nlp.vocab, model, name, moves=moves,
                            update_with_oracle_cut_size=update_with_oracle_cut_size,
                            learn_tokens=learn_tokens, min_action_freq=min_action_freq,
                            beam_width=beam_width, beam_density=beam_density, scorer=scorer)


class DependencyParser(TransitionParser):
    """Sets heads, dependency labels and sentence starts (see the module docstring)."""

    system_class = ArcEager
    kind = "parser"
    _label_what = "a dependency parse"

    def __init__(self, vocab, model: Model, name: str = "parser", *, moves: Any = None,
                 update_with_oracle_cut_size: int = 100, learn_tokens: bool = False,
                 min_action_freq: int = 30, beam_width: int = 1, beam_density: float = 0.0,
                 scorer: Optional[Callable] = parser_score):
        if learn_tokens:
            raise ValueError(Errors.E386.format(component=name))
        if min_action_freq < 0:
            raise ValueError(Errors.E387.format(component=name, value=min_action_freq))
        super().__init__(vocab, model, name, moves=moves,
                         update_with_oracle_cut_size=update_with_oracle_cut_size,
                         beam_width=beam_width, beam_density=beam_density, scorer=scorer,
                         learn_tokens=False, min_action_freq=int(min_action_freq),
                         end_phase=True)

    def _saved_cfg(self, saved: Dict[str, Any]) -> Dict[str, Any]:
        # saved before the arc-eager end phase existed: that parser was trained without it
        return {"end_phase": False, **saved}

    def _cfg_loaded(self) -> None:
        super()._cfg_loaded()
        self.moves.end_phase = bool(self.cfg.get("end_phase", False))

    def _labels_changed(self) -> None:
        labels = self.moves.labels
        strings = self.vocab.strings
        self._label_hashes = numpy.asarray([strings.add(label) for label in labels],
                                           dtype=numpy.uint64)
        self._decorated = numpy.asarray([is_decorated(label) for label in labels], dtype=bool)
        self._label_map: Dict[Optional[str], Optional[str]] = {None: None}

    @property
    def labels(self) -> Tuple[str, ...]:
        """The dependency labels it can assign (decorations and ROOT left out)."""
        found = set()
        for label in self.moves.labels[1:]:
            found.add(decompose(label)[0] if is_decorated(label) else label)
        return tuple(sorted(found))

    def _has_labels(self) -> bool:
        return len(self.moves.labels) > 1

    # --- running -----------------------------------------------------------------------

    def _constraints(self, docs: Sequence[Doc]) -> Optional[numpy.ndarray]:
        """Preset sentence starts of the docs that have no parse yet. A doc that is
        already parsed (e.g. by this parser, as an annotating component in an earlier
        epoch) is parsed afresh: its sentence starts came from that parse."""
        if not any(doc.has_column("sent_start") and not _parsed(doc) for doc in docs):
            return None
        return numpy.concatenate([
            numpy.zeros(len(doc), dtype=numpy.int8) if _parsed(doc) else sent_constraints(doc)
            for doc in docs])

    def _empty_result(self, doc: Doc) -> Tuple[numpy.ndarray, numpy.ndarray]:
        empty = numpy.zeros(len(doc), dtype=numpy.int32)
        return numpy.arange(len(doc), dtype=numpy.int32), empty

    def _result(self, batch: Any, d: int) -> Tuple[numpy.ndarray, numpy.ndarray]:
        return batch.parse(d)

    def set_annotations(self, docs: Sequence[Doc],
                        parses: List[Tuple[numpy.ndarray, numpy.ndarray]]) -> None:
        """Write heads, labels (deprojectivized) and sentence starts into the docs."""
        strings = self.vocab.strings
        for doc, (heads, label_ids) in zip(docs, parses):
            n = len(doc)
            if n == 0:
                continue
            positions = numpy.arange(n, dtype=numpy.int32)
            unset = (heads < 0) | (label_ids < 0)
            if unset.any():  # a state stopped early: its headless tokens become roots
                heads = numpy.where(unset, positions, heads)
                label_ids = numpy.where(unset, 0, label_ids)
            if self._decorated[label_ids].any():
                labels = [self.moves.labels[i] for i in label_ids.tolist()]
                heads, labels = deprojectivize(heads, labels)
                deps = numpy.asarray([strings.add(label) for label in labels],
                                     dtype=numpy.uint64)
            else:
                deps = self._label_hashes[label_ids]
            doc.set_column("head", heads - positions)
            doc.set_column("dep", deps)
            doc.set_column("sent_start", _sent_starts(heads))

    # --- training ----------------------------------------------------------------------

    def _map_label(self, label: Optional[str]) -> Optional[str]:
        """The label a gold label is learned as (see the module docstring)."""
        mapped = self._label_map.get(label, "")
        if mapped != "":
            return mapped
        moves = self.moves
        if moves.label_id(label) >= 0:
            mapped = label
        elif is_decorated(label) and moves.label_id(decompose(label)[0]) >= 0:
            mapped = decompose(label)[0]
        elif moves.label_id(RARE_LABEL) >= 0:
            mapped = RARE_LABEL
        else:
            mapped = None
        self._label_map[label] = mapped
        return mapped

    def _gold(self, example: Any, constraints: Optional[numpy.ndarray]) -> Any:
        heads, labels, starts = parse_from_example(example, projective=True)
        labels = [self._map_label(label) for label in labels]
        return self.moves.gold(heads, labels, sent_starts=starts)

    def _collect_labels(self, examples: Sequence[Any]) -> List[str]:
        """The labels of the projectivized gold trees, rare ones (< min_action_freq)
        replaced as described in the module docstring."""
        counts: Counter = Counter()
        for eg in examples:
            heads, labels, _ = parse_from_example(eg, projective=True)
            for i, (head, label) in enumerate(zip(heads.tolist(), labels)):
                if label is not None and head >= 0 and head != i:
                    counts[label] += 1
        min_freq = self.cfg["min_action_freq"]
        kept = {label for label, n in counts.items() if n >= min_freq}
        out = set(kept)
        for label in counts:
            if label in kept:
                continue
            base = decompose(label)[0] if is_decorated(label) else None
            out.add(base if base in kept else RARE_LABEL)
        return sorted(out)

    def score(self, examples: Iterable[Any], **kwargs: Any) -> Dict[str, Any]:
        """`dep_uas`, `dep_las`, `dep_las_per_type`, `sents_p/r/f` (see the module
        docstring)."""
        examples = validate_examples(examples, "DependencyParser.score")
        if self.scorer is None:
            return {}
        return self.scorer(examples, **kwargs)


def _parsed(doc: Doc) -> bool:
    return doc.has_column("dep") and bool(doc.column("dep").any())


def _sent_starts(heads: numpy.ndarray) -> numpy.ndarray:
    """1 where a sentence starts, -1 elsewhere: sentences are the roots' subtrees, which
    are contiguous in a projective forest (and stay so after deprojectivizing, which only
    moves tokens within their tree), so a sentence starts where the root changes."""
    roots = numpy.asarray(heads, dtype=numpy.int64)
    for _ in range(64):  # pointer jumping: depth halves every round
        nxt = roots[roots]
        if numpy.array_equal(nxt, roots):
            break
        roots = nxt
    out = numpy.full(len(roots), -1, dtype=numpy.int8)
    if len(roots):
        out[0] = 1
        out[1:][roots[1:] != roots[:-1]] = 1
    return out
