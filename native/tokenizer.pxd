from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t


cdef class TokenizerCore:
    cdef readonly dict cache
    cdef readonly dict final_cache
    cdef public Py_ssize_t max_entries
    cdef object split
    cdef object split_final
    cdef object add_string
    cdef object make_doc
    cdef uint64_t* pool_orths
    cdef int32_t* pool_lengths
    cdef Py_ssize_t pool_size
    cdef Py_ssize_t pool_capacity

    cdef int _reserve(self, Py_ssize_t extra) except -1
    cdef int64_t _miss(self, str chunk, bint final) except -1
    cdef Py_ssize_t _emit(self, str text, Py_ssize_t start, Py_ssize_t end,
                          uint64_t* out_orths, int32_t* out_lengths,
                          Py_ssize_t n_tokens, bint final) except -1
    cdef Py_ssize_t _fill(self, str text, uint64_t* out_orths, int32_t* out_lengths,
                          uint8_t* out_spaces) except -1
    cdef object _make(self, str text, Py_ssize_t n_tokens, uint64_t* out_orths,
                      int32_t* out_lengths, uint8_t* out_spaces)
