"""Arc-eager moves with a sentence Break (see arc_eager.pyx for each move's contract)."""
from ._state cimport StateC
from .gold cimport GoldC

cdef enum:
    SHIFT = 0
    REDUCE = 1
    LEFT = 2
    RIGHT = 3
    BREAK = 4
    N_PARSER_ACTIONS = 5


cdef void ae_valid_actions(const StateC* st, bint* out) noexcept nogil
cdef bint ae_is_valid(const StateC* st, int action) noexcept nogil
cdef void ae_apply(StateC* st, int action, int label, int root_label) noexcept nogil
cdef void ae_action_costs(const StateC* st, const GoldC* gold, int* out) noexcept nogil
cdef int ae_label_cost(const StateC* st, const GoldC* gold, int action, int label) noexcept nogil
cdef int ae_static_oracle(const StateC* st, const GoldC* gold, int* label) noexcept nogil
cdef void ae_fill_gold(GoldC* gold, const int* heads, const int* labels,
                       const int* sent_start, int* block) noexcept nogil
cdef int ae_gold_size(int length) noexcept nogil
