# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""StateC allocation, copying, finality and the feature contexts.

Feature contexts (`fill_context`) are token positions the model reads for one state, written
as `offset + position` (a row of the batch's concatenated token matrix) or -1 when the slot
is empty. The layouts, by system and width:

parser, 8 (extra_state_tokens = false):
    B0, B1, S0, S1, S2, L1(B0), L1(S0), R1(S0)
parser, 13 (extra_state_tokens = true):
    B0, B1, S0, S1, S2, L1(B0), L2(B0), L1(S0), L2(S0), R1(S0), R2(S0), L1(S1), R1(S1)
NER, 3 (extra_state_tokens = false):
    B0, E0, B0 - 1 (E0 = first token of the open entity; the last two are -1 when no
    entity is open)
NER, 6 (extra_state_tokens = true):
    B0, then the open entity's tokens from its first one (at most five), -1 padded

Sn is the n-th stack item from the top, Bn the n-th buffer item, L1/L2 the leftmost and
second leftmost child, R1/R2 the rightmost and second rightmost child.
"""
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy

from libc.stdint cimport int8_t


cdef StateC* state_new(int kind, int length, int offset, int doc,
                       const int8_t* constraints) noexcept nogil:
    """A fresh state (empty stack, buffer at token 0); NULL when out of memory."""
    cdef StateC* st = <StateC*>calloc(1, sizeof(StateC))
    if st == NULL:
        return NULL
    cdef int n = length if length > 0 else 0
    cdef int hist = 3 * n + 2 if kind == KIND_PARSER else n + 1
    cdef int size = (7 * n + hist) if kind == KIND_PARSER else (n + hist)
    cdef int i
    st._block = <int*>malloc((size if size > 0 else 1) * sizeof(int))
    if st._block == NULL:
        free(st)
        return NULL
    st._size = size
    st.kind = kind
    st.length = n
    st.offset = offset
    st.doc = doc
    st.ent_start = -1
    st.ent_label = -1
    st.steps_left = -1
    st.constraints = constraints
    st.hist_capacity = hist
    for i in range(size):
        st._block[i] = -1
    if kind == KIND_PARSER:
        st.stack = st._block
        st.heads = st._block + n
        st.labels = st._block + 2 * n
        st.lchild = st._block + 3 * n
        st.lchild2 = st._block + 4 * n
        st.rchild = st._block + 5 * n
        st.rchild2 = st._block + 6 * n
        st.history = st._block + 7 * n
    else:
        st.tags = st._block
        st.history = st._block + n
    return st


cdef void state_free(StateC* st) noexcept nogil:
    if st != NULL:
        free(st._block)
        free(st)


cdef void state_copy(StateC* dst, const StateC* src) noexcept nogil:
    """Copy src into dst; both must have been made for the same doc (same kind and length)."""
    cdef int* block = dst._block
    memcpy(block, src._block, src._size * sizeof(int))
    memcpy(dst, src, sizeof(StateC))
    dst._block = block
    cdef long shift = block - src._block
    if src.kind == KIND_PARSER:
        dst.stack = src.stack + shift
        dst.heads = src.heads + shift
        dst.labels = src.labels + shift
        dst.lchild = src.lchild + shift
        dst.lchild2 = src.lchild2 + shift
        dst.rchild = src.rchild + shift
        dst.rchild2 = src.rchild2 + shift
    else:
        dst.tags = src.tags + shift
    dst.history = src.history + shift


cdef StateC* state_clone(const StateC* src) noexcept nogil:
    cdef StateC* st = state_new(src.kind, src.length, src.offset, src.doc, src.constraints)
    if st != NULL:
        state_copy(st, src)
    return st


cdef bint state_is_final(const StateC* st) noexcept nogil:
    if st.steps_left == 0:
        return True
    if st.kind == KIND_PARSER:
        return st.b0 >= st.length and st.depth == 0
    return st.b0 >= st.length


cdef inline int _child(const int* arr, int token) noexcept nogil:
    return arr[token] if token >= 0 else -1


cdef int fill_context(const StateC* st, int* out, int n_feats) noexcept nogil:
    """Write the state's n_feats context positions to out (layouts in the module
    docstring); returns 0, or -1 when n_feats is not a layout of the state's system."""
    cdef int i, j, b0, s0, s1
    if st.kind == KIND_PARSER:
        b0 = B(st, 0)
        s0 = S(st, 0)
        if n_feats == 8:
            out[0] = b0
            out[1] = B(st, 1)
            out[2] = s0
            out[3] = S(st, 1)
            out[4] = S(st, 2)
            out[5] = _child(st.lchild, b0)
            out[6] = _child(st.lchild, s0)
            out[7] = _child(st.rchild, s0)
        elif n_feats == 13:
            s1 = S(st, 1)
            out[0] = b0
            out[1] = B(st, 1)
            out[2] = s0
            out[3] = s1
            out[4] = S(st, 2)
            out[5] = _child(st.lchild, b0)
            out[6] = _child(st.lchild2, b0)
            out[7] = _child(st.lchild, s0)
            out[8] = _child(st.lchild2, s0)
            out[9] = _child(st.rchild, s0)
            out[10] = _child(st.rchild2, s0)
            out[11] = _child(st.lchild, s1)
            out[12] = _child(st.rchild, s1)
        else:
            return -1
    else:
        b0 = B(st, 0)
        if n_feats == 3:
            out[0] = b0
            if st.ent_start >= 0:
                out[1] = st.ent_start
                out[2] = st.b0 - 1
            else:
                out[1] = -1
                out[2] = -1
        elif n_feats == 6:
            out[0] = b0
            j = 1
            if st.ent_start >= 0:
                i = st.ent_start
                while i < st.b0 and j < 6:
                    out[j] = i
                    i += 1
                    j += 1
            while j < 6:
                out[j] = -1
                j += 1
        else:
            return -1
    for i in range(n_feats):
        if out[i] >= 0:
            out[i] += st.offset
    return 0
