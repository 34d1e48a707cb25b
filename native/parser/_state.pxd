"""The parse state of one doc, as a C struct with `nogil` helpers.

One `StateC` serves both transition systems: the arc-eager parser uses the stack, the arc
arrays and the child pointers; the BILUO recogniser uses the buffer front, the open entity
and `tags`. Every array lives in one malloc'ed block (`_block`), so copying a state (the
beam does this at every step) is one memcpy of `_size` ints.
"""
from libc.stdint cimport int8_t

cdef enum:
    KIND_PARSER = 1
    KIND_NER = 2


ctypedef struct StateC:
    int kind            # KIND_PARSER or KIND_NER
    int length          # tokens in the doc
    int offset          # row of the doc's first token in the batch's token matrix
    int doc             # index of the doc (and of its gold) in the batch
    int b0              # buffer front; == length once the buffer is empty
    int depth           # parser: stack depth
    int ent_start       # NER: first token of the open entity, -1 when none is open
    int ent_label       # NER: label id of the open entity, -1 when none is open
    int n_hist          # transitions taken so far (entries of `history`)
    int steps_left      # transitions still allowed before the state counts as final; -1: no limit
    int end_phase       # parser: 1 when the end phase's Right-Arc is allowed (arc_eager.pyx)
    int closing         # parser: 1 from an end-phase Break until the stack is empty
    int* stack          # parser: stack contents, bottom first (capacity length)
    int* heads          # parser: absolute head per token, -1 = none yet, i = root
    int* labels         # parser: label id per token, -1 = none yet
    int* lchild         # parser: leftmost child per token, -1 = none
    int* lchild2        # parser: second leftmost child per token
    int* rchild         # parser: rightmost child per token
    int* rchild2        # parser: second rightmost child per token
    int* tags           # NER: class id applied at each token, -1 before
    int* history        # class ids in the order they were applied
    int hist_capacity
    const int8_t* constraints  # per token: 1 must start a sentence, -1 must not, 0 free; may be NULL (borrowed)
    int* _block         # owns every int array above
    int _size           # ints in _block


cdef StateC* state_new(int kind, int length, int offset, int doc,
                       const int8_t* constraints) noexcept nogil
cdef void state_free(StateC* st) noexcept nogil
cdef void state_copy(StateC* dst, const StateC* src) noexcept nogil
cdef StateC* state_clone(const StateC* src) noexcept nogil
cdef int fill_context(const StateC* st, int* out, int n_feats) noexcept nogil
cdef bint state_is_final(const StateC* st) noexcept nogil


cdef inline int S(const StateC* st, int i) noexcept nogil:
    """The i-th stack item from the top (S0 = top), -1 when the stack is shallower."""
    if i < st.depth:
        return st.stack[st.depth - 1 - i]
    return -1


cdef inline int B(const StateC* st, int i) noexcept nogil:
    """The i-th buffer item (B0 = front), -1 past the end of the doc."""
    if st.b0 + i < st.length:
        return st.b0 + i
    return -1


cdef inline int constraint(const StateC* st, int i) noexcept nogil:
    """The sentence-start constraint of token i (1 must start, -1 must not, 0 free)."""
    if st.constraints == NULL or i < 0 or i >= st.length:
        return 0
    return st.constraints[i]

