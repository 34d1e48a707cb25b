# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Owner of a GoldC. Built by `ArcEager.gold(...)` or `BiluoNER.gold(...)`, never directly."""
from libc.stdlib cimport free, malloc
from libc.string cimport memset


cdef class Gold:
    """Gold annotation of one doc for one transition system (see gold.pxd for the fields).

    Attributes:
        kind: 1 for the parser, 2 for the entity recogniser.
        length: tokens in the doc.
    """

    def __cinit__(self, int kind, int length):
        memset(&self.c, 0, sizeof(GoldC))
        self.kind = kind
        self.length = length
        self.c.kind = kind
        self.c.length = length

    cdef int* alloc(self, int n_ints) except NULL:
        """One block for every array of the gold (call once)."""
        if self.c._block != NULL:
            raise RuntimeError("Gold.alloc called twice")
        self.c._block = <int*>malloc((n_ints if n_ints > 0 else 1) * sizeof(int))
        if self.c._block == NULL:
            raise MemoryError()
        return self.c._block

    def __dealloc__(self):
        free(self.c._block)

    def __repr__(self):
        return f"Gold(kind={self.kind}, length={self.length})"
