"""Dynamic-oracle costs are exact: checked against exhaustive search, and zero-cost moves
always lead to the best reachable tree. Before the end phase (the buffer not yet empty) the
costs are the monotonic system's, so they are checked against a search without end-phase
moves; in the end phase against the full search."""
import functools
import random

import numpy
from parser_internals import reference_arc_eager as ref
from parser_internals.trees import LABELS, ewt_train, mask_unknown, random_doc

from nlp_core.parser_internals import ArcEager, GreedyBatch, projectivize


def _exhaustive_check(heads, labels):
    """Every state reachable from the start (end-phase moves included):
    cost(move) == best(after) - best(before), the search being the monotonic one before the
    end phase and the full one in it. Returns (states, end-phase states) checked."""
    n = len(heads)
    moves = ref.all_moves(LABELS)
    memos = {False: {}, True: {}}
    seen = set()
    n_end = 0
    frontier = [ref.RefState(n)]
    while frontier:
        st = frontier.pop()
        if st.key() in seen or st.is_final:
            continue
        seen.add(st.key())
        end_phase = st.is_closing
        n_end += ref.in_end_phase(st)
        best = functools.partial(ref.best_loss, moves=moves, gold_heads=heads,
                                 gold_labels=labels, memo=memos[end_phase],
                                 end_phase=end_phase)
        before = best(st)
        costs = []
        for m in [m for m in moves if ref.is_valid(st, m)]:
            nxt = ref.apply(st, m)
            after = best(nxt)
            assert ref.cost(st, m, heads, labels) == after - before, (st, m)
            costs.append(after - before)
            frontier.append(nxt)
        assert min(costs) == 0
    return len(seen), n_end


def test_costs_match_exhaustive_search():
    rng = random.Random(1)
    n_states = 0
    n_end = 0
    for _ in range(20):
        heads, labels = random_doc(rng, [rng.randint(2, 3), rng.randint(1, 2)])
        states, end = _exhaustive_check(heads, labels)
        n_states += states
        n_end += end
    assert n_states > 500 and n_end > 50


def test_costs_match_exhaustive_search_partial_gold():
    rng = random.Random(2)
    for _ in range(12):
        heads, labels = random_doc(rng, [rng.randint(2, 3), rng.randint(1, 2)])
        heads, labels = mask_unknown(rng, heads, labels, 0.3, 0.3)
        _exhaustive_check(heads, labels)


def _follow(system, batch, gold, rng):
    while not batch.is_final():
        costs = batch.costs([gold], normalize=False)[0]
        assert costs.min() == 0
        batch.transition([rng.choice(numpy.nonzero(costs == 0)[0].tolist())])


def test_zero_cost_paths_on_ewt():
    """From random reachable states a zero-cost move always exists; zero-cost following from
    the start rebuilds the (projectivized) gold tree exactly."""
    rng = random.Random(4)
    sents = [s for s in ewt_train()[:3000] if len(s[0]) <= 40]
    system = ArcEager()
    cases = []
    for heads, labels in rng.sample(sents, 200):
        heads, labels = projectivize(heads, labels)
        for i, lab in enumerate(labels):
            if heads[i] != i:
                system.add_label(lab)
        cases.append((heads, labels))
    for heads, labels in cases:
        n = len(heads)
        gold = system.gold(heads, labels)
        # from the start
        batch = GreedyBatch(system, [n])
        _follow(system, batch, gold, rng)
        got_heads, got_labels = batch.parse(0)
        assert got_heads.tolist() == list(heads)
        assert all(system.labels[got_labels[i]] == labels[i]
                   for i in range(n) if heads[i] != i)
        # from a random reachable state
        batch = GreedyBatch(system, [n])
        for _ in range(rng.randrange(2 * n)):
            if batch.is_final():
                break
            batch.transition([rng.choice(numpy.nonzero(batch.valid_mask()[0])[0].tolist())])
        _follow(system, batch, gold, rng)
