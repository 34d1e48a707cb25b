"""Maxout followed by layer normalization, fused into one layer.

Equivalent to thinc's `Maxout(nO, nI, nP, normalize=True)` (`chain(Maxout, LayerNorm)`),
with the same parameter layout and initialisation, but one forward and one backward
function over numpy/cupy arrays: no intermediate layers, and gemm goes straight to the
array library's BLAS.
"""
from typing import Callable, Tuple

from thinc.api import Model
from thinc.initializers import glorot_uniform_init
from thinc.types import Floats2d
from thinc.util import get_width

# thinc's LayerNorm adds this to the variance.
LN_EPS = 1e-8


def MaxoutLN(nO: int | None = None, nI: int | None = None, nP: int = 3
             ) -> Model[Floats2d, Floats2d]:
    """Y = LayerNorm(max_p(X @ W[:, p].T + b[:, p])).

    Args:
        nO: output width.
        nI: input width (inferred at initialize when None).
        nP: number of maxout pieces.

    Params: W (nO, nP, nI) glorot-uniform, b (nO, nP) zeros, ln_G (nO) ones, ln_b (nO)
    zeros.
    """
    return Model("maxout_ln", forward, init=init, dims={"nO": nO, "nI": nI, "nP": nP},
                 params={"W": None, "b": None, "ln_G": None, "ln_b": None})


def init(model: Model, X: Floats2d | None = None, Y: Floats2d | None = None) -> None:
    if X is not None:
        model.set_dim("nI", get_width(X))
    if Y is not None:
        model.set_dim("nO", get_width(Y))
    nO, nP, nI = model.get_dim("nO"), model.get_dim("nP"), model.get_dim("nI")
    model.set_param("W", glorot_uniform_init(model.ops, (nO, nP, nI)))
    model.set_param("b", model.ops.alloc2f(nO, nP))
    model.set_param("ln_G", model.ops.alloc1f(nO) + 1)
    model.set_param("ln_b", model.ops.alloc1f(nO))


def forward(model: Model, X: Floats2d, is_train: bool) -> Tuple[Floats2d, Callable]:
    nO, nP, nI = model.get_dim("nO"), model.get_dim("nP"), model.get_dim("nI")
    xp = model.ops.xp
    # Pieces-major copy of W (nP * nO, nI): the pieces of a row are then contiguous
    # (N, nO) blocks, so the max is a few vectorised `maximum`s.
    W = xp.ascontiguousarray(model.get_param("W").transpose((1, 0, 2))).reshape((nP * nO, nI))
    G = model.get_param("ln_G")
    Z = X @ W.T
    Z += model.get_param("b").T.reshape((nP * nO,))
    Z3 = Z.reshape((Z.shape[0], nP, nO))
    best = Z3[:, 0].copy()
    for p in range(1, nP):
        xp.maximum(best, Z3[:, p], out=best)
    # Which piece won, as a mask (ties, which need exactly equal floats, share the gradient).
    winners = (Z3 == best[:, None, :]) if is_train else None
    del Z, Z3
    Xhat, inv_std = _normalize(best)
    Y = Xhat * G
    Y += model.get_param("ln_b")

    def backprop(dY: Floats2d) -> Floats2d:
        model.inc_grad("ln_b", dY.sum(axis=0))
        model.inc_grad("ln_G", (dY * Xhat).sum(axis=0))
        d_best = _backprop_normalize(dY * G, Xhat, inv_std)
        dZ = xp.multiply(winners, d_best[:, None, :], dtype="float32")
        dZ = dZ.reshape((dZ.shape[0], nP * nO))
        model.inc_grad("b", dZ.sum(axis=0).reshape((nP, nO)).T)
        model.inc_grad("W", (dZ.T @ X).reshape((nP, nO, nI)).transpose((1, 0, 2)))
        return dZ @ W

    return Y, backprop


def _normalize(X: Floats2d) -> Tuple[Floats2d, Floats2d]:
    """Rows scaled to zero mean and unit variance; also 1/std per row, shape (N, 1)."""
    Xhat = X - X.mean(axis=1, keepdims=True)
    var = (Xhat * Xhat).mean(axis=1, keepdims=True)
    var += LN_EPS
    inv_std = 1.0 / var ** 0.5
    Xhat *= inv_std
    return Xhat, inv_std


def _backprop_normalize(d_xhat: Floats2d, Xhat: Floats2d, inv_std: Floats2d) -> Floats2d:
    dX = d_xhat - d_xhat.mean(axis=1, keepdims=True)
    dX -= Xhat * (d_xhat * Xhat).mean(axis=1, keepdims=True)
    dX *= inv_std
    return dX
