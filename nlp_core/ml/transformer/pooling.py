"""Token vectors from wordpiece vectors: a pooling layer over each token's wordpieces.

For every token, the rows of `trf_data.wordpiece_output` aligned with it form one
sequence of a Ragged, and the pooling layer (`reduce_mean.v1`, `reduce_max.v1`,
`reduce_first.v1`, `reduce_last.v1`, or any Model[Ragged, Floats2d]) reduces it to one
vector. A token without wordpieces gets a zero vector (and sends no gradient). All docs of
a batch are pooled in one call.

At inference the listeners of one transformer component pool each batch once per kind of
pooling layer (`PooledBatches`): en_ewt_trf's four listeners (tagger, upos, parser, NER)
all use reduce_mean, and pooling was ~5% of its CPU time, four times over.
"""
import weakref
from typing import Any, Callable, Dict, Hashable, List, Optional, Sequence, Tuple

import numpy
from thinc.api import Model, reduce_first, reduce_last, reduce_max, reduce_mean, reduce_sum
from thinc.types import Floats2d, Ragged

from ...errors import Errors
from .data import TransformerData

# the forward functions of the pooling layers listeners may share (`pooling_key`)
_SHARED_FORWARDS = tuple(make()._func for make in (
    reduce_first, reduce_last, reduce_max, reduce_mean, reduce_sum))


def pool_tokens(pooling: Model[Ragged, Floats2d], datas: Sequence[TransformerData],
                is_train: bool) -> Tuple[List[Floats2d], Callable]:
    """Pool each doc's wordpiece vectors into token vectors.

    Args:
        pooling: Model[Ragged, Floats2d].
        datas: one TransformerData per doc.

    Returns:
        (vectors, backprop): one (n_tokens, width) array per doc; backprop takes their
        gradients and returns one (n_wp, width) gradient of `wordpiece_output` per doc.
    """
    ops = pooling.ops
    xp = ops.xp
    n_wp = [len(d.wordpiece_output) for d in datas]
    n_tokens = [len(d.align.lengths) for d in datas]
    width = datas[0].wordpiece_output.shape[1] if datas else 0
    wp_offsets = numpy.cumsum([0] + n_wp)[:-1]
    lengths = numpy.concatenate([numpy.asarray(d.align.lengths) for d in datas]) \
        if datas else numpy.zeros(0, dtype=numpy.int32)
    links = numpy.concatenate([numpy.asarray(d.align.dataXd, dtype=numpy.int64) + offset
                               for d, offset in zip(datas, wp_offsets)]) \
        if datas else numpy.zeros(0, dtype=numpy.int64)
    has = numpy.flatnonzero(lengths > 0)
    total_tokens = int(sum(n_tokens))
    X = xp.concatenate([d.wordpiece_output for d in datas], axis=0) if datas \
        else ops.alloc2f(0, width)
    links_xp = ops.asarray(links, dtype="int64") if len(links) else None
    has_xp = ops.asarray(has, dtype="int64")
    bp_pool = None
    every = 0 < len(has) == total_tokens  # the usual case: each token has wordpieces
    if every:  # no scatter into zeros
        Y, bp_pool = pooling(Ragged(X[links_xp], ops.asarray1i(lengths)), is_train)
        if Y.shape != (total_tokens, width):  # as the scatter below would refuse it
            raise ValueError(Errors.E728.format(layer=pooling.name, got=tuple(Y.shape),
                                                expected=(total_tokens, width)))
        Y = ops.asarray2f(Y)  # float32, as the scatter's array is (no copy if it is)
    else:
        Y = ops.alloc2f(total_tokens, width)
        if len(has):
            rows = Ragged(X[links_xp], ops.asarray1i(lengths[has]))
            pooled, bp_pool = pooling(rows, is_train)
            Y[has_xp] = pooled
    token_splits = numpy.cumsum(n_tokens)[:-1].tolist()
    wp_splits = numpy.cumsum(n_wp)[:-1].tolist()

    def backprop(dYs: List[Floats2d]) -> List[Floats2d]:
        dX = ops.alloc2f(X.shape[0], width)
        if bp_pool is not None:
            dY = xp.concatenate(dYs, axis=0)
            d_rows = bp_pool(dY if every else dY[has_xp])
            ops.scatter_add(dX, links_xp, d_rows.dataXd)
        return xp.split(dX, wp_splits)

    return xp.split(Y, token_splits), backprop


def pooling_key(pooling: Model) -> Optional[Hashable]:
    """What identifies the vectors `pooling` computes, for layers that compute the same
    ones from the same input: one of thinc's reduce layers (reduce_mean.v1, reduce_max.v1,
    reduce_first.v1, reduce_last.v1, reduce_sum.v1) as made by its registered function (a
    plain Model: no sublayers, parameters, dims, shims, references or attrs) is its forward
    function and ops; any other layer is None (never shared: its settings may live where
    a key cannot see them, e.g. dims or a subclass's attributes)."""
    if type(pooling) is not Model or pooling.layers or pooling.param_names or \
            pooling.dim_names or pooling.shims or pooling.ref_names or pooling.attrs:
        return None
    if pooling._func not in _SHARED_FORWARDS:
        return None
    return (pooling._func, type(pooling.ops))


class PooledBatches:
    """The last batch's token vectors per pooling key, shared by the listeners of one
    transformer component at inference (the component gives each listener this object).

    A batch is the same when its TransformerData are the same objects, in order. They are
    held by weak references: an entry never keeps a batch's data alive, and it is dropped,
    vectors and all, as soon as one of them is gone. The listeners' own hand-off
    (`receive`) keeps the last batch's data until the next batch, so the last batch's
    vectors stay as long: one entry per key, replaced by the next batch, so at most one
    batch's vectors per kind of pooling are held.
    """

    def __init__(self) -> None:
        self._entries: Dict[Hashable, Tuple[List[Any], List[Floats2d]]] = {}

    def pool(self, pooling: Model[Ragged, Floats2d], datas: Sequence[TransformerData]
             ) -> List[Floats2d]:
        """`pool_tokens(pooling, datas, is_train=False)`'s vectors, computed once for
        every pooling layer with the same `pooling_key`."""
        key = pooling_key(pooling)
        if key is None or not datas:
            return pool_tokens(pooling, datas, False)[0]
        entry = self._entries.get(key)
        if entry is not None and len(entry[0]) == len(datas) and all(
                ref() is data for ref, data in zip(entry[0], datas)):
            return list(entry[1])
        vectors = pool_tokens(pooling, datas, False)[0]
        forget = _forget_entry(self._entries, key)
        refs = [weakref.ref(data, forget) for data in datas]
        self._entries[key] = (refs, vectors)
        return list(vectors)

    # A cache: copies and pickles of a pipeline start empty (weak references do not pickle).
    def __getstate__(self) -> Dict[str, Any]:
        return {}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self._entries = {}


def _forget_entry(entries: Dict[Hashable, Tuple[List[Any], List[Floats2d]]],
                  key: Hashable) -> Callable[[Any], None]:
    """The weak references' callback of one entry: drop it from `entries` when one of its
    batch's data goes, unless a later batch has replaced it. It holds `entries`, not the
    PooledBatches, and finds its entry by the dead reference."""
    def forget(dead: Any) -> None:
        entry = entries.get(key)
        if entry is not None and any(ref is dead for ref in entry[0]):
            entries.pop(key, None)  # another thread may have replaced or dropped it since

    return forget
