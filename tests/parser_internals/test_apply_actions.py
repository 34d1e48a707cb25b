"""GreedyBatch.apply_actions (the C loop that advances states along given action sequences)
rebuilds gold trees and entities from oracle actions, agrees with the plain-Python
reference move by move, and keeps the step order of the run the actions came from."""
import random

import numpy
import pytest
from parser_internals import reference_arc_eager as ref
from parser_internals.trees import LABELS, ewt_train, random_doc
from shared_data import shared_path

from nlp_core.formats import read_iob
from nlp_core.parser_internals import (
    ArcEager,
    BiluoNER,
    GreedyBatch,
    is_nonproj_tree,
)


def _same_tree(got_heads, got_labels, heads, labels) -> bool:
    return list(got_heads) == list(heads) and all(
        got_labels[i] == labels[i] for i in range(len(heads))
        if heads[i] != i and labels[i] is not None)


def test_oracle_actions_rebuild_ewt_trees():
    """The static oracle's class sequences (from a batch that followed it), applied to a
    fresh batch, give back every gold tree of 2,000 projective EWT train sentences."""
    trees = [(h, lab) for h, lab in ewt_train()[:2500] if not is_nonproj_tree(h)][:2000]
    system = ArcEager()
    for heads, labels in trees:
        for i, lab in enumerate(labels):
            if lab is not None and heads[i] != i:
                system.add_label(lab)
    golds = [system.gold(h, lab) for h, lab in trees]
    lengths = [len(h) for h, _ in trees]
    oracle = GreedyBatch(system, lengths)
    oracle.follow_oracle(golds)
    actions = [oracle.history(i) for i in range(len(trees))]
    batch = GreedyBatch(system, lengths)
    steps = batch.apply_actions(actions)
    assert batch.is_final()
    assert steps == max(len(a) for a in actions)
    wrong = []
    for i, (heads, labels) in enumerate(trees):
        got_heads, got_ids = batch.parse(i)
        got_labels = [system.labels[x] for x in got_ids.tolist()]
        if not _same_tree(got_heads.tolist(), got_labels, heads, labels):
            wrong.append(i)
        assert batch.history(i).tolist() == actions[i].tolist()
    assert not wrong, f"{len(wrong)} trees not rebuilt, e.g. {wrong[:5]}"


def test_reference_oracle_moves_rebuild_random_trees():
    """Moves of the plain-Python reference oracle, applied in C, give the reference's final
    state (heads and labels) on random projective docs of several sentences."""
    rng = random.Random(18)
    system = ArcEager(LABELS)
    ref_moves = ref.all_moves(system.labels[1:])
    docs = [random_doc(rng, [rng.randint(1, 8) for _ in range(rng.randint(1, 3))])
            for _ in range(120)]
    actions, finals = [], []
    for heads, labels in docs:
        moves, final = ref.oracle_parse(len(heads), heads, labels)
        actions.append([ref_moves.index(m) for m in moves])
        finals.append(final)
    batch = GreedyBatch(system, [len(h) for h, _ in docs])
    batch.apply_actions(actions)
    assert batch.is_final()
    for i, ((heads, _labels), final) in enumerate(zip(docs, finals)):
        got_heads, got_ids = batch.parse(i)
        assert got_heads.tolist() == final.heads == heads
        assert [system.labels[x] for x in got_ids.tolist()] == final.labels


def test_oracle_actions_rebuild_uner_entities():
    docs = list(read_iob(shared_path("uner_english_ewt", "en_ewt-ud-dev.iob2")))[:800]
    system = BiluoNER()
    for doc in docs:
        for ent in doc.ents:
            system.add_label(ent.label_)
    golds, lengths, expected = [], [], []
    for doc in docs:
        labels = [doc.vocab.strings[int(t)] if t else None for t in doc.column("ent_type")]
        golds.append(system.gold(doc.column("ent_iob"), labels))
        lengths.append(len(doc))
        expected.append([(e.start, e.end, e.label_) for e in doc.ents])
    oracle = GreedyBatch(system, lengths)
    oracle.follow_oracle(golds)
    batch = GreedyBatch(system, lengths)
    batch.apply_actions([oracle.history(i) for i in range(len(docs))])
    n_ents = 0
    for i, ents in enumerate(expected):
        got = [(s, e, system.labels[lab]) for s, e, lab in batch.entities(i)]
        assert got == ents, (i, got, ents)
        n_ents += len(ents)
    assert n_ents > 300


def test_step_order_matches_the_greedy_run():
    """A batch advanced with another batch's histories lists the same active states, in
    the same order, at every step as the run that made them (the rows line up)."""
    rng = numpy.random.default_rng(4)
    system = ArcEager(LABELS)
    lengths = [3, 7, 1, 5, 0, 9]
    run = GreedyBatch(system, lengths)
    follower = run.copy()
    run_rows = []
    while not run.is_final():
        run_rows.append(run.active.tolist())
        run.greedy_step(rng.normal(size=(run.n_active, run.n_moves)).astype("float32"))
    actions = [run.history(i) for i in range(run.n_states)]
    rows = []
    taken = [0] * follower.n_states
    while not follower.is_final():
        rows.append(follower.active.tolist())
        follower.transition([actions[s][taken[s]] for s in follower.active.tolist()])
        for s in rows[-1]:
            taken[s] += 1
    assert rows == run_rows
    again = GreedyBatch(system, lengths)
    assert again.apply_actions(actions) == len(run_rows)
    for i in range(run.n_states):
        assert again.parse(i)[0].tolist() == run.parse(i)[0].tolist()


def test_short_sequences_stop_and_bad_actions_are_named():
    system = ArcEager(LABELS)
    batch = GreedyBatch(system, [3, 2])
    shift = system.class_of("S")
    batch.apply_actions([[shift], []])
    assert batch.is_final()  # both stopped where their sequences ended
    assert batch.history(0).tolist() == [shift] and batch.history(1).tolist() == []
    batch = GreedyBatch(system, [3, 2])
    reduce_ = system.class_of("D")  # invalid on an empty stack
    with pytest.raises(ValueError, match="action 1 of state 1"):
        batch.apply_actions([[shift, shift, shift], [shift, reduce_]])
    assert batch.history(0).tolist() == [shift, shift, shift]  # the other state ran on
    with pytest.raises(ValueError, match="one sequence of class ids per state"):
        GreedyBatch(system, [3, 2]).apply_actions([[shift]])
    with pytest.raises(ValueError, match=">= 0"):
        GreedyBatch(system, [3]).apply_actions([[-1]])
