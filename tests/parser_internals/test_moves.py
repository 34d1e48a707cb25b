"""Move tables: names, class ids that stay stable as labels are added, serialisation."""
import pickle

import pytest

from nlp_core.parser_internals import ArcEager, BiluoNER


def test_arc_eager_table():
    system = ArcEager(["nsubj"])
    assert system.move_names == ["S", "D", "B-ROOT", "L-nsubj", "R-nsubj"]
    assert system.labels == ["ROOT", "nsubj"]
    assert system.n_moves == len(system) == 5
    assert system.add_label("obj") == 2
    assert system.move_names[5:] == ["L-obj", "R-obj"]
    assert system.add_action("L", "nsubj") == 3  # already present: same class
    assert system.add_action("R", "nmod||obj") == 7
    assert system.class_of("R-nmod||obj") == 7 and system.class_of("L-xcomp") == -1
    assert system.decode(7) == ("R", "nmod||obj")
    assert system.decode(0) == ("S", None)
    assert system.n_features(False) == 8 and system.n_features(True) == 13
    with pytest.raises(ValueError, match="needs a label"):
        system.add_action("L")
    with pytest.raises(ValueError, match="Unknown action"):
        system.add_action("X", "a")
    with pytest.raises(ValueError, match="ROOT"):
        system.add_action("B", "nsubj")


def test_many_labels_grow_the_lookup():
    system = ArcEager()
    for i in range(300):
        system.add_label(f"l{i}")
    assert system.n_moves == 3 + 600
    assert system.class_of("R-l299") == 602
    assert system.label_id("l299") == 300


def test_ner_table():
    system = BiluoNER(["PER"])
    assert system.move_names == ["O", "B-PER", "I-PER", "L-PER", "U-PER"]
    system.add_label("ORG")
    assert system.class_of("U-ORG") == 8
    assert system.n_features(False) == 3 and system.n_features(True) == 6


@pytest.mark.parametrize("make", [lambda: ArcEager(["a", "b||c"]), lambda: BiluoNER(["X", "Y"])])
def test_round_trip(make):
    system = make()
    again = type(system).from_list(system.to_list())
    assert again.move_names == system.move_names and again.labels == system.labels
    unpickled = pickle.loads(pickle.dumps(system))
    assert unpickled.move_names == system.move_names
    actions, labels = system.actions_array()
    assert len(actions) == len(labels) == system.n_moves
