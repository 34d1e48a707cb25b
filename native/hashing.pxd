from libc.stdint cimport uint32_t, uint64_t


cdef uint64_t murmurhash64a(const void* key, Py_ssize_t length, uint64_t seed) noexcept nogil
cdef void murmurhash3_x64_128(const void* key, Py_ssize_t length, uint32_t seed,
                              uint64_t* out) noexcept nogil
cpdef uint64_t hash_utf8(bytes data)
cpdef uint64_t hash_string(str text)
