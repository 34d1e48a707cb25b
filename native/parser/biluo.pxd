"""BILUO entity moves (see biluo.pyx for each move's contract)."""
from libc.stdint cimport int8_t

from ._state cimport StateC
from .gold cimport GoldC

cdef enum:
    BEGIN = 0
    IN = 1
    LAST = 2
    UNIT = 3
    OUT = 4
    N_NER_ACTIONS = 5


cdef bint ner_is_valid(const StateC* st, int action, int label) noexcept nogil
cdef void ner_apply(StateC* st, int action, int label, int clas) noexcept nogil
cdef int ner_cost(const StateC* st, const GoldC* gold, int action, int label) noexcept nogil
cdef int ner_gold_col(const GoldC* gold, int label) noexcept nogil
cdef int ner_gold_size(int length, int n_cols) noexcept nogil
cdef void ner_fill_gold(GoldC* gold, const int* actions, const int* labels, int n_cols,
                        const int* col_label, bint has_other, const int8_t* constraints,
                        int* block) noexcept nogil
