"""Cosine similarity: nearest rows of a table, batched (`Vectors.most_similar`), and the
`.similarity` of two vectors that Lexeme, Token, Span and Doc share.

Nearest rows: only rows that some key points to are candidates. Each batch of queries is normalised
and multiplied with the normalised candidates on the table's device (numpy or cupy), so
memory stays at batch_size x candidates floats; only the (batch, n) winners come back to
the host. Ties go to the lower row, so results do not depend on the batch size or the
device's partition order. All-zero vectors have similarity 0 with everything.
"""
import warnings
from typing import TYPE_CHECKING, Tuple

import numpy
from thinc.api import get_array_module

from .errors import Errors, Warnings

if TYPE_CHECKING:
    from .vectors import Vectors


def _to_host(array) -> numpy.ndarray:
    """A numpy copy of a cupy array (numpy arrays pass unchanged)."""
    return array if isinstance(array, numpy.ndarray) else array.get()


def normalize_rows(matrix):
    """Each row divided by its L2 norm (all-zero rows stay zero); float32, same device."""
    xp = get_array_module(matrix)
    matrix = xp.asarray(matrix, dtype="float32")
    norms = xp.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return matrix / norms


def top_n(sims: numpy.ndarray, n: int) -> numpy.ndarray:
    """int64 (batch, n): for each row of `sims` (host), the columns of its n largest values,
    best first, ties by lower column."""
    if n == 1:
        return numpy.argmax(sims, axis=1)[:, None]  # argmax returns the first maximum
    if n >= sims.shape[1]:
        return numpy.argsort(-sims, axis=1, kind="stable")[:, :n]
    picked = numpy.argpartition(-sims, n - 1, axis=1)[:, :n]
    values = numpy.take_along_axis(sims, picked, axis=1)
    # The partition may pick any of several equal values at the cut: where more columns
    # than were picked share the n-th value, redo the row with a stable sort.
    kth = values.min(axis=1, keepdims=True)
    ambiguous = numpy.nonzero((sims >= kth).sum(axis=1) > n)[0]
    for i in ambiguous:
        picked[i] = numpy.argsort(-sims[i], kind="stable")[:n]
    values = numpy.take_along_axis(sims, picked, axis=1)
    order = numpy.lexsort((picked, -values), axis=1)
    return numpy.take_along_axis(picked, order, axis=1)


def most_similar(vectors: "Vectors", queries, *, batch_size: int = 1024, n: int = 1,
                 sort: bool = True) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """See `Vectors.most_similar`. Results are always sorted best first (`sort` is kept
    for spaCy's signature; sorting n winners costs nothing next to the product)."""
    row2key = vectors.row2key()
    filled = numpy.asarray(sorted(row2key), dtype=numpy.int64)
    if n < 1 or len(filled) < n:
        raise ValueError(Errors.E071.format(n=n, n_rows=len(filled)))
    data = vectors.data
    xp = get_array_module(data)
    candidates = normalize_rows(data[filled if xp is numpy else xp.asarray(filled)])
    queries = xp.asarray(queries, dtype="float32")
    if queries.ndim == 1:
        queries = queries[None, :]
    n_queries = queries.shape[0]
    best = numpy.zeros((n_queries, n), dtype=numpy.int64)
    scores = numpy.zeros((n_queries, n), dtype=numpy.float32)
    for start in range(0, n_queries, max(1, int(batch_size))):
        batch = normalize_rows(queries[start:start + batch_size])
        sims = batch @ candidates.T
        stop = start + sims.shape[0]
        if xp is not numpy and n == 1:
            # on the GPU, only the winners leave the device
            cols = xp.argmax(sims, axis=1)
            best[start:stop, 0] = _to_host(cols)
            scores[start:stop, 0] = _to_host(sims[xp.arange(sims.shape[0]), cols])
            continue
        host = _to_host(sims)
        cols = top_n(host, n)
        best[start:stop] = cols
        scores[start:stop] = numpy.take_along_axis(host, cols, axis=1)
    rows = filled[best].astype(numpy.int32)
    lookup = numpy.vectorize(row2key.__getitem__, otypes=[numpy.uint64])
    keys = lookup(rows) if rows.size else numpy.zeros(rows.shape, dtype=numpy.uint64)
    return keys, rows, numpy.clip(scores, -1.0, 1.0)


def vector_norm(vector) -> float:
    """The L2 norm of a 1-d vector (numpy or cupy) as a Python float."""
    xp = get_array_module(vector)
    return float(xp.sqrt((vector.astype("float32") ** 2).sum())) if vector.size else 0.0


def cosine_similarity(obj: str, vector, other, *, has_keys: bool, compares: str,
                      warn_zero: bool = True, stacklevel: int = 3) -> float:
    """Cosine of `vector` (the `obj`'s, e.g. "Token") with `other.vector`, as spaCy's
    `.similarity`: W010 when the vocab's table has no keys (the result then compares
    `compares`), W011 and 0.0 when either vector is all zeros.

    Args:
        obj: the caller's class name, for the warnings.
        vector: float32 (width,).
        other: anything with `.vector` and `.vector_norm`.
        has_keys: whether the vocab's table maps any key (floret tables count as having).
        compares: what the vectors are without a table (e.g. "doc.tensor rows").
        warn_zero: warn on a zero vector (Doc and Span warn only when a side has no vector).
        stacklevel: of the warnings: the user's call that asked for the similarity.
    """
    if not has_keys:
        warnings.warn(Warnings.W010.format(obj=obj, what=compares), stacklevel=stacklevel)
    norm, other_norm = vector_norm(vector), other.vector_norm
    if norm == 0 or other_norm == 0:
        if warn_zero:
            warnings.warn(Warnings.W011.format(obj=obj), stacklevel=stacklevel)
        return 0.0
    xp = get_array_module(vector)
    other_vector = xp.asarray(other.vector, dtype="float32")
    return float(xp.dot(vector.astype("float32"), other_vector) / (norm * other_norm))
