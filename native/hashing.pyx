# cython: language_level=3, boundscheck=False, wraparound=False
"""64-bit string hashing compatible with spaCy's StringStore.

MurmurHash64A (Austin Appleby's 64-bit MurmurHash2 variant, public domain algorithm) with
seed 1 over the UTF-8 bytes of the string. The value must match spaCy bit for bit, because
`.spacy` files store strings as these hashes.
"""
from libc.stdint cimport uint64_t, uint8_t
from libc.string cimport memcpy

import numpy


cdef uint64_t murmurhash64a(const void* key, Py_ssize_t length, uint64_t seed) noexcept nogil:
    cdef uint64_t m = 0xc6a4a7935bd1e995ULL
    cdef int r = 47
    cdef uint64_t h = seed ^ (<uint64_t>length * m)
    cdef const uint8_t* data = <const uint8_t*>key
    cdef Py_ssize_t n_blocks = length // 8
    cdef Py_ssize_t i
    cdef uint64_t k
    for i in range(n_blocks):
        # memcpy keeps the read unaligned-safe; the algorithm is defined on little-endian words
        memcpy(&k, data + i * 8, 8)
        k *= m
        k ^= k >> r
        k *= m
        h ^= k
        h *= m
    cdef const uint8_t* tail = data + n_blocks * 8
    cdef int rest = length & 7
    if rest >= 7:
        h ^= (<uint64_t>tail[6]) << 48
    if rest >= 6:
        h ^= (<uint64_t>tail[5]) << 40
    if rest >= 5:
        h ^= (<uint64_t>tail[4]) << 32
    if rest >= 4:
        h ^= (<uint64_t>tail[3]) << 24
    if rest >= 3:
        h ^= (<uint64_t>tail[2]) << 16
    if rest >= 2:
        h ^= (<uint64_t>tail[1]) << 8
    if rest >= 1:
        h ^= <uint64_t>tail[0]
        h *= m
    h ^= h >> r
    h *= m
    h ^= h >> r
    return h


cpdef uint64_t hash_utf8(bytes data):
    """Hash raw UTF-8 bytes.

    Args:
        data: the encoded string.

    Returns:
        The 64-bit MurmurHash64A value with seed 1.
    """
    cdef const char* ptr = data
    return murmurhash64a(ptr, len(data), 1)


cpdef uint64_t hash_string(str text):
    """Hash a string the way spaCy's `hash_string` does (UTF-8, seed 1)."""
    # surrogatepass keeps lone surrogates (which can come from JSON) hashable instead of raising
    cdef bytes data = text.encode("utf8", "surrogatepass")
    cdef const char* ptr = data
    return murmurhash64a(ptr, len(data), 1)


def hash_strings(list texts):
    """Hash many strings at once.

    Args:
        texts: a list of str.

    Returns:
        numpy uint64 array of shape (len(texts),).
    """
    cdef Py_ssize_t n = len(texts)
    out = numpy.empty(n, dtype=numpy.uint64)
    cdef uint64_t[::1] view = out
    cdef Py_ssize_t i
    cdef bytes data
    cdef const char* ptr
    for i in range(n):
        data = (<str>texts[i]).encode("utf8", "surrogatepass")
        ptr = data
        view[i] = murmurhash64a(ptr, len(data), 1)
    return out
