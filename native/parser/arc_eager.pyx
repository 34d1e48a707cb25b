# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Arc-eager transitions (Nivre 2003, 2008) with a sentence Break move.

The state holds a stack and a buffer (tokens b0 .. n-1, never reordered). Arcs are only
added, never removed (the system is monotonic), so every state's heads are a projective
forest and the dynamic oracle below is exact (Goldberg & Nivre 2012, 2013): the cost of a
move is the number of gold arcs still reachable before it and unreachable after it, and
following zero-cost moves from any reachable state gives the best tree still reachable.

Roots. A token that leaves the stack without a head becomes a root (head = itself, label
ROOT): Reduce does this for the stack top once the buffer is empty, Break for every headless
stack item. Each root's subtree is one sentence: arc-eager forests are projective, so the
subtrees are contiguous and the sentence starts are the roots' left edges.

The end phase (when the system has `end_phase` on, as parsers trained since it exists do;
a parser saved before keeps the monotonic system it was trained with). Once the buffer is
empty, and after a Break until the stack is empty (the sentence is "closing": nothing on
the stack can reach the buffer any more), a headless S0 above another stack item can also
take S1 as its head: Right-Arc then attaches S0 to S1 (instead of B0 to S0) and pops S0.
So a token the parser failed to attach before the buffer ran out need not become a root,
i.e. a sentence of its own; the model chooses between Right-Arc (attach) and Reduce (root),
as spaCy's non-monotonic system does with its Unshift. The costs of the moves before the end
phase are those of the monotonic system (exact for it): the end phase is a repair step the
oracle does not count on, since counting it would make the costs of earlier moves depend on
each other (an item left headless right above its gold head keeps that head from its
later buffer children). In the end phase every remaining arc (a headless item to the one
right below it, or a root) can be built together, and the costs there are exact too.

Costs in the end phase also count a spurious root: a token that is not a gold root but
becomes one although it could still take S1 as its head. Without that, a leftover whose
gold arc is already lost costs the same attached or as a root, and the oracle would not
teach the parser to avoid splitting off a one-token "sentence" (a stray comma, say). The
end-phase costs are exact for that loss (arc errors + spurious roots; the items' choices
are independent: each one attaches to the item below it or becomes a root).

Sentence constraints (`StateC.constraints`, from sentence boundaries already on the doc):
a token that must start a sentence cannot be pushed onto, or attached to, a non-empty stack;
a token that must not start one cannot follow a Break.

Costs count gold arcs (a root counts as an arc from a virtual root) with the LAS convention:
a token costs 1 when its head or its label ends up wrong. Unknown gold heads or labels
(-1) cost nothing.
"""
from ._state cimport B, KIND_PARSER, S, StateC, constraint
from .gold cimport GoldC


# --- helpers ------------------------------------------------------------------------------

cdef inline void _push(StateC* st, int token) noexcept nogil:
    st.stack[st.depth] = token
    st.depth += 1


cdef inline int _pop(StateC* st) noexcept nogil:
    st.depth -= 1
    return st.stack[st.depth]


cdef inline void _make_root(StateC* st, int token, int root_label) noexcept nogil:
    st.heads[token] = token
    st.labels[token] = root_label


cdef inline int _kids_from(const GoldC* g, int token, int first) noexcept nogil:
    """How many gold children of token are at positions >= first."""
    cdef int i = g.kids_start[token + 1] - 1
    cdef int count = 0
    while i >= g.kids_start[token] and g.kids[i] >= first:
        count += 1
        i -= 1
    return count


cdef inline bint _on_stack(const StateC* st, int token) noexcept nogil:
    cdef int i
    for i in range(st.depth):
        if st.stack[i] == token:
            return True
    return False


# --- Shift --------------------------------------------------------------------------------
# "S". Valid when the buffer is not empty and either the stack is empty or B0 is free to
# join the sentence on the stack (not constrained to start a new one).
# Does: push B0.
# Costs: the gold arcs between B0 and the stack: B0's gold head on the stack, and B0's
# gold children among the headless stack items (B0 can no longer take them).

cdef inline bint _closing(const StateC* st) noexcept nogil:
    """The buffer is out of reach of the stack: it is empty, or a Break (end phase) is
    closing the sentence on the stack."""
    return st.b0 >= st.length or st.closing


cdef inline bint shift_valid(const StateC* st) noexcept nogil:
    return (st.b0 < st.length and not st.closing
            and (st.depth == 0 or constraint(st, st.b0) != 1))


# --- Reduce -------------------------------------------------------------------------------
# "D". Valid when S0 has a head, or S0 has none and the buffer is empty (or a Break is
# closing the sentence).
# Does: pop S0; a headless S0 becomes a root (label ROOT).
# Costs: S0's gold children still in the buffer. In the end phase (a headless S0 on S1):
# 1 when S0 is not a gold root (a spurious root, see the module docstring), 1 more when its
# gold head is S1.

cdef inline bint reduce_valid(const StateC* st) noexcept nogil:
    return st.depth > 0 and (st.heads[S(st, 0)] >= 0 or _closing(st))


# --- Left-Arc -----------------------------------------------------------------------------
# "L-label". Valid when S0 has no head, the buffer is not empty and B0 may join S0's
# sentence.
# Does: attach S0 to B0 with the label; pop S0.
# Costs: S0's gold head when it is still reachable and is not B0 (a buffer token after B0,
# or the virtual root); S0's gold children in the buffer; 1 more when B0 is the gold head
# but the gold label differs.

cdef inline bint left_valid(const StateC* st) noexcept nogil:
    return (st.depth > 0 and not _closing(st) and st.heads[S(st, 0)] == -1
            and constraint(st, st.b0) != 1)


# --- Right-Arc ----------------------------------------------------------------------------
# "R-label". Valid when the stack and the buffer are not empty and B0 may join S0's
# sentence; in the end phase (empty buffer, or closing), when S0 has no head and S1 exists.
# Does: attach B0 to S0 with the label; push B0. End phase: attach S0 to S1; pop S0.
# Costs: B0's gold head when it is still reachable and is not S0 (deeper in the stack, later
# in the buffer, or the virtual root); B0's gold children among the headless stack items;
# 1 more when S0 is the gold head but the gold label differs. End phase: 1 when S0 is a
# gold root; 1 more when S1 is S0's gold head but the gold label differs.
# (S0 can have been pushed without joining S1's sentence only if it was free to, so the
# end-phase attachment never crosses a sentence constraint.)

cdef inline bint _end_phase(const StateC* st) noexcept nogil:
    return (st.end_phase and _closing(st) and st.depth > 1
            and st.heads[S(st, 0)] == -1)


cdef inline bint right_valid(const StateC* st) noexcept nogil:
    if _closing(st):
        return _end_phase(st)
    return st.depth > 0 and constraint(st, st.b0) != 1


# --- Break --------------------------------------------------------------------------------
# "B-ROOT". Valid when the stack and the buffer are not empty, B0 has no left children
# (so nothing before B0 hangs from it) and B0 is free to start a sentence.
# Does: pop the whole stack; headless items become roots (label ROOT). With the end phase,
# it starts closing the sentence instead: Reduce and the end phase's Right-Arc empty the
# stack, so a headless item can still take the item below it as its head. B0 then starts
# a sentence: nothing before it can attach to it or after it any more.
# Costs: the gold arcs between stack items and the buffer: gold children of stack items
# in the buffer, and buffer gold heads of headless stack items.

cdef inline bint break_valid(const StateC* st) noexcept nogil:
    return (st.depth > 0 and not _closing(st) and st.lchild[st.b0] == -1
            and constraint(st, st.b0) != -1)


# --- dispatch -----------------------------------------------------------------------------

cdef void ae_valid_actions(const StateC* st, bint* out) noexcept nogil:
    out[SHIFT] = shift_valid(st)
    out[REDUCE] = reduce_valid(st)
    out[LEFT] = left_valid(st)
    out[RIGHT] = right_valid(st)
    out[BREAK] = break_valid(st)


cdef bint ae_is_valid(const StateC* st, int action) noexcept nogil:
    if action == SHIFT:
        return shift_valid(st)
    elif action == REDUCE:
        return reduce_valid(st)
    elif action == LEFT:
        return left_valid(st)
    elif action == RIGHT:
        return right_valid(st)
    elif action == BREAK:
        return break_valid(st)
    return False


cdef void ae_apply(StateC* st, int action, int label, int root_label) noexcept nogil:
    """Apply a move (assumed valid: see ae_is_valid)."""
    cdef int s0, s1, b0
    if action == SHIFT:
        _push(st, st.b0)
        st.b0 += 1
    elif action == REDUCE:
        s0 = _pop(st)
        if st.heads[s0] == -1:
            _make_root(st, s0, root_label)
        if st.depth == 0:
            st.closing = 0
    elif action == LEFT:
        s0 = _pop(st)
        b0 = st.b0
        st.heads[s0] = b0
        st.labels[s0] = label
        st.lchild2[b0] = st.lchild[b0]
        st.lchild[b0] = s0
    elif action == RIGHT and _closing(st):  # end phase: S1 -> S0
        s0 = _pop(st)
        s1 = S(st, 0)  # S1 before the pop: the head
        st.heads[s0] = s1
        st.labels[s0] = label
        st.rchild2[s1] = st.rchild[s1]
        st.rchild[s1] = s0
    elif action == RIGHT:
        s0 = S(st, 0)
        b0 = st.b0
        st.heads[b0] = s0
        st.labels[b0] = label
        st.rchild2[s0] = st.rchild[s0]
        st.rchild[s0] = b0
        _push(st, b0)
        st.b0 += 1
    elif action == BREAK and st.end_phase:
        st.closing = 1
    elif action == BREAK:
        while st.depth > 0:
            s0 = _pop(st)
            if st.heads[s0] == -1:
                _make_root(st, s0, root_label)


cdef void ae_action_costs(const StateC* st, const GoldC* g, int* out) noexcept nogil:
    """Label-independent cost of each action (out has N_PARSER_ACTIONS slots); the entries
    of invalid actions are meaningless."""
    cdef int s0 = S(st, 0)
    cdef int s1 = S(st, 1)
    cdef int b0 = B(st, 0)
    cdef int i, k, x, gh, head_on_stack, kids_on_stack, s0_kids
    for i in range(N_PARSER_ACTIONS):
        out[i] = 0
    if _closing(st):  # only Reduce and the end phase's Right-Arc are valid
        if _end_phase(st):
            gh = g.heads[s0]
            if gh == s0:
                out[RIGHT] = 1
            elif gh >= 0:  # a spurious root (a sentence of its own), and maybe S1's arc
                out[REDUCE] = 2 if gh == s1 else 1
        return
    kids_on_stack = 0
    head_on_stack = 0
    if st.depth > 0:
        gh = g.heads[b0]
        if 0 <= gh < b0 and _on_stack(st, gh):
            head_on_stack = 1
        for i in range(g.kids_start[b0], g.kids_start[b0 + 1]):
            k = g.kids[i]
            if k >= b0:
                break
            if st.heads[k] == -1:
                kids_on_stack += 1
        out[SHIFT] = head_on_stack + kids_on_stack
        out[RIGHT] = kids_on_stack
        if gh == b0:
            out[RIGHT] += 1
        elif gh >= 0 and gh != s0 and (gh > b0 or head_on_stack):
            out[RIGHT] += 1
    if s0 >= 0:
        s0_kids = _kids_from(g, s0, b0)
        out[REDUCE] = s0_kids
        gh = g.heads[s0]
        out[LEFT] = s0_kids
        if gh >= 0 and gh != b0 and (gh == s0 or gh > b0):
            out[LEFT] += 1
        for i in range(st.depth):
            x = st.stack[i]
            out[BREAK] += _kids_from(g, x, b0)
            if st.heads[x] == -1 and g.heads[x] >= b0:
                out[BREAK] += 1


cdef int ae_label_cost(const StateC* st, const GoldC* g, int action, int label) noexcept nogil:
    """1 when the move attaches a token to its gold head with a label other than the gold
    one (a known gold label), else 0."""
    cdef int s0, s1, b0
    if action == LEFT:
        s0 = S(st, 0)
        b0 = st.b0
        if s0 >= 0 and g.heads[s0] == b0 and g.labels[s0] >= 0 and g.labels[s0] != label:
            return 1
    elif action == RIGHT:
        s0 = S(st, 0)
        b0 = st.b0
        if _closing(st):  # end phase: S1 -> S0
            s1 = S(st, 1)
            if s0 >= 0 and s1 >= 0 and g.heads[s0] == s1 and g.labels[s0] >= 0 \
                    and g.labels[s0] != label:
                return 1
        elif g.heads[b0] == s0 and g.labels[b0] >= 0 and g.labels[b0] != label:
            return 1
    return 0


cdef int ae_static_oracle(const StateC* st, const GoldC* g, int* label) noexcept nogil:
    """The action that rebuilds the gold tree from a state on its path, eagerly (Break at a
    gold sentence start, then Left, Right, Reduce of a finished S0, Shift); *label is set
    to the gold label for Left/Right (-1 when unknown). -1 when the state is final."""
    cdef int s0 = S(st, 0)
    cdef int b0 = B(st, 0)
    label[0] = -1
    if s0 < 0:
        return SHIFT if b0 >= 0 else -1
    if _closing(st):
        return REDUCE
    if g.sent_start[b0] == 1 and break_valid(st):
        return BREAK
    if g.heads[s0] == b0 and left_valid(st):
        label[0] = g.labels[s0]
        return LEFT
    if g.heads[b0] == s0 and right_valid(st):
        label[0] = g.labels[b0]
        return RIGHT
    if st.heads[s0] >= 0 and _kids_from(g, s0, b0) == 0:
        return REDUCE
    return SHIFT


# --- gold ---------------------------------------------------------------------------------

cdef int ae_gold_size(int length) noexcept nogil:
    return 5 * length + 1


cdef void ae_fill_gold(GoldC* g, const int* heads, const int* labels,
                       const int* sent_start, int* block) noexcept nogil:
    """Fill g's arrays inside block (ae_gold_size ints). heads: -1 unknown, i root, else
    the head; labels: -1 unknown; sent_start: 1 / 0 per token, or NULL to derive the
    sentence starts from the heads (left edges of root subtrees, where known)."""
    cdef int n = g.length
    cdef int i, h, steps, r, prev
    g.heads = block
    g.labels = block + n
    g.kids_start = block + 2 * n
    g.kids = block + 3 * n + 1
    g.sent_start = block + 4 * n + 1
    for i in range(n + 1):
        g.kids_start[i] = 0
    for i in range(n):
        h = heads[i]
        g.heads[i] = h if -1 <= h < n else -1
        g.labels[i] = labels[i]
        if g.heads[i] >= 0 and g.heads[i] != i:
            g.kids_start[g.heads[i] + 1] += 1
    for i in range(n):
        g.kids_start[i + 1] += g.kids_start[i]
    # fill children in ascending order, using sent_start as a temporary cursor
    for i in range(n):
        g.sent_start[i] = g.kids_start[i]
    for i in range(n):
        h = g.heads[i]
        if h >= 0 and h != i:
            g.kids[g.sent_start[h]] = i
            g.sent_start[h] += 1
    if sent_start != NULL:
        for i in range(n):
            g.sent_start[i] = 1 if sent_start[i] == 1 else 0
        return
    # derived: the root of each token (-1 when a head on the way is unknown or cyclic)
    prev = -1
    for i in range(n):
        r = i
        steps = 0
        while r >= 0 and g.heads[r] != r and steps <= n:
            r = g.heads[r]
            steps += 1
        if steps > n:
            r = -1
        g.sent_start[i] = 1 if (r >= 0 and (i == 0 or (prev >= 0 and prev != r))) else 0
        prev = r
