"""Convolution over token windows, batched in one padded array.

A batch of docs is laid out as one array (`Windowed`): each doc's token rows follow `pad`
zero rows, and `pad` zero rows close the array, so a window of `w <= pad` tokens either side
of any token reads only its own doc (plus zeros). A block (`residual_window`) gathers the
windows of all tokens of the batch with one fancy index, runs an inner layer on them as one
(n_tokens, (2w+1) * width) matrix, and adds the result to the token rows (a residual
connection); the zero rows stay zero, so blocks stack without re-padding. At inference on
CPU, a batch with more than STEP_ABOVE_BYTES of windows is gathered and run a slice of
tokens at a time instead, so no array of it passes glibc's mmap ceiling.
"""
from dataclasses import dataclass
from typing import Callable, List, Tuple, Union

import numpy
from thinc.api import Model
from thinc.types import Floats2d, Ragged

from ..errors import Errors
from .dropout import dropout_mask
from .featureextractor import split_rows

# At inference on CPU, a block whose batch has more than STEP_ABOVE_BYTES of token windows
# (glibc's largest mmap threshold: an array past it is mapped fresh at every call) predicts
# PREDICT_BYTES of windows at a time (`_residual_predict`).
STEP_ABOVE_BYTES = 32 * 2**20
PREDICT_BYTES = 4 * 2**20


@dataclass
class Windowed:
    """Token vectors of a batch in the padded layout.

    Attributes:
        data: float32 (n_rows, width): token rows and zero pad rows.
        rows: int64 (N,): the row of `data` holding each token, docs concatenated.
        lengths: int32 (n_docs,): tokens per doc.
        pad: zero rows before each doc and at the end.
    """

    data: Floats2d
    rows: numpy.ndarray
    lengths: numpy.ndarray
    pad: int

    def tokens(self) -> Floats2d:
        """(N, width): the token rows."""
        return self.data[self.rows]

    def with_data(self, data: Floats2d) -> "Windowed":
        return Windowed(data, self.rows, self.lengths, self.pad)


def token_rows(lengths: numpy.ndarray, pad: int) -> numpy.ndarray:
    """Row of each token in the padded layout: token t of doc d sits at t + pad * (d + 1)."""
    doc_of_token = numpy.repeat(numpy.arange(len(lengths)), lengths)
    return numpy.arange(int(lengths.sum())) + pad * (doc_of_token + 1)


def with_windows(layer: Model, pad: int) -> Model[List[Floats2d], List[Floats2d]]:
    """Run a `Windowed -> Windowed` layer on a list of per-doc arrays (or a Ragged, as an
    embedding such as StaticVectors returns; the output is a list either way).

    Args:
        layer: a stack of window blocks.
        pad: zero rows between docs; at least the window size of every block.
    """
    return Model("with_windows", _with_windows_forward, init=_with_windows_init,
                 layers=[layer], attrs={"pad": pad}, dims={"nO": None, "nI": None})


def _to_windowed(model: Model, Xs: Union[List[Floats2d], Ragged]) -> Windowed:
    pad = model.attrs["pad"]
    xp = model.ops.xp
    if isinstance(Xs, Ragged):
        lengths = numpy.asarray(model.ops.to_numpy(Xs.lengths), dtype=numpy.int32)
        tokens = Xs.data
    else:
        lengths = numpy.fromiter((len(x) for x in Xs), dtype=numpy.int32, count=len(Xs))
        tokens = xp.concatenate(Xs) if len(Xs) else None
    rows = token_rows(lengths, pad)
    width = tokens.shape[1] if tokens is not None else model.get_dim("nI")
    data = xp.zeros((int(lengths.sum()) + pad * (len(lengths) + 1), width), dtype="float32")
    if len(rows):
        data[model.ops.asarray(rows)] = tokens
    return Windowed(data, model.ops.asarray(rows), lengths, pad)


def _with_windows_forward(model: Model, Xs: Union[List[Floats2d], Ragged], is_train: bool
                          ) -> Tuple[List[Floats2d], Callable]:
    layer = model.layers[0]
    Xw = _to_windowed(model, Xs)
    Yw, backprop_layer = layer(Xw, is_train)

    def backprop(dYs: List[Floats2d]) -> Union[List[Floats2d], Ragged]:
        d_data = model.ops.xp.zeros(Yw.data.shape, dtype="float32")
        if len(dYs):
            d_data[Yw.rows] = model.ops.xp.concatenate(dYs)
        dX = backprop_layer(Yw.with_data(d_data)).tokens()
        if isinstance(Xs, Ragged):
            return Ragged(dX, Xs.lengths)
        return split_rows(dX, Xw.lengths)

    return split_rows(Yw.tokens(), Xw.lengths), backprop


def _with_windows_init(model: Model, X: List[Floats2d] | None = None,
                       Y: List[Floats2d] | None = None) -> None:
    layer = model.layers[0]
    if X is not None and len(X):
        model.set_dim("nI", (X.data if isinstance(X, Ragged) else X[0]).shape[1])
        layer.initialize(X=_to_windowed(model, X))
    else:
        layer.initialize()
    if layer.has_dim("nO") and layer.get_dim("nO") is not None:
        model.set_dim("nO", layer.get_dim("nO"))


def residual_window(layer: Model[Floats2d, Floats2d], window_size: int
                    ) -> Model[Windowed, Windowed]:
    """A residual convolution block: each token row becomes X + dropout(layer(window(X))).

    Args:
        layer: maps (N, (2 * window_size + 1) * width) windows to (N, width).
        window_size: tokens either side of each token.

    The block has a `dropout_rate` attribute (0.0 until `set_dropout_rate` changes it).
    """
    return Model("residual_window", _residual_forward, init=_residual_init, layers=[layer],
                 attrs={"window_size": window_size, "dropout_rate": 0.0},
                 dims={"nO": layer.get_dim("nO") if layer.has_dim("nO") else None})


def gather_windows(xp, data: Floats2d, rows, window_size: int) -> Floats2d:
    """(len(rows), (2w+1) * width): the window of `data` rows around each of `rows`, left
    to right, concatenated."""
    idx = rows[:, None] + xp.arange(-window_size, window_size + 1)[None, :]
    return data[idx].reshape((idx.shape[0], idx.shape[1] * data.shape[1]))


def _residual_forward(model: Model, X: Windowed, is_train: bool
                      ) -> Tuple[Windowed, Callable]:
    w = model.attrs["window_size"]
    if (not is_train and isinstance(X.data, numpy.ndarray)
            and len(X.rows) * _window_bytes(X, w) > STEP_ABOVE_BYTES):
        return X.with_data(_residual_predict(model, X)), _no_gradient
    layer = model.layers[0]
    Y, backprop_layer = layer(gather_windows(model.ops.xp, X.data, X.rows, w), is_train)
    mask = dropout_mask(model.ops, Y.shape, model.attrs["dropout_rate"]) if is_train else None
    if mask is not None:
        Y *= mask
    out = X.data.copy()
    out[X.rows] += Y

    def backprop(dOut: Windowed) -> Windowed:
        dY = dOut.data[X.rows]
        if mask is not None:
            dY *= mask
        d_windows = backprop_layer(dY)
        d_windows = d_windows.reshape((d_windows.shape[0], 2 * w + 1, -1))
        d_data = dOut.data.copy()
        for j in range(2 * w + 1):
            # Within one offset the rows are distinct, so += does not lose updates.
            d_data[X.rows + (j - w)] += d_windows[:, j]
        return dOut.with_data(d_data)

    return X.with_data(out), backprop


def _residual_predict(model: Model, X: Windowed) -> Floats2d:
    """The block's output rows at inference on CPU, PREDICT_BYTES of windows at a time.

    The windows and the inner layer's temporaries then stay a few MiB (reused from the heap)
    whatever the batch's size. Whole, a batch of 2,000 short docs (about 100,000 tokens)
    made arrays past glibc's 32 MiB mmap ceiling, whose fresh pages faulted in at every
    call: en_ewt_sm's tok2vec spent as much system time as user time on them
    (benchmarks/README.md, batch_sensitivity). Training keeps the whole batch (its backprop
    needs every row's temporaries).
    """
    w = model.attrs["window_size"]
    layer = model.layers[0]
    out = X.data.copy()
    step = max(1, PREDICT_BYTES // _window_bytes(X, w))
    for start in range(0, len(X.rows), step):
        rows = X.rows[start:start + step]
        out[rows] += layer.predict(gather_windows(numpy, X.data, rows, w))
    return out


def _window_bytes(X: Windowed, window_size: int) -> int:
    """Bytes of one token's window (float32)."""
    return 4 * (2 * window_size + 1) * X.data.shape[1]


def _no_gradient(dOut: Windowed) -> Windowed:
    raise ValueError(Errors.E725)


def _residual_init(model: Model, X: Windowed | None = None,
                   Y: Windowed | None = None) -> None:
    layer = model.layers[0]
    if X is not None:
        layer.initialize(X=gather_windows(model.ops.xp, X.data, X.rows,
                                          model.attrs["window_size"]))
    else:
        layer.initialize()
    model.set_dim("nO", layer.get_dim("nO"))
