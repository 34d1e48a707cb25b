"""Static word vectors from `doc.vocab.vectors`, projected by a learned matrix.

The vectors table is not a parameter: it is read from the Docs' vocab at each call, so a
model never stores a copy. What this layer needs of the table (the interface the vectors
module implements):

- `vectors.shape -> (n_rows, n_dims)`;
- `vectors.data`: float32 array (n_rows, n_dims) (numpy, or cupy on GPU);
- `vectors.find(keys=uint64 array (n,)) -> int array (n,)`: the row of each key, -1 for a
  key without a vector (its vector is then zeros);
- optional `vectors.attr`: the attribute ID the table is keyed by (default: the layer's
  `key_attr`, ORTH);
- optional `vectors.get_batch(keys) -> float32 (n, n_dims)`: used instead of `find` when
  present (tables that hash subwords and have a vector for every key).

A vocab without vectors (`vocab.vectors` None, or a table with no rows) raises E300 at
initialize and at forward.
"""
from typing import Callable, List, Sequence, Tuple

import numpy
from thinc.api import Model
from thinc.initializers import glorot_uniform_init
from thinc.types import Floats2d, Ragged

from .. import attrs as A
from ..errors import Errors
from ..registry import register_with_aliases, registry
from .dropout import dropout_mask
from .featureextractor import extract_features


def has_vectors(vocab) -> bool:
    vectors = getattr(vocab, "vectors", None)
    if vectors is None:
        return False
    shape = getattr(vectors, "shape", None)
    return shape is None or (len(shape) == 2 and shape[0] > 0)


def get_vectors(vocab, layer: str = "StaticVectors"):
    """`vocab.vectors`, or E300 when the pipeline has none."""
    vectors = getattr(vocab, "vectors", None)
    if not has_vectors(vocab):
        found = "None" if vectors is None else f"an empty table of shape {vectors.shape}"
        raise ValueError(Errors.E300.format(layer=layer, found=found))
    return vectors


def key_attr_of(model: Model, vectors) -> int:
    return int(getattr(vectors, "attr", None) or model.attrs["key_attr"])


@register_with_aliases(registry.layers, "nlp_core.StaticVectors.v2",
                       aliases=["spacy.StaticVectors.v2"])
def StaticVectors(nO: int | None = None, nM: int | None = None, *,
                  dropout: float | None = None, key_attr: str = "ORTH"
                  ) -> Model[List, Ragged]:
    """Embed Docs with their vocab's vectors table and a learned projection W (nO, nM).

    Args:
        nO: output width.
        nM: width of the vectors (inferred from the table at initialize).
        dropout: rate of a per-batch mask over the output dimensions in training.
        key_attr: attribute whose value keys the table (ORTH; the table's own `attr`
            takes precedence).

    Returns:
        A layer List[Doc] -> Ragged of (n_tokens, nO); tokens without a vector get zeros.
    """
    return Model("static_vectors", _forward, init=_init, params={"W": None},
                 dims={"nO": nO, "nM": nM},
                 attrs={"key_attr": A.intify_attr(key_attr), "dropout_rate": dropout})


def project_keys(model: Model, vectors, keys: numpy.ndarray, is_train: bool
                 ) -> Tuple[Floats2d, Callable[[Floats2d], None]]:
    """The projected vectors of `keys` (uint64, (n,)): (n, nO), and the backprop for W."""
    W = model.get_param("W")
    if hasattr(vectors, "get_batch"):
        V = model.ops.asarray(vectors.get_batch(keys), dtype="float32")
        missing = None
    else:
        rows = numpy.asarray(vectors.find(keys=keys))
        if rows.shape != keys.shape:
            raise ValueError(Errors.E302.format(layer="StaticVectors", got=rows.shape,
                                                  n=len(keys)))
        missing = rows < 0
        # Gather on the table's own device, then move only the rows this batch needs.
        table = vectors.data
        safe_rows = numpy.where(missing, 0, rows)
        if not isinstance(table, numpy.ndarray):
            safe_rows = model.ops.asarray(safe_rows)
        V = model.ops.asarray(table[safe_rows], dtype="float32")
        if missing.any():
            V[model.ops.asarray(missing)] = 0
    Y = V @ W.T
    mask = dropout_mask(model.ops, (W.shape[0],), model.attrs.get("dropout_rate")) \
        if is_train else None
    if mask is not None:
        Y *= mask

    def backprop(dY: Floats2d) -> None:
        if mask is not None:
            dY = dY * mask
        model.inc_grad("W", dY.T @ V)

    return Y, backprop


def _forward(model: Model, docs: Sequence, is_train: bool) -> Tuple[Ragged, Callable]:
    if not len(docs):
        return Ragged(model.ops.alloc2f(0, model.get_dim("nO")), model.ops.alloc1i(0)), \
            lambda dY: []
    vectors = get_vectors(docs[0].vocab)
    batch = extract_features(docs, [key_attr_of(model, vectors)])
    lengths = model.ops.asarray1i(batch.lengths)
    if batch.n_tokens == 0:
        return Ragged(model.ops.alloc2f(0, model.get_dim("nO")), lengths), lambda dY: []
    Yu, backprop_keys = project_keys(model, vectors, batch.values[:, 0], is_train)
    inverse = model.ops.asarray(batch.inverse)

    def backprop(dY: Ragged) -> List:
        dYu = model.ops.alloc2f(*Yu.shape)
        model.ops.scatter_add(dYu, model.ops.asarray(batch.inverse, dtype="int32"),
                              model.ops.as_contig(dY.data))
        backprop_keys(dYu)
        return []

    return Ragged(Yu[inverse], lengths), backprop


def _init(model: Model, X: Sequence | None = None, Y: Ragged | None = None) -> None:
    if X is not None and len(X):
        model.set_dim("nM", get_vectors(X[0].vocab).shape[1])
    if Y is not None:
        model.set_dim("nO", Y.data.shape[1])
    for dim in ("nM", "nO"):
        if not model.has_dim(dim):
            raise ValueError(Errors.E303.format(layer="StaticVectors", dim=dim))
    model.set_param("W", glorot_uniform_init(model.ops, (model.get_dim("nO"),
                                                          model.get_dim("nM"))))
