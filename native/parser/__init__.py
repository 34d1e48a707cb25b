"""Transition-system core of the parser and the entity recogniser (Cython).

Modules: `_state` (the per-doc parse state and feature contexts), `gold` (gold annotations
in C form), `arc_eager` and `biluo` (moves, validity, oracles, costs), `system` (move tables
and dispatch), `batch` (GreedyBatch, BeamBatch) and `nonproj` (pseudo-projective lifting).
"""
