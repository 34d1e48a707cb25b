"""Static oracles on the treebanks: every projective EWT train tree is rebuilt exactly;
non-projective ones come back through projectivize -> oracle -> deprojectivize; every
UNER dev entity is rebuilt by the BILUO oracle."""
import time

import numpy
from parser_internals.trees import ewt_train
from shared_data import shared_path

from nlp_core.formats import read_iob
from nlp_core.parser_internals import (
    ArcEager,
    BiluoNER,
    GreedyBatch,
    deprojectivize,
    is_nonproj_tree,
    projectivize,
)


def _oracle_parses(system, trees):
    golds = [system.gold(heads, labels) for heads, labels in trees]
    batch = GreedyBatch(system, [len(h) for h, _ in trees])
    batch.follow_oracle(golds)
    assert batch.is_final()
    out = []
    for i in range(len(trees)):
        heads, label_ids = batch.parse(i)
        out.append((heads, [system.labels[x] for x in label_ids.tolist()]))
    return out


def _same_tree(got_heads, got_labels, heads, labels) -> bool:
    if list(got_heads) != list(heads):
        return False
    return all(got_labels[i] == labels[i] for i in range(len(heads))
               if heads[i] != i and labels[i] is not None)


def test_static_oracle_rebuilds_every_ewt_train_tree():
    t0 = time.perf_counter()
    sents = ewt_train()
    assert len(sents) > 12000
    system = ArcEager()
    projective, nonproj = [], []
    for heads, labels in sents:
        (nonproj if is_nonproj_tree(heads) else projective).append((heads, labels))
    lifted = [projectivize(heads, labels) for heads, labels in nonproj]
    for heads, labels in projective + lifted:
        for i, lab in enumerate(labels):
            if lab is not None and heads[i] != i:
                system.add_label(lab)

    got = _oracle_parses(system, projective)
    wrong = [k for k, ((gh, gl), (h, lab)) in enumerate(zip(got, projective))
             if not _same_tree(gh, gl, h, lab)]
    assert not wrong, f"{len(wrong)} projective trees not rebuilt, e.g. #{wrong[:5]}"

    got = _oracle_parses(system, [(numpy.asarray(h), lab) for h, lab in lifted])
    recovered = unranked = 0
    for (heads, labels), (ph, pl), (orig_heads, orig_labels) in zip(lifted, got, nonproj):
        assert _same_tree(ph, pl, heads, labels)  # the oracle rebuilds the lifted tree
        dh, dl = deprojectivize(ph, pl)
        recovered += _same_tree(dh, dl, orig_heads, orig_labels)
        # the figure without the "#k" ranks, i.e. the plain "label||headlabel" encoding
        dh, dl = deprojectivize(ph, [lab.split("#")[0] if lab else lab for lab in pl])
        unranked += _same_tree(dh, dl, orig_heads, orig_labels)
    rate = recovered / len(nonproj)
    print(f"\nEWT train: {len(projective)} projective trees rebuilt exactly; "
          f"{recovered}/{len(nonproj)} non-projective trees recovered ({rate:.4f}; "
          f"{unranked / len(nonproj):.4f} without ranks); {time.perf_counter() - t0:.1f}s")
    assert rate >= 0.99


def test_biluo_oracle_rebuilds_every_uner_dev_entity():
    docs = list(read_iob(shared_path("uner_english_ewt", "en_ewt-ud-dev.iob2")))
    system = BiluoNER()
    for doc in docs:
        for ent in doc.ents:
            system.add_label(ent.label_)
    golds, lengths, expected = [], [], []
    for doc in docs:
        iob = doc.column("ent_iob")
        labels = [doc.vocab.strings[int(t)] if t else None for t in doc.column("ent_type")]
        golds.append(system.gold(iob, labels))
        lengths.append(len(doc))
        expected.append([(e.start, e.end, e.label_) for e in doc.ents])
    batch = GreedyBatch(system, lengths)
    batch.follow_oracle(golds)
    n_ents = 0
    for i, ents in enumerate(expected):
        got = [(s, e, system.labels[lab]) for s, e, lab in batch.entities(i)]
        assert got == ents, (i, got, ents)
        n_ents += len(ents)
    print(f"\nUNER dev: {n_ents} entities in {len(docs)} docs rebuilt exactly")
    assert n_ents > 500
