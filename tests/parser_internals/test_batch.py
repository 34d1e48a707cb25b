"""GreedyBatch and BeamBatch: rows, offsets, transitions, oracle cuts, beam ranking."""
import random

import numpy
import pytest
from parser_internals.trees import LABELS, random_doc

from nlp_core.parser_internals import ArcEager, BeamBatch, BiluoNER, GreedyBatch


def _scores_for(batch, table):
    """Deterministic scores: a function of each active row's context."""
    ctx = batch.get_context(13)
    keys = (ctx + 1).sum(axis=1) * 31 + (ctx[:, 2] + 1) * 7 + ctx[:, 0]
    return table[keys % len(table)]


def test_greedy_batch_rows_and_offsets():
    system = ArcEager(LABELS)
    batch = GreedyBatch(system, [3, 0, 2])
    assert batch.n_docs == 3 and batch.n_states == 3
    assert batch.n_active == 2  # the empty doc is final from the start
    assert batch.doc_ids.tolist() == [0, 2]
    assert batch.offsets.tolist() == [0, 3, 3]
    assert batch.get_context(8).tolist() == [[0, 1, -1, -1, -1, -1, -1, -1],
                                            [3, 4, -1, -1, -1, -1, -1, -1]]
    valid = batch.valid_mask()
    assert valid.shape == (2, system.n_moves) and valid.dtype == bool
    assert valid[:, system.class_of("S")].all() and not valid[:, system.class_of("D")].any()
    with pytest.raises(ValueError, match="invalid"):
        batch.transition([system.class_of("D"), system.class_of("S")])
    assert batch.stack(0) == [] and batch.stack(2) == [0]  # doc-local positions
    shift = system.class_of("S")
    batch.transition([shift, system.class_of("R-a")])
    assert batch.get_context(8).tolist() == [[1, 2, 0, -1, -1, -1, -1, -1],
                                            [-1, -1, 4, 3, -1, -1, -1, -1]]
    with pytest.raises(ValueError, match="width"):
        batch.get_context(3)
    with pytest.raises(ValueError):
        batch.transition([shift])


def test_greedy_step_runs_to_completion():
    rng = numpy.random.default_rng(0)
    system = ArcEager(LABELS)
    lengths = [5, 1, 7, 3]
    batch = GreedyBatch(system, lengths)
    table = rng.normal(size=(101, system.n_moves)).astype(numpy.float32)
    steps = 0
    while not batch.is_final():
        scores = _scores_for(batch, table)
        expected = numpy.where(batch.valid_mask(), scores, -numpy.inf).argmax(axis=1)
        check = batch.copy()
        check.transition(expected)
        batch.greedy_step(scores)
        for i in range(batch.n_states):
            assert batch.history(i).tolist() == check.history(i).tolist()
        steps += 1
        assert steps < 100
    for d, n in enumerate(lengths):
        heads, labels = batch.parse(d)
        assert (heads >= 0).all() and (labels >= 0).all() and len(heads) == n


def test_costs_need_one_gold_per_doc():
    system = ArcEager(LABELS)
    batch = GreedyBatch(system, [2, 2])
    gold = system.gold([1, 1], ["a", "ROOT"])
    with pytest.raises(ValueError, match="one Gold per doc"):
        batch.costs([gold])
    with pytest.raises(ValueError, match=r"golds\[1\]"):
        batch.costs([gold, system.gold([0], ["ROOT"])])
    with pytest.raises(ValueError, match=r"golds\[0\]"):
        batch.costs([BiluoNER().gold([2, 2], None), gold])
    costs = batch.costs([gold, gold])
    assert costs.shape == (2, system.n_moves)
    assert numpy.isinf(costs[:, system.class_of("D")]).all()
    assert batch.cost_mask([gold, gold])[:, system.class_of("S")].all()


@pytest.mark.parametrize("cut_size,first_cut", [(3, None), (4, 2), (1, 1)])
def test_oracle_cuts_cover_the_oracle_sequence(cut_size, first_cut):
    rng = random.Random(0)
    system = ArcEager(LABELS)
    docs = [random_doc(rng, [rng.randint(1, 6), rng.randint(1, 6)]) for _ in range(5)]
    golds = [system.gold(h, lab) for h, lab in docs]
    lengths = [len(h) for h, _ in docs]
    full = GreedyBatch(system, lengths)
    full.follow_oracle(golds)
    cuts = GreedyBatch(system, lengths).oracle_cuts(golds, cut_size, first_cut)
    assert cuts.n_docs == 5
    starts = [len(cuts.history(i)) for i in range(cuts.n_states)]
    cuts.follow_oracle(golds)  # every piece stops after its own number of moves
    assert cuts.is_final()
    first = cut_size if first_cut is None else first_cut
    for d in range(5):
        whole = full.history(d).tolist()
        mine = [i for i in range(cuts.n_states) if cuts.state_doc(i) == d]
        assert [starts[i] for i in mine] == [0] + list(range(first, len(whole), cut_size))
        for k, i in enumerate(mine):
            hist = cuts.history(i).tolist()
            assert hist == whole[:len(hist)]
            assert len(hist) - starts[i] == min(first if k == 0 else cut_size,
                                                len(whole) - starts[i])


def _expected_beam(batch, scores, width, density):
    """Top candidates per doc, computed in Python from the batch before advance()."""
    valid = batch.valid_mask()
    rows = {}
    for r, d in enumerate(batch.doc_ids.tolist()):
        rows.setdefault(d, []).append(r)
    active_scores = batch.active_scores
    out = {}
    for d in range(batch.n_docs):
        cands = []
        live = batch.beam_size(d)
        beam_scores = batch.beam_scores(d)
        active_rows = iter(rows.get(d, []))
        for k in range(live):
            if batch.is_state_final(d, k):
                cands.append(float(beam_scores[k]))
            else:
                r = next(active_rows)
                base = active_scores[r]
                cands += [float(numpy.float32(base + scores[r, c]))
                          for c in numpy.nonzero(valid[r])[0]]
        cands.sort(reverse=True)
        kept = cands[:width]
        if density > 0 and kept:
            kept = [s for s in kept if s >= kept[0] + numpy.log(density)] or kept[:1]
        out[d] = kept
    return out


@pytest.mark.parametrize("width,density", [(1, 0.0), (3, 0.0), (4, 0.01), (8, 0.5)])
def test_beam_keeps_the_k_best(width, density):
    rng = numpy.random.default_rng(1)
    system = ArcEager(LABELS)
    lengths = [4, 6, 1]
    beam = BeamBatch(system, lengths, beam_width=width, beam_density=density)
    while not beam.is_final():
        logits = rng.normal(size=(beam.n_active, system.n_moves)).astype(numpy.float32)
        scores = logits - numpy.log(numpy.exp(logits).sum(axis=1, keepdims=True))
        expected = _expected_beam(beam, scores, width, density)
        beam.advance(scores)
        for d in range(len(lengths)):
            got = beam.beam_scores(d).tolist()
            assert numpy.allclose(got, expected[d], atol=1e-5), (d, got, expected[d])
    for d, n in enumerate(lengths):
        heads, labels = beam.parse(d)
        assert (heads >= 0).all() and len(heads) == n
        assert list(beam.beam_scores(d)) == sorted(beam.beam_scores(d), reverse=True)


def test_beam_width_one_is_greedy():
    rng = numpy.random.default_rng(2)
    system = ArcEager(LABELS)
    lengths = [5, 3, 8]
    table = rng.normal(size=(211, system.n_moves)).astype(numpy.float32)
    greedy = GreedyBatch(system, lengths)
    while not greedy.is_final():
        greedy.greedy_step(_scores_for(greedy, table))
    beam = BeamBatch(system, lengths, beam_width=1)
    while not beam.is_final():
        beam.advance(_scores_for(beam, table))
    for d in range(len(lengths)):
        assert beam.history(d).tolist() == greedy.history(d).tolist()


def test_beam_ner_and_sentence_constraints():
    system = BiluoNER(["PER"])
    cons = numpy.array([1, 0, 1, 0], dtype=numpy.int8)
    beam = BeamBatch(system, [4], beam_width=4, sent_starts=cons)
    rng = numpy.random.default_rng(3)
    while not beam.is_final():
        beam.advance(rng.normal(size=(beam.n_active, system.n_moves)).astype(numpy.float32))
    for k in range(beam.beam_size(0)):
        for start, end, _ in beam.entities(0, k):
            assert not any(cons[i] == 1 for i in range(start + 1, end))


def test_batch_argument_errors():
    system = ArcEager()
    with pytest.raises(ValueError, match="sent_starts"):
        GreedyBatch(system, [3], sent_starts=[1, 0])
    with pytest.raises(ValueError, match="beam_width"):
        BeamBatch(system, [3], beam_width=0)
    with pytest.raises(ValueError, match="beam_density"):
        BeamBatch(system, [3], beam_density=2.0)
