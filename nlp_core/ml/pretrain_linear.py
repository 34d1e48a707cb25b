"""A linear layer whose products go straight to the array library's BLAS.

The same parameters and initialisation as thinc's `Linear` (W (nO, nI) Glorot-uniform, b
(nO) zeros), so weights are interchangeable. thinc's NumpyOps.gemm runs through blis,
which measured 2.8x slower here than numpy's `@` on the pretraining output layer's
shape ((450, 300) x (300, 2048), one thread); that product is the objective's largest.
"""
from typing import Callable, Tuple

from thinc.api import Model
from thinc.initializers import glorot_uniform_init
from thinc.types import Floats2d
from thinc.util import get_width


def BlasLinear(nO: int | None = None, nI: int | None = None) -> Model[Floats2d, Floats2d]:
    """Y = X @ W.T + b.

    Args:
        nO: output width.
        nI: input width (inferred at initialize when None).
    """
    return Model("blas_linear", forward, init=init, dims={"nO": nO, "nI": nI},
                 params={"W": None, "b": None})


def init(model: Model, X: Floats2d | None = None, Y: Floats2d | None = None) -> None:
    if X is not None:
        model.set_dim("nI", get_width(X))
    if Y is not None:
        model.set_dim("nO", get_width(Y))
    nO, nI = model.get_dim("nO"), model.get_dim("nI")
    model.set_param("W", glorot_uniform_init(model.ops, (nO, nI)))
    model.set_param("b", model.ops.alloc1f(nO))


def forward(model: Model, X: Floats2d, is_train: bool) -> Tuple[Floats2d, Callable]:
    W = model.get_param("W")
    Y = X @ W.T
    Y += model.get_param("b")

    def backprop(dY: Floats2d) -> Floats2d:
        model.inc_grad("b", dY.sum(axis=0))
        model.inc_grad("W", dY.T @ X)
        return dY @ W

    return Y, backprop
