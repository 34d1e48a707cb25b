"""Gold annotation of an Example, aligned to its predicted tokens, as system input.

Only predicted tokens aligned one-to-one with a gold token get gold values; the rest are
unknown, which the oracles treat as "anything goes" (zero cost).
"""
from typing import List, Optional, Tuple

import numpy
from native.parser.gold import Gold
from native.parser.system import ArcEager, BiluoNER

from .nonproj import projectivize

__all__ = ["parse_from_example", "biluo_from_example", "make_parser_gold", "make_ner_gold",
           "sent_constraints"]


def _one_to_one(example) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """x2y (n_pred,) and y2x (n_gold,) single-token maps, -1 where not one-to-one."""
    align = example.alignment
    x2y = numpy.full(len(example.predicted), -1, dtype=numpy.int64)
    y2x = numpy.full(len(example.reference), -1, dtype=numpy.int64)
    xs, ys = align.x2y, align.y2x
    x_single = xs.lengths == 1
    y_single = ys.lengths == 1
    x_first = xs.data[xs.starts[x_single]] if x_single.any() else numpy.zeros(0, numpy.int64)
    x_idx = numpy.nonzero(x_single)[0]
    ok = y_single[x_first] if len(x_first) else numpy.zeros(0, bool)
    x2y[x_idx[ok]] = x_first[ok]
    y2x[x2y[x2y >= 0]] = numpy.nonzero(x2y >= 0)[0]
    return x2y, y2x


def _reference_tree(doc) -> Tuple[numpy.ndarray, List[Optional[str]]]:
    """Absolute heads (-1 unknown) and labels (None unknown) of a gold Doc."""
    n = len(doc)
    if not (doc.has_column("dep") and doc.has_column("head")):
        return numpy.full(n, -1, dtype=numpy.int32), [None] * n
    dep = doc.column("dep")
    heads = doc.column("head").astype(numpy.int64) + numpy.arange(n)
    strings = doc.vocab.strings
    labels = [strings[int(d)] if d else None for d in dep.tolist()]
    heads = numpy.where(dep != 0, heads, -1).astype(numpy.int32)
    return heads, labels


def parse_from_example(example, *, projective: bool = True
                       ) -> Tuple[numpy.ndarray, List[Optional[str]], numpy.ndarray]:
    """Gold heads, labels and sentence starts over the predicted tokens.

    Args:
        example: an Example whose reference has heads and deps.
        projective: projectivize the gold tree first (labels become "label||headlabel" on
            lifted tokens), as the arc-eager parser needs.

    Returns:
        heads int32 (n_pred,) absolute (i root, -1 unknown), labels (None unknown),
        sent_starts int8 (n_pred,) 1 where a gold sentence starts, else 0.
    """
    ref = example.reference
    heads, labels = _reference_tree(ref)
    if projective:
        known = heads >= 0
        if known.all() and len(heads):
            heads, labels = projectivize(heads, labels)
    x2y, y2x = _one_to_one(example)
    n = len(example.predicted)
    out_heads = numpy.full(n, -1, dtype=numpy.int32)
    out_labels: List[Optional[str]] = [None] * n
    starts = numpy.zeros(n, dtype=numpy.int8)
    xs = numpy.nonzero(x2y >= 0)[0]
    ys = x2y[xs]
    if ref.has_column("sent_start"):
        starts[xs[ref.column("sent_start")[ys] == 1]] = 1
    hs = numpy.asarray(heads, dtype=numpy.int64)[ys]
    # the head in predicted tokens: itself for a root, else the aligned head (-1: none)
    mapped = numpy.where(hs == ys, xs, numpy.where(hs >= 0, y2x[numpy.maximum(hs, 0)], -1))
    keep = mapped >= 0
    out_heads[xs[keep]] = mapped[keep]
    for i, j in zip(xs[keep].tolist(), ys[keep].tolist()):
        out_labels[i] = labels[j]
    return out_heads, out_labels, starts


def biluo_from_example(example) -> Tuple[numpy.ndarray, List[Optional[str]]]:
    """Gold IOB codes (0 missing, 1 I, 2 O, 3 B) and entity labels over the predicted
    tokens. An entity whose edges do not fall on predicted token edges makes its predicted
    tokens missing."""
    ref, pred = example.reference, example.predicted
    n = len(pred)
    iob = numpy.zeros(n, dtype=numpy.uint8)
    labels: List[Optional[str]] = [None] * n
    if not ref.has_column("ent_iob") or n == 0:
        return iob, labels
    ref_iob = ref.column("ent_iob")
    align = example.alignment
    xs, ys = align.x2y, align.y2x
    x_starts = xs.starts
    # outside tokens: O when every gold token they cover is O
    for i in range(n):
        covered = xs.data[x_starts[i]:x_starts[i] + xs.lengths[i]]
        if len(covered) and (ref_iob[covered] == 2).all():
            iob[i] = 2
    y_starts = ys.starts
    for ent in ref.ents:
        xs_of = numpy.concatenate([ys.data[y_starts[j]:y_starts[j] + ys.lengths[j]]
                                   for j in range(ent.start, ent.end)] or [numpy.zeros(0)])
        if not len(xs_of):
            continue
        first, last = int(xs_of.min()), int(xs_of.max())
        inside = numpy.concatenate([xs.data[x_starts[i]:x_starts[i] + xs.lengths[i]]
                                    for i in range(first, last + 1)])
        if inside.min() < ent.start or inside.max() >= ent.end:
            iob[first:last + 1] = 0
            continue
        iob[first] = 3
        iob[first + 1:last + 1] = 1
        for i in range(first, last + 1):
            labels[i] = ent.label_
    return iob, labels


def sent_constraints(doc) -> numpy.ndarray:
    """A Doc's preset sentence boundaries as state constraints, int8 (n,): 1 must start,
    -1 must not, 0 free."""
    return doc.column("sent_start").astype(numpy.int8)


def make_parser_gold(system: ArcEager, example, *, projective: bool = True) -> Gold:
    """Gold for the arc-eager system from an Example (labels the table lacks are unknown;
    add them first, decorated ones included, with `system.add_label`)."""
    heads, labels, starts = parse_from_example(example, projective=projective)
    return system.gold(heads, labels, sent_starts=starts)


def make_ner_gold(system: BiluoNER, example, constraints=None) -> Gold:
    """Gold for the BILUO system from an Example; constraints as given to the batch."""
    iob, labels = biluo_from_example(example)
    return system.gold(iob, labels, constraints=constraints)
