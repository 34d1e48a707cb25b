"""Move tables and the nogil dispatch over both transition systems.

A class (an output of the model) is one move: an action with a label. `SystemC` maps class
ids to (action, label id) and back; it only grows, so class ids stay stable when labels are
added during training.
"""
from libc.stdint cimport uint8_t

from ._state cimport StateC
from .gold cimport GoldC


ctypedef struct SystemC:
    int kind            # KIND_PARSER or KIND_NER
    int n_actions       # N_PARSER_ACTIONS or N_NER_ACTIONS
    int n_moves         # classes
    int capacity        # allocated class slots
    int* actions        # action of each class
    int* labels         # label id of each class (-1 for unlabelled moves: S, D, O)
    int root_label      # parser: label id of ROOT (the Break label and roots' label)
    int end_phase       # parser: its states allow the end phase's Right-Arc (arc_eager.pyx)
    int label_capacity  # allocated label slots of `lookup`
    int* lookup         # [action * (label_capacity + 1) + label + 1] -> class id or -1


cdef bint sys_is_valid(const SystemC* sys, const StateC* st, int clas) noexcept nogil
cdef int sys_set_valid(const SystemC* sys, const StateC* st, uint8_t* out) noexcept nogil
cdef int sys_transition(const SystemC* sys, StateC* st, int clas) noexcept nogil
cdef void sys_set_costs(const SystemC* sys, const StateC* st, const GoldC* gold, float* out,
                        bint normalize) noexcept nogil
cdef int sys_static_oracle(const SystemC* sys, const StateC* st,
                           const GoldC* gold) noexcept nogil
cdef int sys_best_valid(const SystemC* sys, const StateC* st,
                        const float* scores) noexcept nogil
cdef int sys_class_of(const SystemC* sys, int action, int label) noexcept nogil


cdef class TransitionSystem:
    cdef SystemC c
    cdef readonly list labels
    cdef dict _label_ids
    cdef list _names
    cdef dict _name_ids
    cdef readonly tuple action_names
    cdef int _grow(self, int n_labels) except -1
