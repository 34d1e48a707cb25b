"""Mish followed by layer normalization, fused into one layer (thinc's
`Mish(nO, nI, normalize=True)` with the same parameters and initialisation)."""
from typing import Callable, Tuple

from thinc.api import Model
from thinc.initializers import glorot_uniform_init
from thinc.types import Floats2d
from thinc.util import get_width

from .maxout_ln import _backprop_normalize, _normalize


def MishLN(nO: int | None = None, nI: int | None = None) -> Model[Floats2d, Floats2d]:
    """Y = LayerNorm(mish(X @ W.T + b)).

    Params: W (nO, nI) glorot-uniform, b (nO) zeros, ln_G (nO) ones, ln_b (nO) zeros.
    """
    return Model("mish_ln", forward, init=init, dims={"nO": nO, "nI": nI},
                 params={"W": None, "b": None, "ln_G": None, "ln_b": None})


def init(model: Model, X: Floats2d | None = None, Y: Floats2d | None = None) -> None:
    if X is not None:
        model.set_dim("nI", get_width(X))
    if Y is not None:
        model.set_dim("nO", get_width(Y))
    nO, nI = model.get_dim("nO"), model.get_dim("nI")
    model.set_param("W", glorot_uniform_init(model.ops, (nO, nI)))
    model.set_param("b", model.ops.alloc1f(nO))
    model.set_param("ln_G", model.ops.alloc1f(nO) + 1)
    model.set_param("ln_b", model.ops.alloc1f(nO))


def forward(model: Model, X: Floats2d, is_train: bool) -> Tuple[Floats2d, Callable]:
    W = model.get_param("W")
    G = model.get_param("ln_G")
    Z = X @ W.T
    Z += model.get_param("b")
    Xhat, inv_std = _normalize(model.ops.mish(Z))
    Y = Xhat * G
    Y += model.get_param("ln_b")

    def backprop(dY: Floats2d) -> Floats2d:
        model.inc_grad("ln_b", dY.sum(axis=0))
        model.inc_grad("ln_G", (dY * Xhat).sum(axis=0))
        dZ = model.ops.backprop_mish(_backprop_normalize(dY * G, Xhat, inv_std), Z)
        model.inc_grad("b", dZ.sum(axis=0))
        model.inc_grad("W", dZ.T @ X)
        return dZ @ W

    return Y, backprop
