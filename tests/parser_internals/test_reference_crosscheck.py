"""The Cython arc-eager system agrees with the plain-Python reference, move by move."""
import math
import pickle
import random

import numpy
import pytest
from parser_internals import reference_arc_eager as ref
from parser_internals.trees import LABELS, ewt_train, mask_unknown, random_doc

from nlp_core.parser_internals import ArcEager, GreedyBatch


def _walk_and_compare(system, heads, labels, rng, policy, constraints=None, full_gold=True):
    """Step the native and the reference state together, comparing everything."""
    n = len(heads)
    moves = [ref.move_name(m) for m in ref.all_moves([lab for lab in system.labels[1:]])]
    assert moves == system.move_names
    ref_moves = ref.all_moves(system.labels[1:])
    gold = system.gold(heads, labels)
    batch = GreedyBatch(system, [n], sent_starts=constraints)
    st = ref.RefState(n, constraints, system.end_phase)
    starts = ref.gold_sent_starts(heads) if full_gold else None
    steps = 0
    while not st.is_final:
        assert not batch.is_final()
        valid = batch.valid_mask()[0]
        ref_valid = numpy.array([ref.is_valid(st, m) for m in ref_moves])
        assert (valid == ref_valid).all(), (steps, st, valid, ref_valid)
        costs = batch.costs([gold], normalize=False)[0]
        for c, m in enumerate(ref_moves):
            if ref_valid[c]:
                assert costs[c] == ref.cost(st, m, heads, labels), (steps, m, st)
            else:
                assert math.isinf(costs[c])
        for width in (8, 13):
            assert batch.get_context(width)[0].tolist() == ref.context(st, width)
        if full_gold:
            oracle = ref.static_oracle(st, heads, labels, starts)
            assert system.move_names[batch.oracle_classes([gold])[0]] == ref.move_name(oracle)
        if policy == "oracle" and full_gold:
            clas = ref_moves.index(oracle)
        elif policy == "zero":
            clas = rng.choice(numpy.nonzero(costs == 0)[0].tolist())
        else:
            clas = rng.choice(numpy.nonzero(valid)[0].tolist())
        batch.transition([clas])
        st = ref.apply(st, ref_moves[clas])
        steps += 1
    assert batch.is_final()
    got_heads, got_labels = batch.parse(0)
    assert got_heads.tolist() == st.heads
    assert [system.labels[x] for x in got_labels.tolist()] == st.labels
    assert [system.move_names[c] for c in batch.history(0)] == \
        [ref.move_name(m) for m in _replay(batch.history(0), ref_moves)]
    return st


def _replay(history, ref_moves):
    return [ref_moves[c] for c in history]


@pytest.mark.parametrize("policy", ["random", "zero", "oracle"])
def test_random_trees(policy):
    rng = random.Random(7)
    system = ArcEager(LABELS)
    assert system.end_phase
    for _ in range(150):
        sizes = [rng.randint(1, 7) for _ in range(rng.randint(1, 3))]
        heads, labels = random_doc(rng, sizes)
        final = _walk_and_compare(system, heads, labels, rng, policy)
        if policy in ("zero", "oracle"):
            assert final.heads == heads
            assert [lab for i, lab in enumerate(final.labels) if heads[i] != i] == \
                [lab for i, lab in enumerate(labels) if heads[i] != i]


def test_random_trees_without_the_end_phase():
    """end_phase off (parsers saved before it existed): the monotonic system, Right-Arc
    never valid once the buffer is empty; a headless stack item can only become a root."""
    rng = random.Random(8)
    system = ArcEager(LABELS, end_phase=False)
    for _ in range(150):
        sizes = [rng.randint(1, 7) for _ in range(rng.randint(1, 3))]
        heads, labels = random_doc(rng, sizes)
        _walk_and_compare(system, heads, labels, rng, "random")
    assert pickle.loads(pickle.dumps(system)).end_phase is False
    assert pickle.loads(pickle.dumps(ArcEager(LABELS))).end_phase is True


def test_random_trees_partial_gold():
    rng = random.Random(11)
    system = ArcEager(LABELS)
    for _ in range(150):
        heads, labels = random_doc(rng, [rng.randint(1, 8), rng.randint(1, 5)])
        heads, labels = mask_unknown(rng, heads, labels)
        _walk_and_compare(system, heads, labels, rng, rng.choice(["random", "zero"]),
                          full_gold=False)


def test_random_trees_with_sentence_constraints():
    rng = random.Random(5)
    system = ArcEager(LABELS)
    for _ in range(100):
        sizes = [rng.randint(1, 6) for _ in range(3)]
        heads, labels = random_doc(rng, sizes)
        cons = numpy.zeros(len(heads), dtype=numpy.int8)
        start = 0
        for size in sizes:
            cons[start] = 1 if rng.random() < 0.7 else 0
            cons[start + 1:start + size] = [rng.choice((0, -1)) for _ in range(size - 1)]
            start += size
        final = _walk_and_compare(system, heads, labels, rng, rng.choice(["random", "zero"]),
                                  constraints=cons)
        # constrained boundaries hold in the output: no arc crosses a forced start
        for i, h in enumerate(final.heads):
            lo, hi = min(i, h), max(i, h)
            assert not any(cons[k] == 1 for k in range(lo + 1, hi + 1))


def test_ewt_trees():
    rng = random.Random(3)
    sents = ewt_train()
    system = ArcEager()
    for _heads, labels in sents[:400]:
        for lab in labels:
            if lab and lab != "ROOT":
                system.add_label(lab)
    from nlp_core.parser_internals import projectivize

    short = [s for s in sents[:400] if len(s[0]) <= 25]
    for heads, labels in rng.sample(short, 40):
        heads, labels = projectivize(heads, labels)
        labels = [lab if lab in system.labels else None for lab in labels]
        full = all(lab is not None for lab in labels)
        _walk_and_compare(system, list(heads), labels, rng,
                          rng.choice(["random", "zero", "oracle"] if full else ["random"]),
                          full_gold=full)
