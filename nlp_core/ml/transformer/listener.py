"""TransformerListener: how a downstream component reuses the transformer component's
output.

    [components.ner.model.tok2vec]
    @architectures = "spacy-transformers.TransformerListener.v1"
    grad_factor = 1.0

    [components.ner.model.tok2vec.pooling]
    @layers = "reduce_mean.v1"

The hand-off is the tok2vec one (`nlp_core.ml.listener`): the transformer component runs
once per batch and calls `listener.receive(batch_id, [TransformerData per doc], callback)`
on each of its listeners; the listener pools wordpieces into token vectors with its own
pooling layer; its backprop sends the gradient of each doc's `wordpiece_output`, times
`grad_factor`, to the callback (a `SharedGradient`, which sums the listeners' gradients
and backpropagates through the transformer once). `grad_factor = 0` sends nothing: the
transformer is not trained through that listener.

At inference the listener uses, in this order: an inference hand-off for exactly these
docs, then the docs' `doc._.trf_data`, then (only right after `initialize(X=docs)`)
zero vectors for the same docs so that the next layers can infer their shapes; otherwise
it raises E335. The transformer component gives its listeners one `PooledBatches`: at
inference, listeners whose pooling layers compute the same vectors pool a batch once.
"""
from typing import Any, Callable, List, Sequence, Tuple, Union

from thinc.api import Model
from thinc.schedules import Schedule
from thinc.types import Floats2d, Ragged

from ...errors import Errors
from ...registry import registry
from ...tokens import Doc
from ..listener import batch_id
from .data import TransformerData, install_extensions
from .pooling import PooledBatches, pool_tokens

Backprop = Callable[[List[Floats2d]], Any]


class TransformerListener(Model):
    """A layer List[Doc] -> List[Floats2d] (one (n_tokens, width) array per doc) pooling
    the output of an upstream transformer component.

    Args:
        upstream_name: the transformer component to listen to, or "*" for the nearest
            one before this listener's component.
        pooling: Model[Ragged, Floats2d] reducing a token's wordpiece vectors.
        grad_factor: a number or a schedule (of the listener's update count) scaling
            the gradient sent to the transformer.
    """

    name = "transformer-listener"

    def __init__(self, upstream_name: str, pooling: Model[Ragged, Floats2d],
                 grad_factor: Union[float, Schedule] = 1.0) -> None:
        if not isinstance(grad_factor, (int, float, Schedule)):
            raise TypeError(Errors.E338.format(type=type(grad_factor).__name__))
        Model.__init__(self, name=self.name, forward=_forward, init=_init, layers=[pooling],
                       dims={"nO": None})
        install_extensions()
        self.upstream_name = upstream_name
        self.grad_factor = grad_factor
        self.n_updates = 0
        self._batch_id: int | None = None
        self._outputs: List[TransformerData] | None = None
        self._backprop: Backprop | None = None
        self._placeholder: Tuple[int, List[TransformerData]] | None = None
        # set by the upstream component: the batches pooled by its listeners at inference
        self.pooled_batches: PooledBatches | None = None

    get_batch_id = staticmethod(batch_id)

    def current_grad_factor(self) -> float:
        """The grad_factor at this update (a schedule is read at `n_updates`)."""
        if isinstance(self.grad_factor, Schedule):
            return float(self.grad_factor(self.n_updates))
        return float(self.grad_factor)

    def receive(self, batch_id: int, outputs: List[TransformerData],
                backprop: Backprop | None) -> None:
        """Store the transformer output for one batch and the callback taking the
        gradient of each doc's `wordpiece_output` (None at inference)."""
        self._batch_id = batch_id
        self._outputs = outputs
        self._backprop = backprop
        self._placeholder = None

    def verify_inputs(self, docs: Sequence[Doc]) -> bool:
        """True when the stored output belongs to `docs`; otherwise raises E335."""
        if self._batch_id is None or self._batch_id != batch_id(docs):
            raise ValueError(Errors.E335.format(upstream=self.upstream_name,
                                                           n_docs=len(docs)))
        return True

    def clear(self) -> None:
        """Drop the stored output."""
        self._batch_id = None
        self._outputs = None
        self._backprop = None
        self._placeholder = None


def _no_gradient(dY: List[Floats2d]) -> List:
    return []


def _init(model: TransformerListener, X: Any = None, Y: Any = None) -> None:
    if X is None:
        return
    if not model.has_dim("nO"):
        raise ValueError(Errors.E336.format(upstream=model.upstream_name))
    width = model.get_dim("nO")
    model._placeholder = (batch_id(X), [TransformerData.zeros(len(doc), width, model.ops.xp)
                                        for doc in X])


def _inputs(model: TransformerListener, docs: Sequence[Doc], is_train: bool
            ) -> Tuple[List[TransformerData], Backprop | None]:
    key = batch_id(docs)
    # At inference only an inference hand-off counts: a training one was computed with
    # dropout, by weights that have changed since.
    if model._batch_id == key and (is_train or model._backprop is None):
        return model._outputs, model._backprop if is_train else None
    datas = [doc._.trf_data for doc in docs]
    if all(isinstance(data, TransformerData) for data in datas):
        return datas, None
    if model._placeholder is not None and model._placeholder[0] == key:
        return model._placeholder[1], None
    model.verify_inputs(docs)
    raise ValueError(Errors.E335.format(upstream=model.upstream_name,
                                                   n_docs=len(docs)))


def _forward(model: TransformerListener, docs: Sequence[Doc], is_train: bool
             ) -> Tuple[List[Floats2d], Callable]:
    if not len(docs):
        return [], _no_gradient
    datas, callback = _inputs(model, docs, is_train)
    if callback is None and not is_train and model.pooled_batches is not None:
        return model.pooled_batches.pool(model.layers[0], datas), _no_gradient
    vectors, bp_vectors = pool_tokens(model.layers[0], datas, is_train)
    if callback is None:
        return vectors, _no_gradient

    def backprop(dY: List[Floats2d]) -> List:
        factor = model.current_grad_factor()
        model.n_updates += 1
        if factor == 0.0:
            return []
        d_wordpieces = bp_vectors(dY)
        if factor != 1.0:
            d_wordpieces = [d * factor for d in d_wordpieces]
        callback(d_wordpieces)
        return []

    return vectors, backprop


def find_transformer_listeners(model: Model, upstream_name: str, *, wildcard: bool = True
                               ) -> List[TransformerListener]:
    """The TransformerListeners inside `model` listening to `upstream_name` (and, with
    `wildcard`, those listening to "*")."""
    return [node for node in model.walk() if isinstance(node, TransformerListener)
            and (node.upstream_name == upstream_name
                 or (wildcard and node.upstream_name == "*"))]


@registry.architectures("nlp_core.TransformerListener.v1",
                        aliases=["spacy-transformers.TransformerListener.v1"])
def TransformerListenerArchitecture(pooling: Model[Ragged, Floats2d],
                                    grad_factor: Union[float, Schedule] = 1.0,
                                    upstream: str = "*") -> TransformerListener:
    """Token vectors from an upstream transformer component.

    Args:
        pooling: Model[Ragged, Floats2d] reducing each token's wordpiece vectors
            (reduce_mean.v1, reduce_max.v1, reduce_first.v1, reduce_last.v1).
        grad_factor: scales the gradient sent to the transformer (0: none); a number or
            a schedule over this listener's updates.
        upstream: the transformer component's name, or "*" for the nearest one before
            this component.
    """
    return TransformerListener(upstream_name=upstream, pooling=pooling,
                               grad_factor=grad_factor)
