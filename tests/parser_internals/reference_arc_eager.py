"""A plain-Python arc-eager system with the sentence Break move, written for clarity.

It mirrors the contract of native/parser/arc_eager.pyx (same moves, validity, costs, static
oracle and feature layouts) with different machinery: costs come from an explicit test of
which gold arcs are still reachable (cost = reachable gold arcs before the move minus
after it), and features from full child lists. The tests compare the two on random and
treebank trees, and check the costs against an exhaustive search.
"""
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

ROOT = "ROOT"
Move = Tuple[str, Optional[str]]  # ("S", None), ("D", None), ("L", "nsubj"), ("R", ...), ("B", "ROOT")


def move_name(move: Move) -> str:
    action, label = move
    return action if label is None else f"{action}-{label}"


@dataclass
class RefState:
    n: int
    constraints: Optional[Sequence[int]] = None  # 1 must start a sentence, -1 must not
    end_phase: bool = True  # the system allows the end phase's Right-Arc
    stack: List[int] = field(default_factory=list)
    b0: int = 0
    heads: List[int] = field(default_factory=list)
    labels: List[Optional[str]] = field(default_factory=list)
    closing: bool = False  # a Break (with the end phase) is emptying the stack

    def __post_init__(self):
        if not self.heads:
            self.heads = [-1] * self.n
            self.labels = [None] * self.n

    def copy(self) -> "RefState":
        return RefState(self.n, self.constraints, self.end_phase, list(self.stack), self.b0,
                        list(self.heads), list(self.labels), self.closing)

    def key(self):
        return (tuple(self.stack), self.b0, tuple(self.heads), tuple(self.labels),
                self.closing)

    @property
    def is_closing(self) -> bool:
        """The stack can no longer reach the buffer (empty, or a Break is closing)."""
        return self.b0 >= self.n or self.closing

    def constraint(self, i: int) -> int:
        if self.constraints is None or not 0 <= i < self.n:
            return 0
        return int(self.constraints[i])

    @property
    def is_final(self) -> bool:
        return self.b0 >= self.n and not self.stack

    def children(self, token: int) -> List[int]:
        return [i for i in range(self.n) if self.heads[i] == token and i != token]


def in_end_phase(st: RefState) -> bool:
    """The stack is closing and a headless S0 sits on another stack item (and the system
    has the end phase)."""
    return (st.end_phase and st.is_closing and len(st.stack) > 1
            and st.heads[st.stack[-1]] == -1)


def is_valid(st: RefState, move: Move, end_phase: bool = True) -> bool:
    """end_phase=False: the monotonic system alone (no end-phase Right-Arc)."""
    action = move[0]
    has_stack = bool(st.stack)
    has_buffer = st.b0 < st.n
    joins = st.constraint(st.b0) != 1
    closing = st.is_closing
    if action == "S":
        return has_buffer and not st.closing and (not has_stack or joins)
    if action == "D":
        return has_stack and (st.heads[st.stack[-1]] != -1 or closing)
    if action == "L":
        return has_stack and not closing and st.heads[st.stack[-1]] == -1 and joins
    if action == "R":
        if closing:  # the end phase: a headless S0 takes S1 as its head
            return end_phase and in_end_phase(st)
        return has_stack and joins
    if action == "B":
        left_kids = [c for c in st.children(st.b0) if c < st.b0] if has_buffer else []
        return (has_stack and not closing and not left_kids
                and st.constraint(st.b0) != -1)
    raise ValueError(action)


def apply(st: RefState, move: Move) -> RefState:
    """A new state after the move (assumed valid)."""
    st = st.copy()
    action, label = move
    if action == "S":
        st.stack.append(st.b0)
        st.b0 += 1
    elif action == "D":
        s0 = st.stack.pop()
        if st.heads[s0] == -1:
            st.heads[s0], st.labels[s0] = s0, ROOT
        if not st.stack:
            st.closing = False
    elif action == "L":
        s0 = st.stack.pop()
        st.heads[s0], st.labels[s0] = st.b0, label
    elif action == "R" and st.is_closing:
        s0 = st.stack.pop()
        st.heads[s0], st.labels[s0] = st.stack[-1], label
    elif action == "R":
        st.heads[st.b0], st.labels[st.b0] = st.stack[-1], label
        st.stack.append(st.b0)
        st.b0 += 1
    elif action == "B" and st.end_phase:
        st.closing = True
    elif action == "B":
        while st.stack:
            s0 = st.stack.pop()
            if st.heads[s0] == -1:
                st.heads[s0], st.labels[s0] = s0, ROOT
    return st


def _arc_reachable(st: RefState, dep: int, head: int, label: Optional[str],
                   on_stack, end_phase: bool) -> bool:
    """Can the gold arc head -> dep (head == dep: a root) still be built? end_phase: count
    the end phase's attachments (exact once the buffer is empty; before, the monotonic
    system's reachability is the one the costs follow)."""
    if st.heads[dep] != -1:
        if st.heads[dep] != head:
            return False
        return head == dep or label is None or st.labels[dep] == label
    if head == dep:
        return True  # a headless token can always become a root
    closing = st.is_closing
    if dep in on_stack:
        # a Left-Arc to a buffer token, or the end phase to the stack item right below it
        below = st.stack.index(dep) - 1
        return (not closing and head >= st.b0) or \
            (end_phase and below >= 0 and st.stack[below] == head)
    # dep is in the buffer
    return head >= st.b0 or (not closing and head in on_stack)


def loss_reachable(st: RefState, gold_heads, gold_labels, end_phase: bool = False) -> int:
    """Known gold arcs that can no longer be built."""
    lost = 0
    on_stack = set(st.stack)
    for dep, head in enumerate(gold_heads):
        if head is None or head < 0:
            continue
        if not _arc_reachable(st, dep, head, gold_labels[dep] if head != dep else None,
                              on_stack, end_phase):
            lost += 1
    return lost


def spurious_roots(st: RefState, gold_heads, closing: bool) -> int:
    """Roots that are not gold roots (known gold heads only); closing: also the bottom stack
    item when it is headless and not a gold root (it can only become a root)."""
    count = sum(1 for i, h in enumerate(st.heads)
                if h == i and gold_heads[i] is not None and 0 <= gold_heads[i] != i)
    if closing and st.stack:
        bottom = st.stack[0]
        gh = gold_heads[bottom]
        if st.heads[bottom] == -1 and gh is not None and 0 <= gh != bottom:
            count += 1
    return count


def cost(st: RefState, move: Move, gold_heads, gold_labels) -> int:
    """Arcs the move makes unreachable: by the end phase's reachability in the end phase,
    where spurious roots count too, by the monotonic system's before it."""
    end_phase = st.end_phase and st.is_closing
    after = apply(st, move)
    loss = loss_reachable(after, gold_heads, gold_labels, end_phase) - \
        loss_reachable(st, gold_heads, gold_labels, end_phase)
    if end_phase:
        loss += spurious_roots(after, gold_heads, after.is_closing) - \
            spurious_roots(st, gold_heads, True)
    return loss


def final_loss(st: RefState, gold_heads, gold_labels) -> int:
    """LAS errors of a final state against the known gold (roots: head only)."""
    lost = 0
    for i, head in enumerate(gold_heads):
        if head is None or head < 0:
            continue
        if st.heads[i] != head:
            lost += 1
        elif head != i and gold_labels[i] is not None and st.labels[i] != gold_labels[i]:
            lost += 1
    return lost


def all_moves(labels: Sequence[str]) -> List[Move]:
    """Moves in the native class order for a table built with these labels."""
    moves: List[Move] = [("S", None), ("D", None), ("B", ROOT)]
    for label in labels:
        moves += [("L", label), ("R", label)]
    return moves


def gold_sent_starts(gold_heads) -> List[int]:
    """1 at the left edge of every root's subtree (all heads known)."""
    n = len(gold_heads)
    roots = []
    for i in range(n):
        r = i
        for _ in range(n + 1):
            if gold_heads[r] == r:
                break
            r = gold_heads[r]
        roots.append(r)
    return [1 if i == 0 or roots[i] != roots[i - 1] else 0 for i in range(n)]


def static_oracle(st: RefState, gold_heads, gold_labels, sent_starts) -> Move:
    """Eager static oracle: Break at a gold sentence start, Left, Right, Reduce of a finished
    S0, else Shift."""
    if not st.stack:
        return ("S", None)
    if st.is_closing:
        return ("D", None)
    s0, b0 = st.stack[-1], st.b0
    if sent_starts[b0] == 1 and is_valid(st, ("B", ROOT)):
        return ("B", ROOT)
    if gold_heads[s0] == b0 and is_valid(st, ("L", gold_labels[s0])):
        return ("L", gold_labels[s0])
    if gold_heads[b0] == s0 and is_valid(st, ("R", gold_labels[b0])):
        return ("R", gold_labels[b0])
    if st.heads[s0] != -1 and not any(gold_heads[k] == s0 for k in range(b0, st.n)
                                      if k != s0):
        return ("D", None)
    return ("S", None)


def context(st: RefState, n_feats: int) -> List[int]:
    """Feature positions (layouts as in native/parser/_state.pyx), offset 0."""

    def S(i):
        return st.stack[-1 - i] if i < len(st.stack) else -1

    def B(i):
        return st.b0 + i if st.b0 + i < st.n else -1

    def L(tok, k):
        if tok < 0:
            return -1
        kids = sorted(c for c in st.children(tok) if c < tok)
        return kids[k - 1] if len(kids) >= k else -1

    def R(tok, k):
        if tok < 0:
            return -1
        kids = sorted((c for c in st.children(tok) if c > tok), reverse=True)
        return kids[k - 1] if len(kids) >= k else -1

    if n_feats == 8:
        return [B(0), B(1), S(0), S(1), S(2), L(B(0), 1), L(S(0), 1), R(S(0), 1)]
    if n_feats == 13:
        return [B(0), B(1), S(0), S(1), S(2), L(B(0), 1), L(B(0), 2), L(S(0), 1),
                L(S(0), 2), R(S(0), 1), R(S(0), 2), L(S(1), 1), R(S(1), 1)]
    raise ValueError(n_feats)


def oracle_parse(n: int, gold_heads, gold_labels) -> Tuple[List[Move], RefState]:
    """Follow the static oracle from the start; (moves, final state)."""
    st = RefState(n)
    starts = gold_sent_starts(gold_heads)
    moves = []
    while not st.is_final:
        move = static_oracle(st, gold_heads, gold_labels, starts)
        assert is_valid(st, move), (move, st)
        moves.append(move)
        st = apply(st, move)
    return moves, st


def best_loss(st: RefState, moves: Sequence[Move], gold_heads, gold_labels, memo,
              end_phase: bool = True) -> int:
    """Exhaustive search: the least final loss reachable from st. end_phase=False: with
    the monotonic moves only, and the LAS loss; True: all moves, and the LAS loss plus the
    spurious roots (the end phase's loss). memo must be the search's own."""
    key = st.key()
    if key in memo:
        return memo[key]
    if st.is_final:
        value = final_loss(st, gold_heads, gold_labels)
        if end_phase:
            value += spurious_roots(st, gold_heads, False)
    else:
        value = min(best_loss(apply(st, m), moves, gold_heads, gold_labels, memo, end_phase)
                    for m in moves if is_valid(st, m, end_phase))
    memo[key] = value
    return value
