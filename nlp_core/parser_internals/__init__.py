"""Python side of the transition-system core in native/parser.

`ArcEager` / `BiluoNER` are the move tables (native); `GreedyBatch` / `BeamBatch` step
states for a batch of docs; `projectivize` / `deprojectivize` handle non-projective trees;
the `gold` helpers turn Examples into Gold objects.
"""
from native.parser.batch import BeamBatch, GreedyBatch
from native.parser.gold import Gold
from native.parser.system import ArcEager, BiluoNER, TransitionSystem, iob_to_biluo

from .gold import (
    biluo_from_example,
    make_ner_gold,
    make_parser_gold,
    parse_from_example,
    sent_constraints,
)
from .nonproj import (
    DELIMITER,
    decompose,
    deprojectivize,
    is_decorated,
    is_nonproj_tree,
    projectivize,
)

__all__ = [
    "ArcEager", "BiluoNER", "TransitionSystem", "GreedyBatch", "BeamBatch", "Gold",
    "iob_to_biluo", "projectivize", "is_nonproj_tree", "deprojectivize", "decompose", "is_decorated",
    "DELIMITER", "parse_from_example", "biluo_from_example", "make_parser_gold",
    "make_ner_gold", "sent_constraints",
]
