"""Batches of parse states: GreedyBatch (one state per doc) and BeamBatch (k per doc).

The cdef methods are the C API for a compiled forward pass: everything a greedy decoder
needs per step (contexts, validity, transitions, argmax over valid classes) without the
GIL and without Python objects per transition.
"""
from libc.stdint cimport int8_t, uint8_t

from ._state cimport StateC
from .gold cimport GoldC
from .system cimport SystemC, TransitionSystem


cdef class GreedyBatch:
    cdef readonly TransitionSystem system
    cdef StateC** states
    cdef int n_states
    cdef int* active        # indices (into states) of the states that are not final
    cdef int n_active
    cdef object _constraints  # int8 array the states' constraints point into (kept alive)
    cdef object _lengths

    cdef int c_refresh_active(self) noexcept nogil
    cdef int c_fill_context(self, int* out, int n_feats) noexcept nogil
    cdef void c_set_valid(self, uint8_t* out) noexcept nogil
    cdef int c_transition(self, const int* classes) noexcept nogil
    cdef int c_greedy_step(self, const float* scores) noexcept nogil
    cdef int c_apply_next(self, const int* actions, const long* starts, const int* lengths,
                          int* taken, int* bad_state, int* bad_step) noexcept nogil


cdef class BeamBatch:
    cdef readonly TransitionSystem system
    cdef readonly int beam_width
    cdef readonly float beam_density
    cdef int n_docs
    cdef StateC** states    # n_docs * beam_width slots; the first n_live[d] of doc d are live
    cdef StateC** spare     # the same shape, reused as the next step's slots
    cdef float* scores      # cumulative score per slot
    cdef int* n_live        # live slots per doc
    cdef int* active        # slot ids (d * beam_width + j) of live, non-final states
    cdef int n_active
    cdef object _constraints
    cdef object _lengths

    cdef int c_refresh_active(self) noexcept nogil
    cdef int c_fill_context(self, int* out, int n_feats) noexcept nogil
    cdef void c_set_valid(self, uint8_t* out) noexcept nogil
    cdef int c_advance(self, const float* scores) noexcept nogil


cdef tuple action_table(actions, int n_states)
cdef const GoldC** _gold_table(TransitionSystem system, lengths, golds) except NULL
