from libc.stdint cimport uint64_t


cdef uint64_t murmurhash64a(const void* key, Py_ssize_t length, uint64_t seed) noexcept nogil
cpdef uint64_t hash_utf8(bytes data)
cpdef uint64_t hash_string(str text)
