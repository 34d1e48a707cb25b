"""Pseudo-projective lifting and its inverse on hand-made trees."""
import numpy

from nlp_core.parser_internals import deprojectivize, is_nonproj_tree, projectivize

# "A hearing is scheduled on the issue today": "on" (4) depends on "hearing" (1) across the
# root "scheduled" (3).
HEADS = [1, 3, 3, 3, 1, 6, 4, 3]
LABELS = ["det", "nsubj", "aux", "ROOT", "nmod", "det", "pobj", "npadvmod"]


def test_lift_and_restore():
    assert is_nonproj_tree(HEADS)
    heads, labels = projectivize(HEADS, LABELS)
    assert heads.tolist() == [1, 3, 3, 3, 3, 6, 4, 3]
    assert labels[4] == "nmod||nsubj"
    assert not is_nonproj_tree(heads)
    back_heads, back_labels = deprojectivize(heads, labels)
    assert back_heads.tolist() == HEADS and back_labels == LABELS


def test_projective_trees_are_unchanged():
    heads = [1, 1, 1]
    got_heads, got_labels = projectivize(heads, ["a", "ROOT", "b"])
    assert got_heads.tolist() == heads and got_labels == ["a", "ROOT", "b"]
    assert deprojectivize(heads, ["a", "ROOT", "b"])[0].tolist() == heads


def test_ambiguous_head_label_gets_a_rank():
    # token 5 hangs from the second "conj" (3) across token 4; lifted to the root (2), its
    # head label "conj" would first find token 0, so the decoration carries the rank of
    # token 3 among the candidates.
    heads = [2, 2, 2, 2, 2, 3, 2]
    labels = ["conj", "x", "ROOT", "conj", "y", "case", "z"]
    assert is_nonproj_tree(heads)
    proj, deco = projectivize(heads, labels)
    assert proj.tolist() == [2, 2, 2, 2, 2, 2, 2]
    assert deco[5] == "case||conj#1"
    back_heads, back_labels = deprojectivize(proj, deco)
    assert back_heads.tolist() == heads and back_labels == labels
    # without the rank the first candidate wins
    assert deprojectivize(proj, labels[:5] + ["case||conj", "z"])[0][5] == 0


def test_missing_candidate_keeps_the_head():
    heads, labels = deprojectivize(numpy.array([1, 1, 1]), ["a||nothere", "ROOT", "b"])
    assert heads.tolist() == [1, 1, 1] and labels == ["a", "ROOT", "b"]
