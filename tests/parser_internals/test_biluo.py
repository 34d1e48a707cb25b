"""BILUO entity system: validity, exact costs (checked by search), missing and partial
annotation, sentence constraints, contexts."""
import math
import random
from functools import cache

import numpy
import pytest

from nlp_core.parser_internals import BiluoNER, GreedyBatch, iob_to_biluo

LABELS = ("PER", "ORG")
IOB = {"": 0, "I": 1, "O": 2, "B": 3}


def _gold_tags(rng, n):
    """Random IOB codes and labels: entities, O, missing stretches, an unknown label."""
    iob, labels = [], []
    i = 0
    while i < n:
        r = rng.random()
        if r < 0.2:
            iob.append(0)
            labels.append(None)
            i += 1
        elif r < 0.5:
            iob.append(2)
            labels.append(None)
            i += 1
        else:
            size = min(rng.randint(1, 3), n - i)
            label = rng.choice(LABELS + ("LOC",))  # LOC: not in the move table
            iob += [3] + [1] * (size - 1)
            labels += [label] * size
            i += size
    return iob, labels


def _brute_costs(system, gold_iob, gold_labels, cons, t, open_label):
    """Costs of every class at (t, open_label) by exhaustive search over tag sequences."""
    n = len(gold_iob)
    actions, labs = iob_to_biluo(gold_iob, gold_labels)
    names = ("B", "I", "L", "U", "O")
    gold = [None if a < 0 else (names[a], labs[i] if names[a] != "O" else None)
            for i, a in enumerate(actions.tolist())]

    def loss(i, action, label):
        if gold[i] is None:
            return 0
        return 0 if gold[i] == (action, label) else 1

    def moves(i, open_):
        can_continue = i + 1 < n and cons[i + 1] != 1
        if open_ is None:
            out = [("O", None)] + [("U", lab) for lab in LABELS]
            if can_continue:
                out += [("B", lab) for lab in LABELS]
        else:
            out = [("L", open_)] + ([("I", open_)] if can_continue else [])
        return out

    def step(open_, action, label):
        return label if action in ("B", "I") else None

    @cache
    def best(i, open_):
        if i == n:
            return 0 if open_ is None else math.inf
        return min(loss(i, a, lab) + best(i + 1, step(open_, a, lab))
                   for a, lab in moves(i, open_))

    out = numpy.full(system.n_moves, numpy.inf, dtype=numpy.float32)
    for a, lab in moves(t, open_label):
        name = a if lab is None else f"{a}-{lab}"
        out[system.class_of(name)] = loss(t, a, lab) + best(t + 1, step(open_label, a, lab)) \
            - best(t, open_label)
    return out


def test_costs_match_exhaustive_search():
    rng = random.Random(0)
    system = BiluoNER(LABELS)
    for _ in range(150):
        n = rng.randint(1, 9)
        iob, labels = _gold_tags(rng, n)
        cons = [0] + [1 if rng.random() < 0.2 else 0 for _ in range(n - 1)]
        gold = system.gold(iob, labels, constraints=cons)
        batch = GreedyBatch(system, [n], sent_starts=cons)
        while not batch.is_final():
            t = batch.buffer_front(0)
            opened = batch.open_entity(0)
            open_label = system.labels[opened[1]] if opened else None
            costs = batch.costs([gold], normalize=False)[0]
            expected = _brute_costs(system, iob, labels, cons, t, open_label)
            assert numpy.array_equal(costs, expected), (iob, labels, cons, t, costs, expected)
            assert costs.min() == 0
            valid = numpy.nonzero(batch.valid_mask()[0])[0]
            assert set(valid.tolist()) == set(numpy.nonzero(numpy.isfinite(expected))[0].tolist())
            batch.transition([rng.choice(valid.tolist())])


def test_zero_cost_following_rebuilds_annotated_entities():
    rng = random.Random(1)
    system = BiluoNER(LABELS)
    for _ in range(100):
        n = rng.randint(1, 12)
        iob, labels = _gold_tags(rng, n)
        labels = [lab if lab != "LOC" else "PER" for lab in labels]
        gold = system.gold(iob, labels)
        batch = GreedyBatch(system, [n])
        while not batch.is_final():
            costs = batch.costs([gold])[0]
            batch.transition([rng.choice(numpy.nonzero(costs == 0)[0].tolist())])
        got = {(s, e, system.labels[lab]) for s, e, lab in batch.entities(0)}
        # every entity whose tokens are all annotated comes out exactly
        i = 0
        while i < n:
            if iob[i] == 3:
                end = i + 1
                while end < n and iob[end] == 1:
                    end += 1
                assert (i, end, labels[i]) in got
                i = end
            else:
                i += 1
        # and nothing is predicted over an annotated O
        for s, e, _ in got:
            assert all(iob[k] != 2 for k in range(s, e))


def test_missing_annotation_costs_nothing():
    system = BiluoNER(LABELS)
    gold = system.gold([0] * 6, None)
    batch = GreedyBatch(system, [6])
    rng = random.Random(2)
    while not batch.is_final():
        costs = batch.costs([gold], normalize=False)[0]
        valid = batch.valid_mask()[0]
        assert (costs[valid] == 0).all()
        batch.transition([rng.choice(numpy.nonzero(valid)[0].tolist())])


def test_partial_annotation_constrains_the_missing_neighbour():
    """A gold I-PER after a missing token needs a PER entity open there."""
    system = BiluoNER(LABELS)
    gold = system.gold([0, 1, 2], [None, "PER", None])
    batch = GreedyBatch(system, [3])
    costs = dict(zip(system.move_names, batch.costs([gold])[0].tolist()))
    assert costs["B-PER"] == 0
    assert costs["O"] == 1 and costs["U-PER"] == 1 and costs["B-ORG"] == 1


def test_entities_never_cross_sentence_constraints():
    system = BiluoNER(LABELS)
    cons = numpy.array([1, 0, 1, 0, 0], dtype=numpy.int8)
    batch = GreedyBatch(system, [5], sent_starts=cons)
    names = system.move_names
    valid = dict(zip(names, batch.valid_mask()[0].tolist()))
    assert valid["B-PER"] and valid["U-PER"] and valid["O"]
    batch.transition([system.class_of("B-PER")])
    valid = dict(zip(names, batch.valid_mask()[0].tolist()))
    assert valid["L-PER"] and not valid["I-PER"] and not valid["L-ORG"] and not valid["O"]
    # a gold entity across the boundary: zero-cost moves still exist
    gold = system.gold([3, 1, 1, 2, 2], ["PER"] * 3 + [None] * 2, constraints=cons)
    costs = batch.costs([gold])[0]
    assert costs.min() == 0


def test_contexts():
    system = BiluoNER(LABELS)
    batch = GreedyBatch(system, [2, 6])
    assert batch.get_context(3).tolist() == [[0, -1, -1], [2, -1, -1]]
    b = system.class_of("B-PER")
    i = system.class_of("I-PER")
    batch.transition([system.class_of("O"), b])
    batch.transition([system.class_of("U-ORG"), i])
    # doc 0 is final; doc 1 has PER open over tokens 0-1 (rows 2-3), B0 = token 2 (row 4)
    assert batch.n_active == 1
    assert batch.get_context(3).tolist() == [[4, 2, 3]]
    assert batch.get_context(6).tolist() == [[4, 2, 3, -1, -1, -1]]
    with pytest.raises(ValueError):
        batch.get_context(8)
    assert batch.entities(0) == [(1, 2, system.label_id("ORG"))]


def test_iob_to_biluo():
    names = ("B", "I", "L", "U", "O")
    iob = [IOB[x] for x in ["B", "I", "I", "O", "I", "B", "", "I", "I", "B"]]
    labels = ["PER", "PER", "PER", None, "ORG", "ORG", None, "PER", "ORG", "ORG"]
    actions, _ = iob_to_biluo(iob, labels)
    got = [names[a] if a >= 0 else "-" for a in actions.tolist()]
    # I after O begins; B after I; I after missing continues; label change begins
    assert got == ["B", "I", "L", "O", "U", "U", "-", "L", "U", "U"]
