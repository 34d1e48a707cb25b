"""Pseudo-projective lifting over head arrays (see nonproj.pyx)."""

cdef bint is_descendant(const int* heads, int n, int token, int ancestor) noexcept nogil
cdef bint arc_is_nonproj(const int* heads, int n, int dep) noexcept nogil
cdef int lift_all(int* heads, unsigned char* lifted, int n) noexcept nogil
