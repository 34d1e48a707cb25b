"""Scores of predicted against gold annotation, over Examples.

Every function takes Examples (predicted Doc + reference Doc) and returns a dict of named
scores, with the key names spaCy uses so that `score_weights` in configs written for it
work here (`tag_acc`, `pos_acc`, `dep_uas`, `dep_las`, `dep_las_per_type`, `ents_p`,
`ents_r`, `ents_f`, `ents_per_type`, `sents_f`, `token_acc`, ...). A score is None when
the examples hold no gold annotation for it.

Predicted and gold tokens are matched by character offsets (CoNLL 2018 style, see
`Alignment`): a predicted token takes part in a token-level score only when it covers
exactly the characters of one gold token (one-to-one). With gold tokens every token
matches; from raw text a token the tokenizer got wrong counts as an error, so token-level
"accuracies" are F-scores: precision over the matched predicted tokens, recall over all
annotated gold tokens. Whitespace tokens are left out on both sides.
"""
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

import numpy

from .. import attrs as A
from .example import Example

MISSING_VALUES = frozenset({0, "", None})


class PRFScore:
    """True positives, false positives and false negatives, and P/R/F from them."""

    def __init__(self, tp: int = 0, fp: int = 0, fn: int = 0):
        self.tp, self.fp, self.fn = tp, fp, fn

    def __len__(self) -> int:
        return self.tp + self.fp + self.fn

    def __iadd__(self, other: "PRFScore") -> "PRFScore":
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        return self

    def score_set(self, predicted: Set[Any], gold: Set[Any]) -> None:
        self.tp += len(predicted & gold)
        self.fp += len(predicted - gold)
        self.fn += len(gold - predicted)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def fscore(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> Dict[str, float]:
        return {"p": self.precision, "r": self.recall, "f": self.fscore}

    def __repr__(self) -> str:
        return f"PRFScore(tp={self.tp}, fp={self.fp}, fn={self.fn})"


# --- alignment helpers -----------------------------------------------------------------------


def _is_space(doc) -> numpy.ndarray:
    """Boolean mask (n_tokens,) of whitespace tokens."""
    return numpy.fromiter((t.isspace() for t in doc.token_texts()), dtype=bool,
                          count=len(doc))


def one_to_one(example: Example) -> numpy.ndarray:
    """For each predicted token, the index of the gold token with exactly its characters,
    or -1 (shape (n_predicted,), int64)."""
    align = example.alignment
    x2y, y2x = align.x2y, align.y2x
    gold_of = numpy.full(len(x2y), -1, dtype=numpy.int64)
    single = numpy.nonzero(x2y.lengths == 1)[0]
    if len(single):
        gold = x2y.data[x2y.starts[single]]
        keep = y2x.lengths[gold] == 1
        gold_of[single[keep]] = gold[keep]
    return gold_of


def _aligned_span(example: Example, start: int, end: int) -> Optional[Tuple[int, int]]:
    """Gold token bounds [start, end) covered by predicted tokens [start, end), or None
    when they cover no gold token."""
    x2y = example.alignment.x2y
    if end <= start:
        return None
    starts = x2y.starts
    first, last = int(starts[start]), int(starts[end - 1] + x2y.lengths[end - 1])
    gold = x2y.data[first:last]
    if len(gold) == 0:
        return None
    return int(gold.min()), int(gold.max()) + 1


# --- token-level scores ----------------------------------------------------------------------


def score_tokenization(examples: Iterable[Example]) -> Dict[str, Optional[float]]:
    """How well predicted tokens match gold tokens.

    Returns:
        `token_acc`: share of predicted (non-space) tokens aligned to exactly one gold
        token; `token_p`, `token_r`, `token_f`: P/R/F of predicted tokens whose
        characters are exactly those of a gold token. None without examples.
    """
    acc = PRFScore()
    prf = PRFScore()
    for example in examples:
        pred_space = _is_space(example.predicted)
        gold_space = _is_space(example.reference)
        lengths = example.alignment.x2y.lengths
        counted = ~pred_space
        acc.tp += int((lengths[counted] == 1).sum())
        acc.fp += int((lengths[counted] != 1).sum())
        matched = int(((one_to_one(example) >= 0) & counted).sum())
        prf.tp += matched
        prf.fp += int(counted.sum()) - matched
        prf.fn += int((~gold_space).sum()) - matched
    if len(prf) == 0:
        return {"token_acc": None, "token_p": None, "token_r": None, "token_f": None}
    return {"token_acc": acc.precision, "token_p": prf.precision, "token_r": prf.recall,
            "token_f": prf.fscore}


def _default_getter(token, attr: str) -> Any:
    return getattr(token, attr)


def score_token_attr(examples: Iterable[Example], attr: str, *,
                     getter: Optional[Callable[[Any, str], Any]] = None,
                     missing_values: frozenset = MISSING_VALUES) -> Dict[str, Optional[float]]:
    """Accuracy of a token attribute (e.g. "tag_", "pos_", "lemma_", "morph").

    Gold tokens whose value is in `missing_values` are not scored. A predicted token counts
    when it matches one gold token one-to-one (see the module docstring); with gold tokens
    the result is the plain accuracy.

    Args:
        examples: the Examples, predicted docs annotated.
        attr: the token attribute; also the key prefix.
        getter: `getter(token, attr) -> value` (default: `getattr(token, attr)`).
        missing_values: gold values meaning "not annotated".

    Returns:
        `{f"{attr}_acc": float in [0, 1]}`, None when no gold token has a value.
    """
    column = _COLUMN_ATTRS.get(attr) if getter is None and missing_values == MISSING_VALUES \
        else None
    getter = getter or _default_getter
    score = PRFScore()
    for example in examples:
        if column is not None:
            score += _score_column(example, column)
            continue
        gold_doc, pred_doc = example.reference, example.predicted
        gold_space = _is_space(gold_doc)
        gold: Dict[int, Any] = {}
        for token in gold_doc:
            if gold_space[token.i]:
                continue
            value = getter(token, attr)
            if value not in missing_values:
                gold[token.i] = value
        gold_of = one_to_one(example)
        pred_space = _is_space(pred_doc)
        predicted: Set[Tuple[int, Any]] = set()
        for i in numpy.nonzero((gold_of >= 0) & ~pred_space)[0].tolist():
            gold_i = int(gold_of[i])
            if gold_i in gold:
                predicted.add((gold_i, getter(pred_doc[i], attr)))
        score.score_set(predicted, set(gold.items()))
    if len(score) == 0:
        return {f"{attr}_acc": None}
    return {f"{attr}_acc": score.fscore}


# Token attributes held in a Doc column: with the default getter and missing values they
# are compared as integer IDs (0 = missing; the string forms map one-to-one to the IDs).
_COLUMN_ATTRS = {name: A.intify_attr(name.rstrip("_").upper())
                 for base in ("tag", "pos", "dep", "lemma", "morph", "ent_type")
                 for name in (base, base + "_")}


def _score_column(example: Example, attr_id: int) -> PRFScore:
    """`score_token_attr` for one example, vectorised over a Doc column."""
    gold = example.reference.to_array(attr_id)
    pred = example.predicted.to_array(attr_id)
    gold_ok = (gold != 0) & ~_is_space(example.reference)
    gold_of = one_to_one(example)
    scored = (gold_of >= 0) & ~_is_space(example.predicted)
    scored[scored] = gold_ok[gold_of[scored]]
    tp = int((pred[scored] == gold[gold_of[scored]]).sum())
    return PRFScore(tp=tp, fp=int(scored.sum()) - tp, fn=int(gold_ok.sum()) - tp)


def score_deps(examples: Iterable[Example], attr: str = "dep", *,
               getter: Optional[Callable[[Any, str], Any]] = None,
               head_attr: str = "head",
               head_getter: Optional[Callable[[Any, str], Any]] = None,
               ignore_labels: Iterable[str] = (),
               missing_values: frozenset = MISSING_VALUES) -> Dict[str, Any]:
    """Unlabelled and labelled attachment scores.

    A predicted arc (token, head, label) is right when the token and its head each match a
    gold token one-to-one and the gold token has that head (and label). Gold tokens with
    a missing label, or a label in `ignore_labels` (spaCy's parser passes ("p", "punct")),
    are not scored.

    Args:
        examples: the Examples, predicted docs parsed.
        attr: the label attribute ("dep", the label string via `dep_`); key prefix.
        getter: `getter(token, attr) -> label` (default: the `dep_` string).
        head_attr: the head attribute; `head_getter(token, head_attr) -> Token`.
        ignore_labels: labels left out of every score.
        missing_values: labels meaning "not annotated".

    Returns:
        `{attr}_uas`, `{attr}_las` (F-scores in [0, 1]) and `{attr}_las_per_type`
        (label -> {"p", "r", "f"}); None values when nothing is annotated.
    """
    getter = getter or (lambda token, name: getattr(token, f"{name}_"))
    head_getter = head_getter or _default_getter
    ignore = set(ignore_labels)
    unlabelled = PRFScore()
    labelled = PRFScore()
    per_label: Dict[str, PRFScore] = {}
    for example in examples:
        gold_doc, pred_doc = example.reference, example.predicted
        gold_arcs: Set[Tuple[int, int, Any]] = set()
        scored: Set[int] = set()
        for token in gold_doc:
            label = getter(token, attr)
            if label in missing_values or label in ignore:
                continue
            gold_arcs.add((token.i, head_getter(token, head_attr).i, label))
            scored.add(token.i)
        gold_of = one_to_one(example)
        pred_arcs: Set[Tuple[int, int, Any]] = set()
        for token in pred_doc:
            gold_i = int(gold_of[token.i])
            if gold_i < 0 or gold_i not in scored:
                continue
            label = getter(token, attr)
            if label in ignore:
                continue
            head_i = int(gold_of[head_getter(token, head_attr).i])
            pred_arcs.add((gold_i, head_i, label))
        unlabelled.score_set({a[:2] for a in pred_arcs}, {a[:2] for a in gold_arcs})
        labelled.score_set(pred_arcs, gold_arcs)
        for label in {a[2] for a in pred_arcs} | {a[2] for a in gold_arcs}:
            per_label.setdefault(label, PRFScore()).score_set(
                {a for a in pred_arcs if a[2] == label}, {a for a in gold_arcs if a[2] == label})
    if len(labelled) == 0:
        return {f"{attr}_uas": None, f"{attr}_las": None, f"{attr}_las_per_type": None}
    return {f"{attr}_uas": unlabelled.fscore, f"{attr}_las": labelled.fscore,
            f"{attr}_las_per_type": {k: v.to_dict() for k, v in sorted(per_label.items())}}


# --- span-level scores -----------------------------------------------------------------------


def _default_span_getter(doc, attr: str) -> Iterable:
    return getattr(doc, attr)


def _unannotated_ents(doc) -> numpy.ndarray:
    """Gold tokens whose entity annotation is missing (IOB value 0)."""
    return doc.column("ent_iob") == 0


def score_spans(examples: Iterable[Example], attr: str, *,
                getter: Optional[Callable[[Any, str], Iterable]] = None,
                labeled: bool = True,
                has_annotation: Optional[Callable[[Any], bool]] = None) -> Dict[str, Any]:
    """Precision, recall and F of labelled spans (entities, span groups, sentences).

    Predicted spans are mapped to the gold tokens they cover; a span is right when that
    range and its label equal a gold span's. For `attr="ents"`, predicted entities that
    touch gold tokens without entity annotation are left out (partial annotation), and a
    reference without any entity annotation is skipped.

    Args:
        examples: the Examples.
        attr: the Doc attribute holding the spans ("ents"), and the key prefix.
        getter: `getter(doc, attr) -> spans` (default: `getattr(doc, attr)`); for a span
            group, e.g. `lambda doc, key: doc.spans.get(key, [])`.
        labeled: compare labels too (False: boundaries only, no per-type scores).
        has_annotation: `has_annotation(reference) -> bool`; references without
            annotation are skipped.

    Returns:
        `{attr}_p`, `{attr}_r`, `{attr}_f` in [0, 1] and, when labelled,
        `{attr}_per_type` (label -> {"p", "r", "f"}); None values when nothing is scored.
    """
    getter = getter or _default_span_getter
    if has_annotation is None and attr == "ents":
        has_annotation = lambda doc: doc.has_annotation("ENT_IOB")  # noqa: E731
    total = PRFScore()
    per_type: Dict[str, PRFScore] = {}
    for example in examples:
        if has_annotation is not None and not has_annotation(example.reference):
            continue
        unannotated = _unannotated_ents(example.reference) if attr == "ents" else None
        gold_spans = {_span_key(span, labeled) for span in getter(example.reference, attr)}
        pred_spans = set()
        for n, span in enumerate(getter(example.predicted, attr)):
            bounds = _aligned_span(example, span.start, span.end)
            if bounds is None:
                # covers no gold token: wrong whatever its label; keep it distinct
                pred_spans.add(_span_key(span, labeled, (-1 - n, -1 - n)))
                continue
            if unannotated is not None and unannotated[bounds[0]:bounds[1]].any():
                continue
            pred_spans.add(_span_key(span, labeled, bounds))
        total.score_set(pred_spans, gold_spans)
        if labeled:
            for label in {s[0] for s in pred_spans} | {s[0] for s in gold_spans}:
                per_type.setdefault(label, PRFScore()).score_set(
                    {s for s in pred_spans if s[0] == label},
                    {s for s in gold_spans if s[0] == label})
    keys = [f"{attr}_p", f"{attr}_r", f"{attr}_f"]
    if len(total) == 0:
        result: Dict[str, Any] = dict.fromkeys(keys)
        if labeled:
            result[f"{attr}_per_type"] = None
        return result
    result = dict(zip(keys, (total.precision, total.recall, total.fscore)))
    if labeled:
        result[f"{attr}_per_type"] = {k: v.to_dict() for k, v in sorted(per_type.items())}
    return result


def _span_key(span, labeled: bool, bounds: Optional[Tuple[int, int]] = None) -> Tuple:
    start, end = bounds if bounds is not None else (span.start, span.end)
    return (span.label_, start, end) if labeled else (start, end)


def _sentences(doc, attr: str) -> List:
    """The doc's sentences; a doc without sentence boundaries is one sentence."""
    if len(doc) == 0:
        return []
    if not doc.has_annotation("SENT_START"):
        return [doc[0:len(doc)]]
    return list(doc.sents)


def score_sents(examples: Iterable[Example]) -> Dict[str, Optional[float]]:
    """Precision, recall and F of sentences: a predicted sentence is right when it covers
    exactly the gold tokens of one gold sentence.

    Returns:
        `sents_p`, `sents_r`, `sents_f` in [0, 1]; None when no reference has sentence
        boundaries.
    """
    return score_spans(examples, "sents", getter=_sentences, labeled=False,
                       has_annotation=lambda doc: doc.has_annotation("SENT_START"))


__all__ = ["MISSING_VALUES", "PRFScore", "one_to_one", "score_deps", "score_sents",
           "score_spans", "score_token_attr", "score_tokenization"]
