# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Transition systems: the move table (class id <-> action, label) and the nogil dispatch.

`ArcEager` is the dependency parser's system (moves "S", "D", "L-label", "R-label",
"B-ROOT"); `BiluoNER` the entity recogniser's ("B-label", "I-label", "L-label", "U-label",
"O"). Both start with their unlabelled moves and grow with `add_label` / `add_action`;
new classes are appended, so a model's existing output rows keep their meaning.
"""
from libc.math cimport INFINITY
from libc.stdint cimport int8_t, uint8_t
from libc.stdlib cimport free, malloc, realloc

import numpy

from ._state cimport KIND_NER, KIND_PARSER, StateC
from .arc_eager cimport (
    BREAK, LEFT, N_PARSER_ACTIONS, REDUCE, RIGHT, SHIFT,
    ae_action_costs, ae_apply, ae_fill_gold, ae_gold_size, ae_label_cost, ae_static_oracle,
    ae_valid_actions,
)
from .biluo cimport (
    BEGIN, IN, LAST, N_NER_ACTIONS, OUT, UNIT,
    ner_apply, ner_cost, ner_fill_gold, ner_gold_size, ner_is_valid,
)
from .gold cimport Gold

PARSER_ACTIONS = ("S", "D", "L", "R", "B")
NER_ACTIONS = ("B", "I", "L", "U", "O")
ROOT_LABEL = "ROOT"


# --- nogil dispatch -----------------------------------------------------------------------

cdef int sys_class_of(const SystemC* sys, int action, int label) noexcept nogil:
    """Class id of (action, label), -1 when the table has no such move."""
    if action < 0 or action >= sys.n_actions or label < -1 or label >= sys.label_capacity:
        return -1
    return sys.lookup[action * (sys.label_capacity + 1) + label + 1]


cdef bint sys_is_valid(const SystemC* sys, const StateC* st, int clas) noexcept nogil:
    cdef bint valid[N_PARSER_ACTIONS]
    if clas < 0 or clas >= sys.n_moves:
        return False
    if sys.kind == KIND_PARSER:
        ae_valid_actions(st, valid)
        return valid[sys.actions[clas]]
    return ner_is_valid(st, sys.actions[clas], sys.labels[clas])


cdef int sys_set_valid(const SystemC* sys, const StateC* st, uint8_t* out) noexcept nogil:
    """out[c] = 1 for each valid class c (n_moves entries); returns how many are valid."""
    cdef bint valid[N_PARSER_ACTIONS]
    cdef int c, n = 0
    if sys.kind == KIND_PARSER:
        ae_valid_actions(st, valid)
        for c in range(sys.n_moves):
            out[c] = valid[sys.actions[c]]
            n += out[c]
    else:
        for c in range(sys.n_moves):
            out[c] = ner_is_valid(st, sys.actions[c], sys.labels[c])
            n += out[c]
    return n


cdef int sys_transition(const SystemC* sys, StateC* st, int clas) noexcept nogil:
    """Apply class clas and record it in the history; -1 (state unchanged) when invalid."""
    if not sys_is_valid(sys, st, clas):
        return -1
    if sys.kind == KIND_PARSER:
        ae_apply(st, sys.actions[clas], sys.labels[clas], sys.root_label)
    else:
        ner_apply(st, sys.actions[clas], sys.labels[clas], clas)
    if st.n_hist < st.hist_capacity:
        st.history[st.n_hist] = clas
    st.n_hist += 1
    if st.steps_left > 0:
        st.steps_left -= 1
    return 0


cdef void sys_set_costs(const SystemC* sys, const StateC* st, const GoldC* gold, float* out,
                        bint normalize) noexcept nogil:
    """out[c] = cost of class c against gold (n_moves entries), INFINITY when invalid. With
    normalize, the least valid cost is subtracted, so some valid class costs 0 even where
    the gold contradicts the state's sentence constraints."""
    cdef bint valid[N_PARSER_ACTIONS]
    cdef int base[N_PARSER_ACTIONS]
    cdef int c, a
    cdef float low = INFINITY
    if sys.kind == KIND_PARSER:
        ae_valid_actions(st, valid)
        ae_action_costs(st, gold, base)
        for c in range(sys.n_moves):
            a = sys.actions[c]
            if valid[a]:
                out[c] = base[a] + ae_label_cost(st, gold, a, sys.labels[c])
            else:
                out[c] = INFINITY
    else:
        for c in range(sys.n_moves):
            if ner_is_valid(st, sys.actions[c], sys.labels[c]):
                out[c] = ner_cost(st, gold, sys.actions[c], sys.labels[c])
            else:
                out[c] = INFINITY
    if normalize:
        for c in range(sys.n_moves):
            if out[c] < low:
                low = out[c]
        if low != INFINITY and low != 0:
            for c in range(sys.n_moves):
                out[c] -= low


cdef int _first_zero_cost(const SystemC* sys, const StateC* st, const GoldC* gold,
                          int prefer_action) noexcept nogil:
    cdef float* costs = <float*>malloc(sys.n_moves * sizeof(float))
    cdef int c, best = -1
    if costs == NULL:
        return -1
    sys_set_costs(sys, st, gold, costs, True)
    for c in range(sys.n_moves):
        if costs[c] == 0 and sys.actions[c] == prefer_action:
            best = c
            break
    if best < 0:
        for c in range(sys.n_moves):
            if costs[c] == 0:
                best = c
                break
    free(costs)
    return best


cdef int sys_static_oracle(const SystemC* sys, const StateC* st,
                           const GoldC* gold) noexcept nogil:
    """The gold move: for the parser the eager static oracle (ae_static_oracle), for NER the
    gold tag of B0. Where that move is not in the table, is invalid, or the gold is missing
    there, the first zero-cost class (preferring the same action; Out for NER). -1 when the
    state is final."""
    cdef int action, label = -1, clas
    if st.kind == KIND_PARSER:
        action = ae_static_oracle(st, gold, &label)
        if action < 0:
            return -1
        if action == BREAK:
            label = sys.root_label
        elif action == SHIFT or action == REDUCE:
            label = -1
        clas = sys_class_of(sys, action, label)
        if clas >= 0 and (action == SHIFT or action == REDUCE or label >= 0) \
                and sys_is_valid(sys, st, clas):
            return clas
        return _first_zero_cost(sys, st, gold, action)
    if st.b0 >= st.length:
        return -1
    action = gold.tag_action[st.b0]
    if action < 0:
        return _first_zero_cost(sys, st, gold, OUT)
    label = -1 if action == OUT else gold.tag_label[st.b0]
    clas = sys_class_of(sys, action, label)
    if clas >= 0 and sys_is_valid(sys, st, clas) and \
            ner_cost(st, gold, action, label) == 0:
        return clas
    return _first_zero_cost(sys, st, gold, action)


cdef int sys_best_valid(const SystemC* sys, const StateC* st,
                        const float* scores) noexcept nogil:
    """The valid class with the highest score (the first on ties); -1 when none is valid."""
    cdef bint valid[N_PARSER_ACTIONS]
    cdef int c, best = -1
    cdef float top = -INFINITY
    if sys.kind == KIND_PARSER:
        ae_valid_actions(st, valid)
        for c in range(sys.n_moves):
            if valid[sys.actions[c]] and (best < 0 or scores[c] > top):
                best = c
                top = scores[c]
    else:
        for c in range(sys.n_moves):
            if ner_is_valid(st, sys.actions[c], sys.labels[c]) and (best < 0 or scores[c] > top):
                best = c
                top = scores[c]
    return best


# --- Python-level move table --------------------------------------------------------------

cdef class TransitionSystem:
    """Move table shared by both systems. Use ArcEager or BiluoNER.

    Attributes:
        labels: label strings by label id.
        action_names: the action prefixes by action id.
    """

    def __cinit__(self, *args, **kwargs):
        self.c.actions = NULL
        self.c.labels = NULL
        self.c.lookup = NULL
        self.labels = []
        self._label_ids = {}
        self._names = []
        self._name_ids = {}

    def __dealloc__(self):
        free(self.c.actions)
        free(self.c.labels)
        free(self.c.lookup)

    cdef int _grow(self, int n_labels) except -1:
        """Make room for n_labels labels in the lookup table."""
        cdef int old_cap = self.c.label_capacity
        cdef int new_cap, a, l
        cdef int* table
        if n_labels <= old_cap and self.c.lookup != NULL:
            return 0
        new_cap = max(16, 2 * old_cap, n_labels)
        table = <int*>malloc(self.c.n_actions * (new_cap + 1) * sizeof(int))
        if table == NULL:
            raise MemoryError()
        for a in range(self.c.n_actions * (new_cap + 1)):
            table[a] = -1
        if self.c.lookup != NULL:
            for a in range(self.c.n_actions):
                for l in range(old_cap + 1):
                    table[a * (new_cap + 1) + l] = self.c.lookup[a * (old_cap + 1) + l]
            free(self.c.lookup)
        self.c.lookup = table
        self.c.label_capacity = new_cap
        return 0

    @property
    def n_moves(self) -> int:
        """Number of classes (model outputs)."""
        return self.c.n_moves

    @property
    def kind(self) -> int:
        return self.c.kind

    @property
    def move_names(self) -> list:
        """Class names by class id ("S", "L-nsubj", "B-PER", "O", ...)."""
        return list(self._names)

    def __len__(self):
        return self.c.n_moves

    def label_id(self, label) -> int:
        """Id of a label string, -1 when the table does not have it."""
        return self._label_ids.get(label, -1)

    def add_label(self, label: str) -> int:
        """Add the moves of a label (see the subclass); returns the label id."""
        raise NotImplementedError

    def _intern_label(self, label: str) -> int:
        if not isinstance(label, str) or not label:
            raise ValueError(f"A move label must be a non-empty string, got {label!r}.")
        lid = self._label_ids.get(label)
        if lid is None:
            lid = len(self.labels)
            self._grow(lid + 1)
            self.labels.append(label)
            self._label_ids[label] = lid
        return lid

    def _action_id(self, action) -> int:
        if isinstance(action, str):
            if action not in self.action_names:
                raise ValueError(f"Unknown action {action!r}: expected one of "
                                 f"{', '.join(self.action_names)}.")
            return self.action_names.index(action)
        action = int(action)
        if not 0 <= action < self.c.n_actions:
            raise ValueError(f"Action id {action} out of range 0..{self.c.n_actions - 1}.")
        return action

    def _name(self, int action, int label) -> str:
        prefix = self.action_names[action]
        return prefix if label < 0 else f"{prefix}-{self.labels[label]}"

    def _append(self, int action, int label) -> int:
        cdef int clas = sys_class_of(&self.c, action, label)
        cdef int cap
        if clas >= 0:
            return clas
        if self.c.n_moves == self.c.capacity:
            cap = max(16, 2 * self.c.capacity)
            actions = <int*>realloc(self.c.actions, cap * sizeof(int))
            if actions == NULL:
                raise MemoryError()
            self.c.actions = actions
            labels = <int*>realloc(self.c.labels, cap * sizeof(int))
            if labels == NULL:
                raise MemoryError()
            self.c.labels = labels
            self.c.capacity = cap
        clas = self.c.n_moves
        self.c.actions[clas] = action
        self.c.labels[clas] = label
        self.c.lookup[action * (self.c.label_capacity + 1) + label + 1] = clas
        self.c.n_moves += 1
        name = self._name(action, label)
        self._names.append(name)
        self._name_ids[name] = clas
        return clas

    def add_action(self, action, label=None) -> int:
        """Add one move (an action id or prefix, and a label for labelled actions) unless
        present; returns its class id."""
        raise NotImplementedError

    def class_of(self, name: str) -> int:
        """Class id of a move name, -1 when absent."""
        return self._name_ids.get(name, -1)

    def move_name(self, int clas) -> str:
        return self._names[clas]

    def decode(self, int clas) -> tuple:
        """(action prefix, label or None) of a class."""
        if not 0 <= clas < self.c.n_moves:
            raise IndexError(f"class {clas} out of range 0..{self.c.n_moves - 1}")
        label = self.c.labels[clas]
        return self.action_names[self.c.actions[clas]], (self.labels[label] if label >= 0 else None)

    def to_list(self) -> list:
        """Move names in class order; `from_list` rebuilds the same table."""
        return list(self._names)

    @classmethod
    def from_list(cls, names):
        system = cls()
        for name in names:
            prefix, _, label = name.partition("-")
            clas = system.add_action(prefix, label or None)
            if system.move_name(clas) != name:
                raise ValueError(f"Move {name!r} cannot be restored in class order: "
                                 f"got {system.move_name(clas)!r}.")
        return system

    def actions_array(self):
        """(action id per class, label id per class) as int32 arrays."""
        n = self.c.n_moves
        return (numpy.asarray(<int[:n]>self.c.actions, dtype=numpy.int32).copy() if n else
                numpy.zeros(0, numpy.int32),
                numpy.asarray(<int[:n]>self.c.labels, dtype=numpy.int32).copy() if n else
                numpy.zeros(0, numpy.int32))

    def _label_ids_of(self, labels, n, str what):
        """Label ids from strings/None/ints; strings the table lacks map to -1."""
        out = numpy.full(n, -1, dtype=numpy.int32)
        if labels is None:
            return out
        if len(labels) != n:
            raise ValueError(f"Got {len(labels)} {what} for {n} tokens; give one per token.")
        for i, lab in enumerate(labels):
            if lab is None or lab == "":
                continue
            if isinstance(lab, str):
                out[i] = self._label_ids.get(lab, -1)
            else:
                lab = int(lab)
                out[i] = lab if 0 <= lab < len(self.labels) else -1
        return out

    def __reduce__(self):
        return (_rebuild, (type(self), self.to_list(), self.c.end_phase))

    def __repr__(self):
        return f"{type(self).__name__}(n_moves={self.c.n_moves}, labels={len(self.labels)})"


cdef class ArcEager(TransitionSystem):
    """The arc-eager parser's moves: "S" (class 0), "D" (1), "B-ROOT" (2), then "L-label"
    and "R-label" for each label added. Label id 0 is "ROOT".

    Args:
        labels: dependency labels to add (each adds "L-label" and "R-label").
        end_phase: allow the end phase's Right-Arc (a headless S0 takes S1 as its head once
            the buffer is empty, and after a Break until the stack is empty; see
            native/parser/arc_eager.pyx). Off: the monotonic system of parsers trained
            before it existed.
    """

    def __init__(self, labels=(), end_phase=True):
        self.c.end_phase = 1 if end_phase else 0
        self.c.kind = KIND_PARSER
        self.c.n_actions = N_PARSER_ACTIONS
        self.action_names = PARSER_ACTIONS
        self._grow(16)
        self.c.root_label = self._intern_label(ROOT_LABEL)
        self._append(SHIFT, -1)
        self._append(REDUCE, -1)
        self._append(BREAK, self.c.root_label)
        for label in labels:
            self.add_label(label)

    def n_features(self, extra_state_tokens: bool = False) -> int:
        """Context width of `get_context`: 13 with extra state tokens, else 8."""
        return 13 if extra_state_tokens else 8

    @property
    def end_phase(self) -> bool:
        """Whether states of this system allow the end phase's Right-Arc (applies to
        batches made after it is set)."""
        return bool(self.c.end_phase)

    @end_phase.setter
    def end_phase(self, value: bool) -> None:
        self.c.end_phase = 1 if value else 0

    def add_label(self, label: str) -> int:
        """Add "L-label" and "R-label"; returns the label id."""
        lid = self._intern_label(label)
        self._append(LEFT, lid)
        self._append(RIGHT, lid)
        return lid

    def add_action(self, action, label=None) -> int:
        a = self._action_id(action)
        if a == SHIFT or a == REDUCE:
            return self._append(a, -1)
        if a == BREAK:
            if label not in (None, ROOT_LABEL):
                raise ValueError(f"Break is always labelled {ROOT_LABEL!r}, got {label!r}.")
            return self._append(a, self.c.root_label)
        if label is None:
            raise ValueError(f"Action {self.action_names[a]!r} needs a label.")
        return self._append(a, self._intern_label(label))

    def gold(self, heads, labels=None, sent_starts=None) -> Gold:
        """Gold for one doc.

        Args:
            heads: absolute head per token (n,): i for a root, -1 when unknown.
            labels: label per token (n,): strings (None / "" / labels the table lacks mean
                unknown) or label ids (-1 unknown). Roots' labels are ignored.
            sent_starts: per token truthy where a gold sentence starts, or None to derive
                them from the heads (left edges of root subtrees). Only the static oracle
                reads them (to Break at sentence starts).
        """
        cdef int[::1] h = numpy.ascontiguousarray(heads, dtype=numpy.int32)
        cdef int n = h.shape[0]
        cdef int[::1] lab = self._label_ids_of(labels, n, "labels")
        cdef int[::1] starts
        cdef Gold gold = Gold(KIND_PARSER, n)
        cdef int* block = gold.alloc(ae_gold_size(n))
        if sent_starts is not None:
            if len(sent_starts) != n:
                raise ValueError(f"Got {len(sent_starts)} sent_starts for {n} tokens.")
            starts = (numpy.asarray(sent_starts) == 1).astype(numpy.int32)
        if n:
            ae_fill_gold(&gold.c, &h[0], &lab[0],
                         &starts[0] if sent_starts is not None else NULL, block)
        return gold


def iob_to_biluo(iob, labels):
    """BILUO actions and labels from IOB codes (0 missing, 1 I, 2 O, 3 B) and labels.

    An I that follows O, another label or the doc start begins an entity; an I that follows
    a missing token continues one that began in the missing stretch.

    Returns:
        (actions, labels): int32 action ids (BEGIN..OUT, -1 missing) and the labels as given.
    """
    iob = numpy.asarray(iob, dtype=numpy.int64)
    n = len(iob)
    actions = numpy.full(n, -1, dtype=numpy.int32)
    labels = list(labels)

    def begins(i):
        if iob[i] == 3:
            return True
        if iob[i] != 1:
            return False
        return i == 0 or iob[i - 1] == 2 or (iob[i - 1] in (1, 3) and labels[i - 1] != labels[i])

    for i in range(n):
        code = iob[i]
        if code == 2:
            actions[i] = OUT
        elif code in (1, 3):
            cont = i + 1 < n and iob[i + 1] == 1 and labels[i + 1] == labels[i]
            if begins(i):
                actions[i] = BEGIN if cont else UNIT
            else:
                actions[i] = IN if cont else LAST
    return actions, labels


cdef class BiluoNER(TransitionSystem):
    """The entity recogniser's moves: "O" (class 0), then "B-", "I-", "L-", "U-label" for
    each label added.

    Args:
        labels: entity labels to add.
    """

    def __init__(self, labels=()):
        self.c.kind = KIND_NER
        self.c.n_actions = N_NER_ACTIONS
        self.c.root_label = -1
        self.action_names = NER_ACTIONS
        self._grow(16)
        self._append(OUT, -1)
        for label in labels:
            self.add_label(label)

    def n_features(self, extra_state_tokens: bool = False) -> int:
        """Context width of `get_context`: 6 with extra state tokens, else 3."""
        return 6 if extra_state_tokens else 3

    def add_label(self, label: str) -> int:
        """Add "B-", "I-", "L-" and "U-label"; returns the label id."""
        lid = self._intern_label(label)
        for action in (BEGIN, IN, LAST, UNIT):
            self._append(action, lid)
        return lid

    def add_action(self, action, label=None) -> int:
        a = self._action_id(action)
        if a == OUT:
            return self._append(a, -1)
        if label is None:
            raise ValueError(f"Action {self.action_names[a]!r} needs a label.")
        return self._append(a, self._intern_label(label))

    def gold(self, iob, labels=None, constraints=None) -> Gold:
        """Gold for one doc.

        Args:
            iob: per token 0 (missing), 1 (I), 2 (O) or 3 (B), as in `doc._cols["ent_iob"]`.
            labels: entity label per token (strings, None/"" unknown, or label ids).
            constraints: the sentence constraints the states will get (per token 1 = must
                start a sentence), or None.
        """
        iob = numpy.asarray(iob)
        n = len(iob)
        if labels is None:
            labels = [None] * n
        if len(labels) != n:
            raise ValueError(f"Got {len(labels)} labels for {n} tokens; give one per token.")
        actions, labels = iob_to_biluo(iob, labels)
        ids = numpy.full(n, -1, dtype=numpy.int32)
        unseen = {}
        for i in range(n):
            value = labels[i]
            if actions[i] < 0 or actions[i] == OUT or value is None or value == "":
                continue
            if isinstance(value, str):
                lid = self._label_ids.get(value)
                if lid is None:
                    lid = unseen.setdefault(value, -2 - len(unseen))
                ids[i] = lid
            else:
                lid = int(value)
                ids[i] = lid if 0 <= lid < len(self.labels) else -2
        present = sorted({int(x) for x in ids if x >= 0})
        cdef bint has_other = len(present) < len(self.labels)
        cdef int[::1] cols = numpy.asarray(present + [0], dtype=numpy.int32)
        cdef int[::1] act = numpy.ascontiguousarray(actions, dtype=numpy.int32)
        cdef int[::1] lab = ids
        cdef int n_cols = 2 + len(present)
        cdef const int8_t[::1] cons
        cdef Gold gold = Gold(KIND_NER, n)
        cdef int* block = gold.alloc(ner_gold_size(n, n_cols))
        if constraints is not None:
            if len(constraints) != n:
                raise ValueError(f"Got {len(constraints)} constraints for {n} tokens.")
            cons = numpy.ascontiguousarray(constraints, dtype=numpy.int8)
        ner_fill_gold(&gold.c, &act[0] if n else NULL, &lab[0] if n else NULL, n_cols,
                      &cols[0], has_other,
                      &cons[0] if (constraints is not None and n) else NULL, block)
        return gold


def _rebuild(cls, names, end_phase):
    """Unpickle a transition system (its move table and the end-phase setting)."""
    system = cls.from_list(names)
    if isinstance(system, ArcEager):
        system.end_phase = bool(end_phase)
    return system
