"""Dropout masks for the fused layers.

On numpy a float32 generator is used (several times faster than `ops.get_dropout_mask`,
which draws float64); it is seeded from numpy's global state, so `fix_random_seed`
(the training `seed`) still makes runs reproducible. Other backends use thinc's ops.
"""
from typing import Tuple

import numpy
from thinc.api import Ops


def dropout_mask(ops: Ops, shape: Tuple[int, ...], rate: float | None):
    """A float32 mask of `shape`: 0 with probability `rate`, else 1 / (1 - rate).

    Returns None when `rate` is None or 0 (nothing to drop).
    """
    if not rate:
        return None
    if rate >= 1.0:
        return ops.alloc_f(shape)
    if ops.xp is not numpy:
        return ops.get_dropout_mask(shape, rate)
    rng = numpy.random.default_rng(numpy.random.randint(0, 2**31 - 1))
    keep = rng.random(shape, dtype=numpy.float32) >= rate
    return numpy.multiply(keep, numpy.float32(1.0 / (1.0 - rate)), dtype=numpy.float32)
