# cython: language_level=3, boundscheck=False, wraparound=False
"""64-bit string hashing compatible with spaCy's StringStore.

MurmurHash64A (Austin Appleby's 64-bit MurmurHash2 variant, public domain algorithm) with
seed 1 over the UTF-8 bytes of the string. The value must match spaCy bit for bit, because
`.spacy` files store strings as these hashes.

Also MurmurHash3_x64_128 (with a 32-bit seed), which floret vectors tables hash character
ngrams with.
"""
from libc.stdint cimport uint32_t, uint64_t, uint8_t
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


# MurmurHash3_x64_128 (Austin Appleby's MurmurHash3, public domain algorithm): the hash that
# floret and spaCy's floret-mode Vectors apply to the UTF-8 bytes of each character ngram,
# with the table's hash_seed. Checked against a pure-Python reference in
# tests/test_vectors_floret.py.

cdef inline uint64_t _rotl64(uint64_t x, int r) noexcept nogil:
    return (x << r) | (x >> (64 - r))


cdef inline uint64_t _fmix64(uint64_t k) noexcept nogil:
    k ^= k >> 33
    k *= 0xff51afd7ed558ccdULL
    k ^= k >> 33
    k *= 0xc4ceb9fe1a85ec53ULL
    k ^= k >> 33
    return k


cdef void murmurhash3_x64_128(const void* key, Py_ssize_t length, uint32_t seed,
                              uint64_t* out) noexcept nogil:
    cdef const uint8_t* data = <const uint8_t*>key
    cdef Py_ssize_t n_blocks = length // 16
    cdef uint64_t h1 = seed
    cdef uint64_t h2 = seed
    cdef uint64_t c1 = 0x87c37b91114253d5ULL
    cdef uint64_t c2 = 0x4cf5ad432745937fULL
    cdef uint64_t k1, k2
    cdef Py_ssize_t i
    cdef int rest, j
    for i in range(n_blocks):
        memcpy(&k1, data + i * 16, 8)
        memcpy(&k2, data + i * 16 + 8, 8)
        k1 *= c1
        k1 = _rotl64(k1, 31)
        k1 *= c2
        h1 ^= k1
        h1 = _rotl64(h1, 27)
        h1 += h2
        h1 = h1 * 5 + 0x52dce729
        k2 *= c2
        k2 = _rotl64(k2, 33)
        k2 *= c1
        h2 ^= k2
        h2 = _rotl64(h2, 31)
        h2 += h1
        h2 = h2 * 5 + 0x38495ab5
    cdef const uint8_t* tail = data + n_blocks * 16
    rest = length & 15
    k1 = 0
    k2 = 0
    if rest > 8:
        for j in range(rest - 1, 7, -1):
            k2 ^= (<uint64_t>tail[j]) << ((j - 8) * 8)
        k2 *= c2
        k2 = _rotl64(k2, 33)
        k2 *= c1
        h2 ^= k2
    if rest > 0:
        for j in range(min(rest, 8) - 1, -1, -1):
            k1 ^= (<uint64_t>tail[j]) << (j * 8)
        k1 *= c1
        k1 = _rotl64(k1, 31)
        k1 *= c2
        h1 ^= k1
    h1 ^= <uint64_t>length
    h2 ^= <uint64_t>length
    h1 += h2
    h2 += h1
    h1 = _fmix64(h1)
    h2 = _fmix64(h2)
    h1 += h2
    h2 += h1
    out[0] = h1
    out[1] = h2


def murmurhash3_128(bytes data, uint32_t seed=0):
    """MurmurHash3_x64_128 of raw bytes.

    Args:
        data: the bytes to hash.
        seed: 32-bit seed.

    Returns:
        The two 64-bit halves (h1, h2) as Python ints.
    """
    cdef uint64_t out[2]
    cdef const char* ptr = data
    murmurhash3_x64_128(ptr, len(data), seed, out)
    return out[0], out[1]


def murmurhash3_128_strings(list texts, uint32_t seed=0):
    """MurmurHash3_x64_128 of the UTF-8 bytes of many strings.

    Args:
        texts: a list of str.
        seed: 32-bit seed.

    Returns:
        numpy uint64 array of shape (len(texts), 2): (h1, h2) per string.
    """
    cdef Py_ssize_t n = len(texts)
    out = numpy.empty((n, 2), dtype=numpy.uint64)
    cdef uint64_t[:, ::1] view = out
    cdef Py_ssize_t i
    cdef bytes data
    cdef const char* ptr
    for i in range(n):
        data = (<str>texts[i]).encode("utf8", "surrogatepass")
        ptr = data
        murmurhash3_x64_128(ptr, len(data), seed, &view[i, 0])
    return out
