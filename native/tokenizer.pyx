# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The tokenizer's hot loop: whitespace splitting, the chunk cache and the output arrays.

`TokenizerCore(split, split_final, add_string, make_doc)` turns a text into a Doc. It walks the text
once, cutting it into whitespace-separated chunks with spaCy's convention (one ' ' after a
token is that token's trailing whitespace; every other whitespace run is a token of its
own), and looks each chunk up in a cache holding the chunk's token IDs and lengths. Only a
cache miss calls back into Python: `split(chunk) -> list[str]` applies the rules (the
text's last chunk has its own cache and `split_final`, which may treat a final full stop
differently) and `add_string(str) -> int` stores each new token string. The token arrays are then handed to
`make_doc(text, orths, lengths, spaces, idx)`.

Cache entries point into two pools (token IDs, token lengths) as `offset << 24 | count`, so
a hit costs one dict lookup and two memcpy calls. The pools only grow; `clear()` empties
them together with the cache (the Tokenizer does so whenever its rules change) and the
cache is also cleared when it holds `max_entries` chunks, which bounds memory on corpora
with an open vocabulary.

Thread safety: the loop runs under the GIL and never lets go of it between a cache lookup
and the copy out of the pools; per-call buffers live on the stack or are malloc'ed per call.
"""
from cpython.dict cimport PyDict_GetItem
from cpython.long cimport PyLong_AsLongLong
from cpython.ref cimport PyObject
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memset

cimport numpy as cnp

cnp.import_array()

cdef extern from "Python.h":
    bint Py_UNICODE_ISSPACE(Py_UCS4 ch)

cdef enum:
    STACK_TOKENS = 512

cdef int COUNT_BITS = 24
cdef int64_t COUNT_MASK = (1 << 24) - 1


cdef class TokenizerCore:
    """Whitespace split + chunk cache + array filling. See the module docstring.

    Args:
        split: chunk (str without the splitting whitespace) -> list of token strings that
            concatenate to the chunk.
        split_final: the same for the last non-whitespace chunk of a text.
        add_string: str -> its uint64 ID, storing the string (`vocab.strings.add`).
        make_doc: (text, orths uint64 (n,), lengths int32 (n,), spaces bool (n,),
            idx int32 (n,) character offsets) -> Doc.
        max_entries: cache size at which the cache is emptied and refilled.
    """

    def __cinit__(self):
        self.pool_orths = NULL
        self.pool_lengths = NULL
        self.pool_size = 0
        self.pool_capacity = 0

    def __init__(self, split, split_final, add_string, make_doc,
                 Py_ssize_t max_entries=1_000_000):
        self.split = split
        self.split_final = split_final
        self.final_cache = {}
        self.add_string = add_string
        self.make_doc = make_doc
        self.cache = {}
        self.max_entries = max_entries
        self._reserve(4096)

    def __dealloc__(self):
        free(self.pool_orths)
        free(self.pool_lengths)

    def clear(self):
        """Forget every cached chunk (call after changing rules or special cases)."""
        self.cache = {}
        self.final_cache = {}
        self.pool_size = 0

    def __len__(self):
        return len(self.cache) + len(self.final_cache)

    cdef int _reserve(self, Py_ssize_t extra) except -1:
        cdef Py_ssize_t need = self.pool_size + extra
        if need <= self.pool_capacity:
            return 0
        cdef Py_ssize_t capacity = max(need, 2 * self.pool_capacity)
        cdef uint64_t* orths = <uint64_t*>realloc(self.pool_orths, capacity * sizeof(uint64_t))
        if orths == NULL:
            raise MemoryError()
        self.pool_orths = orths
        cdef int32_t* lengths = <int32_t*>realloc(self.pool_lengths, capacity * sizeof(int32_t))
        if lengths == NULL:
            raise MemoryError()
        self.pool_lengths = lengths
        self.pool_capacity = capacity
        return 0

    cdef int64_t _miss(self, str chunk, bint final) except -1:
        """Split a chunk with the Python rules, store its tokens in the pools, cache it.

        Returns `offset << 24 | count` of the tokens in the pools.
        """
        pieces = self.split_final(chunk) if final else self.split(chunk)
        cdef Py_ssize_t count = len(pieces)
        if len(self.cache) + len(self.final_cache) >= self.max_entries:
            self.clear()
        self._reserve(count)
        cdef Py_ssize_t offset = self.pool_size
        cdef Py_ssize_t k
        for k in range(count):
            piece = pieces[k]
            self.pool_orths[offset + k] = self.add_string(piece)
            self.pool_lengths[offset + k] = len(piece)
        self.pool_size += count
        if count >= COUNT_MASK:
            return (<int64_t>offset << COUNT_BITS) | COUNT_MASK
        cdef int64_t code = (<int64_t>offset << COUNT_BITS) | count
        if final:
            self.final_cache[chunk] = code
        else:
            self.cache[chunk] = code
        return code

    cdef Py_ssize_t _emit(self, str text, Py_ssize_t start, Py_ssize_t end,
                          uint64_t* out_orths, int32_t* out_lengths,
                          Py_ssize_t n_tokens, bint final) except -1:
        """Append the tokens of text[start:end] to the output buffers; return the new count."""
        chunk = text[start:end]
        cdef PyObject* found = PyDict_GetItem(self.final_cache if final else self.cache, chunk)
        cdef int64_t code
        if found == NULL:
            code = self._miss(chunk, final)
        else:
            code = PyLong_AsLongLong(<object>found)
        cdef Py_ssize_t offset = code >> COUNT_BITS
        cdef Py_ssize_t count = code & COUNT_MASK
        if found == NULL and count == COUNT_MASK:
            # too many tokens for the count field: the chunk was not cached, and its tokens
            # are the last ones in the pools
            count = self.pool_size - offset
        memcpy(out_orths + n_tokens, self.pool_orths + offset, count * sizeof(uint64_t))
        memcpy(out_lengths + n_tokens, self.pool_lengths + offset, count * sizeof(int32_t))
        return n_tokens + count

    def __call__(self, str text):
        """Tokenize `text` into a Doc whose text equals `text` exactly."""
        cdef Py_ssize_t n = len(text)
        cdef uint64_t stack_orths[STACK_TOKENS]
        cdef int32_t stack_lengths[STACK_TOKENS]
        cdef uint8_t stack_spaces[STACK_TOKENS]
        cdef uint64_t* out_orths = stack_orths
        cdef int32_t* out_lengths = stack_lengths
        cdef uint8_t* out_spaces = stack_spaces
        # Every token has at least one character, so n bounds the number of tokens.
        if n > STACK_TOKENS:
            out_orths = <uint64_t*>malloc(n * sizeof(uint64_t))
            out_lengths = <int32_t*>malloc(n * sizeof(int32_t))
            out_spaces = <uint8_t*>malloc(n * sizeof(uint8_t))
            if out_orths == NULL or out_lengths == NULL or out_spaces == NULL:
                free(out_orths)
                free(out_lengths)
                free(out_spaces)
                raise MemoryError()
        try:
            n_tokens = self._fill(text, out_orths, out_lengths, out_spaces)
            return self._make(text, n_tokens, out_orths, out_lengths, out_spaces)
        finally:
            if n > STACK_TOKENS:
                free(out_orths)
                free(out_lengths)
                free(out_spaces)

    cdef Py_ssize_t _fill(self, str text, uint64_t* out_orths, int32_t* out_lengths,
                          uint8_t* out_spaces) except -1:
        cdef Py_ssize_t n_tokens = 0
        cdef Py_ssize_t prev_tokens
        cdef Py_ssize_t start = 0
        cdef Py_ssize_t i = 0
        cdef bint in_space = False
        cdef bint is_space
        cdef Py_UCS4 c
        # the end of the last non-whitespace chunk
        cdef Py_ssize_t content_end = len(text)
        while content_end > 0 and Py_UNICODE_ISSPACE(text[content_end - 1]):
            content_end -= 1
        for c in text:
            is_space = Py_UNICODE_ISSPACE(c)
            if is_space != in_space:
                if start < i:
                    prev_tokens = n_tokens
                    n_tokens = self._emit(text, start, i, out_orths, out_lengths, n_tokens,
                                          i == content_end and not in_space)
                    memset(out_spaces + prev_tokens, 0, n_tokens - prev_tokens)
                # One plain space after a token is its trailing whitespace.
                if c == u' ' and n_tokens > 0 and not in_space:
                    out_spaces[n_tokens - 1] = 1
                    start = i + 1
                else:
                    start = i
                in_space = is_space
            i += 1
        if start < i:
            prev_tokens = n_tokens
            n_tokens = self._emit(text, start, i, out_orths, out_lengths, n_tokens,
                                  i == content_end and not in_space)
            memset(out_spaces + prev_tokens, 0, n_tokens - prev_tokens)
        return n_tokens

    cdef object _make(self, str text, Py_ssize_t n_tokens, uint64_t* out_orths,
                      int32_t* out_lengths, uint8_t* out_spaces):
        cdef cnp.npy_intp dims[1]
        dims[0] = n_tokens
        orths = cnp.PyArray_SimpleNew(1, dims, cnp.NPY_UINT64)
        lengths = cnp.PyArray_SimpleNew(1, dims, cnp.NPY_INT32)
        spaces = cnp.PyArray_SimpleNew(1, dims, cnp.NPY_BOOL)
        idx = cnp.PyArray_SimpleNew(1, dims, cnp.NPY_INT32)
        cdef int32_t* offsets = <int32_t*>cnp.PyArray_DATA(idx)
        cdef int32_t offset = 0
        cdef Py_ssize_t k
        if n_tokens:
            memcpy(cnp.PyArray_DATA(orths), out_orths, n_tokens * sizeof(uint64_t))
            memcpy(cnp.PyArray_DATA(lengths), out_lengths, n_tokens * sizeof(int32_t))
            memcpy(cnp.PyArray_DATA(spaces), out_spaces, n_tokens)
            for k in range(n_tokens):
                offsets[k] = offset
                offset += out_lengths[k] + out_spaces[k]
        return self.make_doc(text, orths, lengths, spaces, idx)
