# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""GreedyBatch and BeamBatch: the parse states of a batch of docs, stepped together.

Rows. Every per-step array (contexts, valid masks, scores, costs) has one row per *active*
state: a state that is not final, in the order of `active` (GreedyBatch) or of the live
slots of each doc (BeamBatch). Context entries are rows of the batch's token matrix: doc d's
token i is row `offsets[d] + i` (docs concatenated in order), -1 for an empty slot.

Sentence constraints (`sent_starts`) use the Doc's `sent_start` convention per token:
1 must start a sentence, -1 must not, 0 free; give them concatenated over the batch.
"""
from libc.math cimport INFINITY, log
from libc.stdint cimport int8_t, uint8_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memset

import numpy

from ._state cimport (
    KIND_PARSER, StateC, fill_context, state_clone, state_copy, state_free, state_is_final,
    state_new,
)
from .gold cimport Gold, GoldC
from .system cimport (
    SystemC, TransitionSystem, sys_best_valid, sys_set_costs, sys_set_valid,
    sys_static_oracle, sys_transition,
)

from .biluo cimport BEGIN, LAST, OUT, UNIT


cdef tuple _prepare(TransitionSystem system, lengths, sent_starts):
    lens = numpy.ascontiguousarray(lengths, dtype=numpy.int32).reshape(-1)
    if (lens < 0).any():
        raise ValueError("Doc lengths must be >= 0.")
    total = int(lens.sum())
    if sent_starts is None:
        cons = None
    else:
        cons = numpy.ascontiguousarray(sent_starts, dtype=numpy.int8).reshape(-1)
        if cons.shape[0] != total:
            raise ValueError(f"sent_starts has {cons.shape[0]} entries for {total} tokens "
                             "in the batch; give one per token, docs concatenated.")
    offsets = numpy.zeros(len(lens), dtype=numpy.int64)
    if len(lens) > 1:
        numpy.cumsum(lens[:-1], out=offsets[1:])
    return lens, cons, offsets


cdef const GoldC** _gold_table(TransitionSystem system, lengths, golds) except NULL:
    """C pointers of a list of Gold (one per doc, made by this system for a doc of the same
    length); the list must outlive their use."""
    cdef int n = len(lengths)
    if len(golds) < n:
        raise ValueError(f"Got {len(golds)} golds for {n} docs; give one Gold per doc.")
    cdef Gold g
    for i in range(n):
        g = golds[i]
        if g is None or g.kind != system.c.kind or g.length != lengths[i]:
            raise ValueError(f"golds[{i}] is {g!r} for a doc of {lengths[i]} tokens; give "
                             f"the Gold that {type(system).__name__}.gold() made for doc {i}.")
    cdef const GoldC** table = <const GoldC**>malloc((n if n else 1) * sizeof(GoldC*))
    if table == NULL:
        raise MemoryError()
    for i in range(n):
        g = golds[i]
        table[i] = &g.c
    return table


cdef tuple action_table(actions, int n_states):
    """One action sequence per state as flat C arrays: (flat int32 (total,), starts int64
    (n_states,), lengths int32 (n_states,)). `actions` is a sequence of n_states int
    sequences (state i's classes, in order)."""
    seqs = list(actions)
    if len(seqs) != n_states:
        raise ValueError(f"Got {len(seqs)} action sequences for {n_states} states; give "
                         "one sequence of class ids per state, in state order.")
    arrays = [numpy.asarray(seq, dtype=numpy.int64).reshape(-1) for seq in seqs]
    lengths = numpy.asarray([len(a) for a in arrays], dtype=numpy.int32)
    starts = numpy.zeros(n_states, dtype=numpy.int64)
    if n_states > 1:
        numpy.cumsum(lengths[:-1], out=starts[1:])
    flat = numpy.concatenate(arrays) if arrays else numpy.zeros(0, dtype=numpy.int64)
    if flat.size and (flat.min() < -1 or flat.max() > numpy.iinfo(numpy.int32).max):
        raise ValueError("Action sequences hold class ids out of range; give class ids "
                         "of this batch's transition system.")
    return (numpy.ascontiguousarray(flat, dtype=numpy.int32), starts, lengths)


cdef object _parse_of(const StateC* st):
    """(heads, labels) int32 arrays of a parser state (-1 where not set yet)."""
    n = st.length
    heads = numpy.empty(n, dtype=numpy.int32)
    labels = numpy.empty(n, dtype=numpy.int32)
    cdef int[::1] h = heads
    cdef int[::1] lab = labels
    for i in range(n):
        h[i] = st.heads[i]
        lab[i] = st.labels[i]
    return heads, labels


cdef object _tags_of(const StateC* st):
    tags = numpy.empty(st.length, dtype=numpy.int32)
    cdef int[::1] t = tags
    for i in range(st.length):
        t[i] = st.tags[i]
    return tags


cdef object _history_of(const StateC* st):
    n = min(st.n_hist, st.hist_capacity)
    out = numpy.empty(n, dtype=numpy.int32)
    cdef int[::1] o = out
    for i in range(n):
        o[i] = st.history[i]
    return out


cdef list _entities_of(TransitionSystem system, const StateC* st):
    """[(start, end, label id)] from a NER state's tags (closed entities only)."""
    cdef const SystemC* sys = &system.c
    ents = []
    start = -1
    for i in range(st.length):
        clas = st.tags[i]
        if clas < 0:
            break
        action = sys.actions[clas]
        label = sys.labels[clas]
        if action == BEGIN:
            start = i
        elif action == LAST:
            if start >= 0:
                ents.append((start, i + 1, label))
            start = -1
        elif action == UNIT:
            ents.append((i, i + 1, label))
            start = -1
        elif action == OUT:
            start = -1
    return ents


cdef class GreedyBatch:
    """One state per doc, advanced one transition per step.

    Args:
        system: ArcEager or BiluoNER.
        lengths: tokens per doc (n_docs,).
        sent_starts: optional sentence constraints (sum(lengths),) int8, docs concatenated.
    """

    def __cinit__(self, *args, **kwargs):
        self.states = NULL
        self.active = NULL
        self.n_states = 0
        self.n_active = 0

    def __init__(self, TransitionSystem system, lengths=(), sent_starts=None):
        self.system = system
        lens, cons, offsets = _prepare(system, lengths, sent_starts)
        self._lengths = lens
        self._constraints = cons
        self._alloc(len(lens))
        cdef StateC* st
        cdef const int8_t[::1] cv
        cdef const int8_t* base = NULL
        if cons is not None and cons.shape[0] > 0:
            cv = cons
            base = &cv[0]
        cdef const int8_t* cptr
        cdef int d
        for d in range(len(lens)):
            cptr = NULL
            if base != NULL:
                cptr = base + <long>offsets[d]
            st = state_new(system.c.kind, <int>lens[d], <int>offsets[d], d, cptr)
            if st == NULL:
                raise MemoryError()
            st.end_phase = system.c.end_phase
            self.states[d] = st
        self.c_refresh_active()

    def _alloc(self, int n):
        self.states = <StateC**>calloc(n if n else 1, sizeof(StateC*))
        self.active = <int*>malloc((n if n else 1) * sizeof(int))
        if self.states == NULL or self.active == NULL:
            raise MemoryError()
        self.n_states = n

    def __dealloc__(self):
        if self.states != NULL:
            for i in range(self.n_states):
                state_free(self.states[i])
        free(self.states)
        free(self.active)

    # --- C API --------------------------------------------------------------------------

    cdef int c_refresh_active(self) noexcept nogil:
        """Recompute `active` (states not final); returns how many there are."""
        cdef int i, n = 0
        for i in range(self.n_states):
            if not state_is_final(self.states[i]):
                self.active[n] = i
                n += 1
        self.n_active = n
        return n

    cdef int c_fill_context(self, int* out, int n_feats) noexcept nogil:
        """Contexts of the active states into out (n_active, n_feats); -1 on a bad width."""
        cdef int i
        for i in range(self.n_active):
            if fill_context(self.states[self.active[i]], out + i * n_feats, n_feats) < 0:
                return -1
        return 0

    cdef void c_set_valid(self, uint8_t* out) noexcept nogil:
        """Valid classes of the active states into out (n_active, n_moves)."""
        cdef int i
        cdef int n_moves = self.system.c.n_moves
        for i in range(self.n_active):
            sys_set_valid(&self.system.c, self.states[self.active[i]], out + i * n_moves)

    cdef int c_transition(self, const int* classes) noexcept nogil:
        """Apply classes[i] to the i-th active state, then refresh `active`; returns how
        many classes were invalid (those states are left unchanged)."""
        cdef int i, bad = 0
        for i in range(self.n_active):
            if sys_transition(&self.system.c, self.states[self.active[i]], classes[i]) < 0:
                bad += 1
        self.c_refresh_active()
        return bad

    cdef int c_greedy_step(self, const float* scores) noexcept nogil:
        """Apply each active state's best valid class by scores (n_active, n_moves); returns
        the number of states still active."""
        cdef int i, clas
        cdef int n_moves = self.system.c.n_moves
        cdef StateC* st
        for i in range(self.n_active):
            st = self.states[self.active[i]]
            clas = sys_best_valid(&self.system.c, st, scores + i * n_moves)
            if clas >= 0:
                sys_transition(&self.system.c, st, clas)
            else:
                st.steps_left = 0
        return self.c_refresh_active()

    cdef int c_apply_next(self, const int* actions, const long* starts, const int* lengths,
                          int* taken, int* bad_state, int* bad_step) noexcept nogil:
        """One step along given action sequences: each active state s takes its next class,
        actions[starts[s] + taken[s]], and taken[s] grows by one. A state whose sequence is
        used up is stopped (steps_left = 0, as `c_greedy_step` stops a state without a
        valid move); one given an invalid class is stopped too, and the first such (state,
        position) goes into bad_state / bad_step (left as they are when -1 is not there).
        Refreshes `active`; returns the number of states still active."""
        cdef int i, s, k
        cdef StateC* st
        for i in range(self.n_active):
            s = self.active[i]
            st = self.states[s]
            k = taken[s]
            if k >= lengths[s]:
                st.steps_left = 0
                continue
            taken[s] = k + 1
            if sys_transition(&self.system.c, st, actions[starts[s] + k]) < 0:
                st.steps_left = 0
                if bad_state[0] < 0:
                    bad_state[0] = s
                    bad_step[0] = k
        return self.c_refresh_active()

    # --- Python API ---------------------------------------------------------------------

    @property
    def n_states(self) -> int:
        return self.n_states

    @property
    def n_docs(self) -> int:
        return len(self._lengths)

    @property
    def n_active(self) -> int:
        return self.n_active

    @property
    def n_moves(self) -> int:
        return self.system.c.n_moves

    @property
    def active(self):
        """State indices of the active rows, int32 (n_active,)."""
        return numpy.asarray([self.active[i] for i in range(self.n_active)], dtype=numpy.int32)

    @property
    def doc_ids(self):
        """Doc index of each active row, int32 (n_active,)."""
        return numpy.asarray([self.states[self.active[i]].doc for i in range(self.n_active)],
                             dtype=numpy.int32)

    @property
    def offsets(self):
        """Row of each doc's first token in the batch's token matrix, int64 (n_docs,)."""
        lens = self._lengths
        out = numpy.zeros(len(lens), dtype=numpy.int64)
        if len(lens) > 1:
            numpy.cumsum(lens[:-1], out=out[1:])
        return out

    def is_final(self) -> bool:
        """True when no state can move any more."""
        return self.n_active == 0

    def get_context(self, int n_features, out=None):
        """Token rows the model reads, int32 (n_active, n_features); layouts in _state.pyx
        (parser 8 or 13, NER 3 or 6)."""
        if out is None:
            out = numpy.empty((self.n_active, n_features), dtype=numpy.int32)
        if out.shape != (self.n_active, n_features) or out.dtype != numpy.int32:
            raise ValueError(f"out must be int32 of shape ({self.n_active}, {n_features}).")
        cdef int[:, ::1] o = out
        cdef int rc = 0
        if self.n_active:
            rc = self.c_fill_context(&o[0, 0], n_features)
        if rc < 0:
            raise ValueError(f"No feature layout of width {n_features} for "
                             f"{type(self.system).__name__}; use "
                             f"{self.system.n_features(False)} or {self.system.n_features(True)}.")
        return out

    get_features = get_context

    def valid_mask(self, out=None):
        """Valid classes, bool (n_active, n_moves)."""
        n_moves = self.system.c.n_moves
        if out is None:
            out = numpy.zeros((self.n_active, n_moves), dtype=numpy.bool_)
        if out.shape != (self.n_active, n_moves):
            raise ValueError(f"out must have shape ({self.n_active}, {n_moves}).")
        cdef uint8_t[:, ::1] o = out.view(numpy.uint8)
        if self.n_active and n_moves:
            self.c_set_valid(&o[0, 0])
        return out

    def transition(self, class_ids):
        """Apply one class per active row; rows that become final drop out of `active`.

        Raises:
            ValueError: a class is invalid for its state (the other rows still moved).
        """
        cdef int[::1] c = numpy.ascontiguousarray(class_ids, dtype=numpy.int32).reshape(-1)
        if c.shape[0] != self.n_active:
            raise ValueError(f"Got {c.shape[0]} classes for {self.n_active} active states.")
        if self.n_active == 0:
            return
        bad = self.c_transition(&c[0])
        if bad:
            raise ValueError(f"{bad} of the classes given were invalid for their states; "
                             "mask the scores with valid_mask() before choosing.")

    def apply_actions(self, actions) -> int:
        """Advance every state along a given action sequence, in C without the GIL.

        The states move step by step together (as in parsing, so a batch advanced this way
        lists its active rows in the order a greedy run with the same moves had); a state
        whose sequence ends before it is final is stopped there (it counts as final, like
        a state `greedy_step` found no valid move for).

        Args:
            actions: one int sequence per state (n_states of them, in state order): the
                class ids state i takes next, from where it is now (e.g. another batch's
                `history(i)` from the same start, or the static oracle's classes).

        Returns:
            The number of steps taken.

        Raises:
            ValueError: an action was invalid for its state (named by state and position;
                that state stops there, the others run to the end).
        """
        flat, starts, lengths = action_table(actions, self.n_states)
        if len(flat) and flat.min() < 0:
            raise ValueError("apply_actions: class ids must be >= 0.")
        cdef const int[::1] f = flat if len(flat) else numpy.zeros(1, dtype=numpy.int32)
        cdef const long[::1] st = starts if len(starts) else numpy.zeros(1, dtype=numpy.int64)
        cdef const int[::1] ln = lengths if len(lengths) else numpy.zeros(1, dtype=numpy.int32)
        taken = numpy.zeros(max(self.n_states, 1), dtype=numpy.int32)
        cdef int[::1] t = taken
        cdef int bad_state = -1, bad_step = -1, steps = 0
        with nogil:
            while self.n_active > 0:
                self.c_apply_next(&f[0], &st[0], &ln[0], &t[0], &bad_state, &bad_step)
                steps += 1
        if bad_state >= 0:
            clas = int(flat[starts[bad_state] + bad_step])
            name = self.system.move_name(clas) if clas < self.system.c.n_moves else "no such class"
            raise ValueError(f"apply_actions: action {bad_step} of state {bad_state} (class "
                             f"{clas}, {name}) is invalid there; that state stopped. Give "
                             "classes the state can take (see valid_mask).")
        return steps

    def greedy_step(self, scores) -> int:
        """Apply the best valid class of each active row by scores (n_active, n_moves);
        returns how many states are still active."""
        cdef float[:, ::1] s = numpy.ascontiguousarray(scores, dtype=numpy.float32)
        if s.shape[0] != self.n_active or s.shape[1] != self.system.c.n_moves:
            raise ValueError(f"scores must have shape ({self.n_active}, {self.system.c.n_moves}).")
        if self.n_active == 0:
            return 0
        return self.c_greedy_step(&s[0, 0])

    def costs(self, golds, out=None, normalize=True):
        """Cost of each class against the golds (one Gold per doc, by doc index), float32
        (n_active, n_moves); invalid classes cost inf. See arc_eager.pyx / biluo.pyx."""
        n_moves = self.system.c.n_moves
        if out is None:
            out = numpy.empty((self.n_active, n_moves), dtype=numpy.float32)
        cdef float[:, ::1] o = out
        cdef const GoldC** table = _gold_table(self.system, self._lengths, golds)
        cdef int i
        cdef StateC* st
        cdef bint norm = normalize
        try:
            for i in range(self.n_active):
                st = self.states[self.active[i]]
                sys_set_costs(&self.system.c, st, table[st.doc], &o[i, 0], norm)
        finally:
            free(table)
        return out

    def cost_mask(self, golds):
        """Valid zero-cost classes, bool (n_active, n_moves)."""
        return self.costs(golds) == 0

    def oracle_classes(self, golds):
        """The static oracle's class for each active row, int32 (n_active,)."""
        out = numpy.empty(self.n_active, dtype=numpy.int32)
        cdef int[::1] o = out
        cdef const GoldC** table = _gold_table(self.system, self._lengths, golds)
        cdef int i
        cdef StateC* st
        for i in range(self.n_active):
            st = self.states[self.active[i]]
            o[i] = sys_static_oracle(&self.system.c, st, table[st.doc])
        free(table)
        return out

    def follow_oracle(self, golds) -> int:
        """Run every state to the end along the static oracle; returns the transitions made."""
        cdef const GoldC** table = _gold_table(self.system, self._lengths, golds)
        cdef int i, clas, total = 0
        cdef StateC* st
        with nogil:
            for i in range(self.n_active):
                st = self.states[self.active[i]]
                while not state_is_final(st):
                    clas = sys_static_oracle(&self.system.c, st, table[st.doc])
                    if clas < 0 or sys_transition(&self.system.c, st, clas) < 0:
                        break
                    total += 1
            self.c_refresh_active()
        free(table)
        return total

    def oracle_cuts(self, golds, int cut_size, first_cut=None):
        """States along each active state's static-oracle path, every cut_size transitions,
        each allowed cut_size transitions (update_with_oracle_cut_size).

        Args:
            golds: one Gold per doc.
            cut_size: transitions per piece (> 0).
            first_cut: length of the first piece (1..cut_size; default cut_size), e.g. drawn at
                random per batch so the cut points vary between epochs.

        Returns:
            A new GreedyBatch over the same docs (same doc indices, offsets and golds) with
            one state per piece. This batch is unchanged.
        """
        if cut_size <= 0:
            raise ValueError(f"cut_size must be > 0, got {cut_size}.")
        cdef int first = cut_size if first_cut is None else int(first_cut)
        if not 0 < first <= cut_size:
            raise ValueError(f"first_cut must be in 1..{cut_size}, got {first_cut}.")
        cdef const GoldC** table = _gold_table(self.system, self._lengths, golds)
        cdef StateC* walker
        cdef StateC* piece
        cdef int i, clas, step, limit
        pieces = []
        try:
            for i in range(self.n_active):
                walker = state_clone(self.states[self.active[i]])
                if walker == NULL:
                    raise MemoryError()
                walker.steps_left = -1
                step = 0
                limit = first
                while not state_is_final(walker):
                    if step == 0:
                        piece = state_clone(walker)
                        piece.steps_left = limit
                        pieces.append(<size_t>piece)
                    clas = sys_static_oracle(&self.system.c, walker, table[walker.doc])
                    if clas < 0 or sys_transition(&self.system.c, walker, clas) < 0:
                        break
                    step += 1
                    if step == limit:
                        step = 0
                        limit = cut_size
                state_free(walker)
        finally:
            free(table)
        cdef GreedyBatch out = GreedyBatch.__new__(GreedyBatch)
        out.system = self.system
        out._lengths = self._lengths
        out._constraints = self._constraints
        out._alloc(len(pieces))
        for i, ptr in enumerate(pieces):
            out.states[i] = <StateC*><size_t>ptr
        out.c_refresh_active()
        return out

    def copy(self):
        """An independent copy of every state."""
        cdef GreedyBatch out = GreedyBatch.__new__(GreedyBatch)
        out.system = self.system
        out._lengths = self._lengths
        out._constraints = self._constraints
        out._alloc(self.n_states)
        for i in range(self.n_states):
            out.states[i] = state_clone(self.states[i])
            if out.states[i] == NULL:
                raise MemoryError()
        out.c_refresh_active()
        return out

    def _state(self, int i):
        if not 0 <= i < self.n_states:
            raise IndexError(f"state {i} out of range 0..{self.n_states - 1}")
        return <size_t>self.states[i]

    def state_doc(self, int i) -> int:
        return (<StateC*><size_t>self._state(i)).doc

    def history(self, int i):
        """Classes applied to state i, int32."""
        return _history_of(<StateC*><size_t>self._state(i))

    def parse(self, int i):
        """(heads, labels) of parser state i: absolute heads (i for roots, -1 not yet) and
        label ids (-1 not yet), int32 (n_tokens,) each."""
        cdef StateC* st = <StateC*><size_t>self._state(i)
        if st.kind != KIND_PARSER:
            raise TypeError("parse() is for parser states; use entities() for NER.")
        return _parse_of(st)

    def tags(self, int i):
        """Class applied at each token of NER state i (-1 not yet), int32 (n_tokens,)."""
        cdef StateC* st = <StateC*><size_t>self._state(i)
        if st.kind == KIND_PARSER:
            raise TypeError("tags() is for NER states.")
        return _tags_of(st)

    def entities(self, int i) -> list:
        """[(start, end, label id)] of NER state i."""
        cdef StateC* st = <StateC*><size_t>self._state(i)
        if st.kind == KIND_PARSER:
            raise TypeError("entities() is for NER states.")
        return _entities_of(self.system, st)

    def stack(self, int i) -> list:
        """Parser state i's stack, bottom first (for tests and debugging)."""
        cdef StateC* st = <StateC*><size_t>self._state(i)
        return [st.stack[k] for k in range(st.depth)] if st.kind == KIND_PARSER else []

    def buffer_front(self, int i) -> int:
        return (<StateC*><size_t>self._state(i)).b0

    def open_entity(self, int i):
        """(start, label id) of NER state i's open entity, or None."""
        cdef StateC* st = <StateC*><size_t>self._state(i)
        return None if st.ent_start < 0 else (st.ent_start, st.ent_label)


cdef class BeamBatch:
    """Up to beam_width states per doc, ranked by cumulative score.

    `advance(scores)` expands every live state of every unfinished doc with each valid
    class (score = state score + scores[row, class]; scores should be log-probabilities),
    keeps finished states as candidates with their score, and keeps the beam_width best
    candidates per doc (ties: earlier state, then lower class). With beam_density > 0,
    candidates with score < best + log(beam_density) are dropped too (probability below
    beam_density times the best one's). A doc is done when all its live states are final.

    Args:
        system: ArcEager or BiluoNER.
        lengths: tokens per doc.
        beam_width: states kept per doc (>= 1).
        beam_density: 0..1, see above.
        sent_starts: optional sentence constraints, as for GreedyBatch.
    """

    def __cinit__(self, *args, **kwargs):
        self.states = NULL
        self.spare = NULL
        self.scores = NULL
        self.n_live = NULL
        self.active = NULL
        self.n_docs = 0

    def __init__(self, TransitionSystem system, lengths=(), int beam_width=4,
                 float beam_density=0.0, sent_starts=None):
        if beam_width < 1:
            raise ValueError(f"beam_width must be >= 1, got {beam_width}.")
        if not 0.0 <= beam_density <= 1.0:
            raise ValueError(f"beam_density must be in [0, 1], got {beam_density}.")
        self.system = system
        self.beam_width = beam_width
        self.beam_density = beam_density
        lens, cons, offsets = _prepare(system, lengths, sent_starts)
        self._lengths = lens
        self._constraints = cons
        cdef int n = len(lens)
        cdef int W = beam_width
        self.n_docs = n
        cdef StateC* st
        self.states = <StateC**>calloc(n * W + 1, sizeof(StateC*))
        self.spare = <StateC**>calloc(n * W + 1, sizeof(StateC*))
        self.scores = <float*>calloc(n * W + 1, sizeof(float))
        self.n_live = <int*>calloc(n + 1, sizeof(int))
        self.active = <int*>calloc(n * W + 1, sizeof(int))
        if (self.states == NULL or self.spare == NULL or self.scores == NULL
                or self.n_live == NULL or self.active == NULL):
            raise MemoryError()
        cdef const int8_t[::1] cv
        cdef const int8_t* base = NULL
        if cons is not None and cons.shape[0] > 0:
            cv = cons
            base = &cv[0]
        cdef const int8_t* cptr
        cdef int d, j, arr
        for d in range(n):
            cptr = NULL
            if base != NULL:
                cptr = base + <long>offsets[d]
            for j in range(W):
                for arr in range(2):
                    st = state_new(system.c.kind, <int>lens[d], <int>offsets[d], d, cptr)
                    if st == NULL:
                        raise MemoryError()
                    st.end_phase = system.c.end_phase
                    if arr == 0:
                        self.states[d * W + j] = st
                    else:
                        self.spare[d * W + j] = st
            self.n_live[d] = 1
        self.c_refresh_active()

    def __dealloc__(self):
        cdef int i
        if self.states != NULL and self.spare != NULL:
            for i in range(self.n_docs * self.beam_width):
                state_free(self.states[i])
                state_free(self.spare[i])
        free(self.states)
        free(self.spare)
        free(self.scores)
        free(self.n_live)
        free(self.active)

    # --- C API --------------------------------------------------------------------------

    cdef int c_refresh_active(self) noexcept nogil:
        cdef int d, j, n = 0
        cdef int W = self.beam_width
        for d in range(self.n_docs):
            for j in range(self.n_live[d]):
                if not state_is_final(self.states[d * W + j]):
                    self.active[n] = d * W + j
                    n += 1
        self.n_active = n
        return n

    cdef int c_fill_context(self, int* out, int n_feats) noexcept nogil:
        cdef int i
        for i in range(self.n_active):
            if fill_context(self.states[self.active[i]], out + i * n_feats, n_feats) < 0:
                return -1
        return 0

    cdef void c_set_valid(self, uint8_t* out) noexcept nogil:
        cdef int i
        cdef int n_moves = self.system.c.n_moves
        for i in range(self.n_active):
            sys_set_valid(&self.system.c, self.states[self.active[i]], out + i * n_moves)

    cdef int c_advance(self, const float* scores) noexcept nogil:
        """One beam step with scores (n_active, n_moves); returns the active count after,
        or -1 when out of memory."""
        cdef int W = self.beam_width
        cdef int n_moves = self.system.c.n_moves
        cdef const SystemC* sys = &self.system.c
        cdef int* row_of = <int*>malloc((self.n_docs * W + 1) * sizeof(int))
        cdef uint8_t* valid = <uint8_t*>malloc((n_moves + 1) * sizeof(uint8_t))
        cdef float* top_score = <float*>malloc(W * sizeof(float))
        cdef int* top_parent = <int*>malloc(W * sizeof(int))
        cdef int* top_class = <int*>malloc(W * sizeof(int))
        cdef float* new_scores = <float*>malloc(W * sizeof(float))
        cdef int i, d, j, c, k, n_top, slot, row
        cdef float cand, floor
        cdef StateC* tmp
        if (row_of == NULL or valid == NULL or top_score == NULL or top_parent == NULL
                or top_class == NULL or new_scores == NULL):
            free(row_of); free(valid); free(top_score); free(top_parent); free(top_class)
            free(new_scores)
            return -1
        for i in range(self.n_docs * W):
            row_of[i] = -1
        for i in range(self.n_active):
            row_of[self.active[i]] = i
        for d in range(self.n_docs):
            n_top = 0
            for j in range(self.n_live[d]):
                slot = d * W + j
                row = row_of[slot]
                if row < 0:
                    n_top = _offer(top_score, top_parent, top_class, n_top, W,
                                   self.scores[slot], j, -1)
                    continue
                sys_set_valid(sys, self.states[slot], valid)
                for c in range(n_moves):
                    if valid[c]:
                        cand = self.scores[slot] + scores[row * n_moves + c]
                        n_top = _offer(top_score, top_parent, top_class, n_top, W, cand, j, c)
            if n_top == 0:
                for j in range(self.n_live[d]):
                    self.states[d * W + j].steps_left = 0
                continue
            if self.beam_density > 0:
                floor = top_score[0] + log(self.beam_density)
                while n_top > 1 and top_score[n_top - 1] < floor:
                    n_top -= 1
            for k in range(n_top):
                state_copy(self.spare[d * W + k], self.states[d * W + top_parent[k]])
                if top_class[k] >= 0:
                    sys_transition(sys, self.spare[d * W + k], top_class[k])
                new_scores[k] = top_score[k]
            for k in range(W):
                tmp = self.states[d * W + k]
                self.states[d * W + k] = self.spare[d * W + k]
                self.spare[d * W + k] = tmp
            for k in range(n_top):
                self.scores[d * W + k] = new_scores[k]
            self.n_live[d] = n_top
        free(row_of); free(valid); free(top_score); free(top_parent); free(top_class)
        free(new_scores)
        return self.c_refresh_active()

    # --- Python API ---------------------------------------------------------------------

    @property
    def n_docs(self) -> int:
        return self.n_docs

    @property
    def n_active(self) -> int:
        return self.n_active

    @property
    def n_moves(self) -> int:
        return self.system.c.n_moves

    @property
    def doc_ids(self):
        """Doc index of each active row, int32 (n_active,)."""
        return numpy.asarray([self.active[i] // self.beam_width for i in range(self.n_active)],
                             dtype=numpy.int32)

    @property
    def active_scores(self):
        """Cumulative score of each active row, float32 (n_active,)."""
        return numpy.asarray([self.scores[self.active[i]] for i in range(self.n_active)],
                             dtype=numpy.float32)

    def is_final(self) -> bool:
        return self.n_active == 0

    def get_context(self, int n_features, out=None):
        """As GreedyBatch.get_context, one row per active beam state."""
        if out is None:
            out = numpy.empty((self.n_active, n_features), dtype=numpy.int32)
        cdef int[:, ::1] o = out
        if self.n_active and self.c_fill_context(&o[0, 0], n_features) < 0:
            raise ValueError(f"No feature layout of width {n_features} for "
                             f"{type(self.system).__name__}.")
        return out

    get_features = get_context

    def valid_mask(self, out=None):
        n_moves = self.system.c.n_moves
        if out is None:
            out = numpy.zeros((self.n_active, n_moves), dtype=numpy.bool_)
        cdef uint8_t[:, ::1] o = out.view(numpy.uint8)
        if self.n_active and n_moves:
            self.c_set_valid(&o[0, 0])
        return out

    def advance(self, scores) -> int:
        """One step of every unfinished doc's beam with scores (n_active, n_moves); returns
        the number of active rows after it."""
        cdef float[:, ::1] s = numpy.ascontiguousarray(scores, dtype=numpy.float32)
        if s.shape[0] != self.n_active or s.shape[1] != self.system.c.n_moves:
            raise ValueError(f"scores must have shape ({self.n_active}, {self.system.c.n_moves}).")
        if self.n_active == 0:
            return 0
        cdef int rc
        with nogil:
            rc = self.c_advance(&s[0, 0])
        if rc < 0:
            raise MemoryError()
        return rc

    def costs(self, golds, out=None, normalize=True):
        """As GreedyBatch.costs, one row per active beam state."""
        n_moves = self.system.c.n_moves
        if out is None:
            out = numpy.empty((self.n_active, n_moves), dtype=numpy.float32)
        cdef float[:, ::1] o = out
        cdef const GoldC** table = _gold_table(self.system, self._lengths, golds)
        cdef int i
        cdef StateC* st
        cdef bint norm = normalize
        for i in range(self.n_active):
            st = self.states[self.active[i]]
            sys_set_costs(&self.system.c, st, table[st.doc], &o[i, 0], norm)
        free(table)
        return out

    def _slot(self, int d, int k):
        if not 0 <= d < self.n_docs:
            raise IndexError(f"doc {d} out of range 0..{self.n_docs - 1}")
        if not 0 <= k < self.n_live[d]:
            raise IndexError(f"doc {d} has {self.n_live[d]} live states, asked for {k}")
        return <size_t>self.states[d * self.beam_width + k]

    def beam_size(self, int d) -> int:
        """Live states of doc d (ranked best first)."""
        return self.n_live[d]

    def beam_scores(self, int d):
        """Scores of doc d's live states, best first, float32."""
        W = self.beam_width
        return numpy.asarray([self.scores[d * W + k] for k in range(self.n_live[d])],
                             dtype=numpy.float32)

    def history(self, int d, int k=0):
        """Classes applied to doc d's k-th best state."""
        return _history_of(<StateC*><size_t>self._slot(d, k))

    def is_state_final(self, int d, int k=0) -> bool:
        return state_is_final(<StateC*><size_t>self._slot(d, k))

    def parse(self, int d, int k=0):
        """(heads, labels) of doc d's k-th best parser state (see GreedyBatch.parse)."""
        return _parse_of(<StateC*><size_t>self._slot(d, k))

    def entities(self, int d, int k=0) -> list:
        """[(start, end, label id)] of doc d's k-th best NER state."""
        return _entities_of(self.system, <StateC*><size_t>self._slot(d, k))


cdef int _offer(float* score, int* parent, int* clas, int n, int width, float cand,
                int p, int c) noexcept nogil:
    """Insert (cand, p, c) into the descending top list of at most width entries (a later
    candidate never displaces an equal one); returns the new length."""
    cdef int i
    if n == width and cand <= score[n - 1]:
        return n
    if n < width:
        n += 1
    i = n - 1
    while i > 0 and score[i - 1] < cand:
        score[i] = score[i - 1]
        parent[i] = parent[i - 1]
        clas[i] = clas[i - 1]
        i -= 1
    score[i] = cand
    parent[i] = p
    clas[i] = c
    return n
