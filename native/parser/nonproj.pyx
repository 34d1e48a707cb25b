# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Head-array kernels of pseudo-projective parsing (Nivre & Nilsson 2005).

Heads are absolute token indices: i for a root, -1 for an unknown head (no arc). An arc
head -> dep is non-projective when some token strictly between the two is not a descendant
of head. `lift` makes a tree projective by repeatedly lifting the shortest non-projective
arc (leftmost dependent on ties) to the head's head; the label decoration and the way back
(`deprojectivize`) live in nlp_core/parser_internals/nonproj.py.
"""
import numpy


cdef bint is_descendant(const int* heads, int n, int token, int ancestor) noexcept nogil:
    """Whether ancestor is on the head path from token (token itself excluded)."""
    cdef int steps = 0
    cdef int h
    while steps <= n:
        h = heads[token]
        if h < 0 or h == token:
            return False
        if h == ancestor:
            return True
        token = h
        steps += 1
    return False


cdef bint arc_is_nonproj(const int* heads, int n, int dep) noexcept nogil:
    cdef int head = heads[dep]
    cdef int lo, hi, k
    if head < 0 or head == dep:
        return False
    lo = head if head < dep else dep
    hi = dep if head < dep else head
    for k in range(lo + 1, hi):
        if not is_descendant(heads, n, k, head):
            return True
    return False


cdef int lift_all(int* heads, unsigned char* lifted, int n) noexcept nogil:
    """Lift until projective; marks lifted dependents; returns the number of lifts."""
    cdef int lifts = 0
    cdef int d, best, best_len, span, h
    while lifts <= n * n:
        best = -1
        best_len = n + 1
        for d in range(n):
            h = heads[d]
            if h < 0 or h == d:
                continue
            span = h - d if h > d else d - h
            if span < best_len and arc_is_nonproj(heads, n, d):
                best = d
                best_len = span
        if best < 0:
            break
        h = heads[best]
        heads[best] = best if (heads[h] == h or heads[h] < 0) else heads[h]
        lifted[best] = 1
        lifts += 1
    return lifts


def _checked(heads):
    arr = numpy.ascontiguousarray(heads, dtype=numpy.int32).reshape(-1).copy()
    n = arr.shape[0]
    if n and (arr.min() < -1 or arr.max() >= n):
        raise ValueError(f"Heads must be -1 (unknown) or token indices 0..{n - 1}, got "
                         f"{arr.min()}..{arr.max()}.")
    return arr


def nonproj_arcs(heads):
    """Dependents whose arc is non-projective, int32 ascending."""
    arr = _checked(heads)
    cdef int[::1] h = arr
    cdef int n = arr.shape[0]
    return numpy.asarray([d for d in range(n) if arc_is_nonproj(&h[0], n, d)],
                         dtype=numpy.int32)


def is_nonproj_tree(heads) -> bool:
    """Whether any arc is non-projective."""
    arr = _checked(heads)
    cdef int[::1] h = arr
    cdef int n = arr.shape[0]
    cdef int d
    for d in range(n):
        if arc_is_nonproj(&h[0], n, d):
            return True
    return False


def lift(heads):
    """Projective heads by lifting, and which dependents were lifted.

    Returns:
        (proj_heads int32 (n,), lifted bool (n,)).
    """
    arr = _checked(heads)
    cdef int n = arr.shape[0]
    mask = numpy.zeros(n, dtype=numpy.uint8)
    cdef int[::1] h = arr
    cdef unsigned char[::1] m = mask
    if n:
        with nogil:
            lift_all(&h[0], &m[0], n)
    return arr, mask.astype(bool)
