"""Nearest rows by cosine similarity, batched (`Vectors.most_similar`).

Only rows that some key points to are candidates. Each batch of queries is normalised
and multiplied with the normalised candidates on the table's device (numpy or cupy), so
memory stays at batch_size x candidates floats; only the (batch, n) winners come back to
the host. Ties go to the lower row, so results do not depend on the batch size or the
device's partition order. All-zero vectors have similarity 0 with everything.
"""
from typing import TYPE_CHECKING, Tuple

import numpy
from thinc.api import get_array_module

from .errors import Errors

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
