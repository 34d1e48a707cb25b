"""Hash embedding of several attribute columns in one table.

Each attribute column i has its own block of `rows[i]` rows in one table E
(sum(rows), width). A value is hashed four times (MurmurHash3 with the column's seed, as
thinc's HashEmbed does) into its block, and its vector is the sum of those four rows, so
two values rarely share all four. All columns of all distinct words are gathered with one
call, and the backward pass scatters into one gradient table.
"""
from typing import Callable, Sequence, Tuple

import numpy
from thinc.api import Ops
from thinc.types import Floats2d

from .dropout import dropout_mask


def hash_keys(ops: Ops, values: numpy.ndarray, seeds: Sequence[int], rows: Sequence[int]):
    """Table rows for each value: uint32 (U * k, 4), row-major over (word, column).

    Args:
        values: uint64 (U, k) attribute values.
        seeds: k hash seeds.
        rows: k block sizes.
    """
    n, k = values.shape
    keys = ops.xp.empty((n, k, 4), dtype="uint32")
    offset = 0
    for j in range(k):
        column = ops.asarray(numpy.ascontiguousarray(values[:, j]), dtype="uint64")
        keys[:, j] = ops.hash(column, seeds[j]) % rows[j] + offset
        offset += rows[j]
    return keys.reshape((n * k, 4))


def embed_columns(ops: Ops, E: Floats2d, keys, n_columns: int, dropout: float,
                  inc_grad: Callable[[Floats2d], None], is_train: bool
                  ) -> Tuple[Floats2d, Callable[[Floats2d], None]]:
    """Sum the four rows of each key and concatenate the columns of a word.

    Args:
        E: the table (sum(rows), width).
        keys: uint32 (U * k, 4) from `hash_keys`.
        dropout: rate of one per-batch mask over each column's dimensions (training).
        inc_grad: receives dE.

    Returns:
        (U, k * width) and its backprop.
    """
    width = E.shape[1]
    n = keys.shape[0] // n_columns
    Y = ops.gather_add(E, keys).reshape((n, n_columns * width))
    mask = dropout_mask(ops, (n_columns * width,), dropout) if is_train else None
    if mask is not None:
        Y *= mask

    def backprop(dY: Floats2d) -> None:
        if mask is not None:
            dY = dY * mask
        dY = ops.as_contig(dY).reshape((n * n_columns, width))
        dE = ops.alloc2f(*E.shape)
        for c in range(keys.shape[1]):
            ops.scatter_add(dE, ops.as_contig(keys[:, c], dtype="int32"), dY)
        inc_grad(dE)

    return Y, backprop
