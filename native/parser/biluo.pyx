# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""BILUO named-entity transitions: Begin-L, In-L, Last-L, Unit-L and Out, one per token.

The buffer front B0 is the token being tagged; at most one entity is open (started with
Begin, not yet closed with Last). Entities never cross a sentence boundary given as a
constraint (`StateC.constraints[i] == 1`): an entity may not stay open into such a token.

Costs come from an exact dynamic programme over the gold tags (built once per gold, in
`ner_fill_gold`): table[t][c] is the least number of wrongly tagged tokens from t to the end,
starting with no open entity (c = 0) or with an open entity of the label of column c. A
move's cost is its own tag error plus table[t + 1][next column] minus table[t][column]:
the number of tag errors it adds to the best reachable result. So a zero-cost move exists
in every state, and following zero-cost moves gives the gold tags whenever they are
reachable. A token with missing annotation (gold action -1) never costs anything by
itself; a move there costs only what it rules out for annotated tokens around it (a gold
In-PER after a missing token needs a PER entity open there). A gold tag with an unknown
label (-1) accepts any label.
"""
from libc.stdint cimport int8_t

from ._state cimport StateC, constraint
from .gold cimport GoldC

cdef int INF = 1 << 28


# --- Begin --------------------------------------------------------------------------------
# "B-label". Valid when no entity is open and the entity can be closed later in the same
# sentence: a next token exists and is not constrained to start a sentence.
# Does: open an entity of the label at B0; advance.
# Costs: see the module docstring (tag error + reachable loss).

cdef inline bint begin_valid(const StateC* st) noexcept nogil:
    return (st.ent_start < 0 and st.b0 + 1 < st.length
            and constraint(st, st.b0 + 1) != 1)


# --- In -----------------------------------------------------------------------------------
# "I-label". Valid when an entity of the same label is open and it can continue past B0
# (as Begin).
# Does: add B0 to the open entity; advance.

cdef inline bint in_valid(const StateC* st, int label) noexcept nogil:
    return (st.ent_start >= 0 and st.ent_label == label and st.b0 + 1 < st.length
            and constraint(st, st.b0 + 1) != 1)


# --- Last ---------------------------------------------------------------------------------
# "L-label". Valid when an entity of the same label is open.
# Does: add B0 to the open entity and close it; advance.

cdef inline bint last_valid(const StateC* st, int label) noexcept nogil:
    return st.ent_start >= 0 and st.ent_label == label and st.b0 < st.length


# --- Unit ---------------------------------------------------------------------------------
# "U-label". Valid when no entity is open and the buffer is not empty.
# Does: tag B0 as a one-token entity; advance.

cdef inline bint unit_valid(const StateC* st) noexcept nogil:
    return st.ent_start < 0 and st.b0 < st.length


# --- Out ----------------------------------------------------------------------------------
# "O". Valid when no entity is open and the buffer is not empty.
# Does: tag B0 as outside any entity; advance.

cdef inline bint out_valid(const StateC* st) noexcept nogil:
    return st.ent_start < 0 and st.b0 < st.length


cdef bint ner_is_valid(const StateC* st, int action, int label) noexcept nogil:
    if action == BEGIN:
        return begin_valid(st)
    elif action == IN:
        return in_valid(st, label)
    elif action == LAST:
        return last_valid(st, label)
    elif action == UNIT:
        return unit_valid(st)
    elif action == OUT:
        return out_valid(st)
    return False


cdef void ner_apply(StateC* st, int action, int label, int clas) noexcept nogil:
    """Apply a move (assumed valid); clas is stored as B0's tag."""
    st.tags[st.b0] = clas
    if action == BEGIN:
        st.ent_start = st.b0
        st.ent_label = label
    elif action == LAST:
        st.ent_start = -1
        st.ent_label = -1
    st.b0 += 1


# --- costs --------------------------------------------------------------------------------

cdef int ner_gold_col(const GoldC* g, int label) noexcept nogil:
    """DP column of an open entity with this label."""
    cdef int k
    for k in range(g.n_cols - 2):
        if g.col_label[k] == label:
            return 2 + k
    return 1


cdef inline int _tag_loss(const GoldC* g, int t, int action, int col) noexcept nogil:
    """1 when tagging token t with (action, label of column col) is wrong."""
    cdef int ga = g.tag_action[t]
    cdef int gl
    if ga < 0:
        return 0
    if ga != action:
        return 1
    if action == OUT:
        return 0
    gl = g.tag_label[t]
    if gl == -1:
        return 0
    if col >= 2 and g.col_label[col - 2] == gl:
        return 0
    return 1


cdef int ner_cost(const StateC* st, const GoldC* g, int action, int label) noexcept nogil:
    """Tag errors the move adds to the best result still reachable (>= 0)."""
    cdef int t = st.b0
    cdef int nc = g.n_cols
    cdef int here = 0 if st.ent_start < 0 else ner_gold_col(g, st.ent_label)
    cdef int col = 0 if action == OUT else ner_gold_col(g, label)
    cdef int nxt = col if (action == BEGIN or action == IN) else 0
    return (_tag_loss(g, t, action, col) + g.table[(t + 1) * nc + nxt]
            - g.table[t * nc + here])


cdef int ner_gold_size(int length, int n_cols) noexcept nogil:
    return 2 * length + n_cols + (length + 1) * n_cols


cdef void ner_fill_gold(GoldC* g, const int* actions, const int* labels, int n_cols,
                        const int* col_label, bint has_other, const int8_t* constraints,
                        int* block) noexcept nogil:
    """Fill g's tags and DP table inside block (ner_gold_size ints); constraints: the
    sentence constraints the states will have (NULL for none). col_label: the table's
    labels that gold uses (unseen gold labels are never columns: no move has them);
    has_other: whether the table has other labels (column 1 stands for all of them)."""
    cdef int n = g.length
    cdef int t, c, best, v, nxt_ok
    g.tag_action = block
    g.tag_label = block + n
    g.col_label = block + 2 * n
    g.table = block + 2 * n + n_cols
    g.n_cols = n_cols
    g.has_other = has_other
    for t in range(n):
        g.tag_action[t] = actions[t]
        g.tag_label[t] = labels[t]
    for c in range(n_cols - 2):
        g.col_label[c] = col_label[c]
    for c in range(n_cols):
        g.table[n * n_cols + c] = 0 if c == 0 else INF
    t = n - 1
    while t >= 0:
        # can an entity stay open from t into t + 1?
        nxt_ok = t + 1 < n and (constraints == NULL or constraints[t + 1] != 1)
        # no open entity: Out, Unit-any, Begin-any
        best = _tag_loss(g, t, OUT, 0) + g.table[(t + 1) * n_cols]
        for c in range(1 if has_other else 2, n_cols):
            v = _tag_loss(g, t, UNIT, c) + g.table[(t + 1) * n_cols]
            if v < best:
                best = v
            if nxt_ok:
                v = _tag_loss(g, t, BEGIN, c) + g.table[(t + 1) * n_cols + c]
                if v < best:
                    best = v
        g.table[t * n_cols] = best
        # open entity of column c: Last or In
        for c in range(1, n_cols):
            best = _tag_loss(g, t, LAST, c) + g.table[(t + 1) * n_cols]
            if nxt_ok:
                v = _tag_loss(g, t, IN, c) + g.table[(t + 1) * n_cols + c]
                if v < best:
                    best = v
            g.table[t * n_cols + c] = best
        t -= 1
