"""Tok2VecListener: the proxy through which components reuse a shared embedding.

Hand-off protocol (the embedding component drives it, once per batch):

1. The upstream component (factory "tok2vec") embeds a batch once:
   `outputs, backprop = model.begin_update(docs)`.
2. It hands the result to every listener of the pipeline (`find_listeners(model, name)`
   over the other components' models) with
   `shared = broadcast(listeners, docs, outputs, backprop)`, which calls
   `listener.receive(batch_id(docs), outputs, callback)` on each.
3. Each downstream component runs its own model on the same docs; its listener's forward
   checks the docs (`verify_inputs`) and returns `outputs`; the listener's backprop hands
   the component's gradient (List[Floats2d], one (n_tokens, width) array per doc) to the
   callback.
4. `broadcast`'s `SharedGradient` sums those gradients; when every listener has sent one
   it backpropagates the sum through the shared model once. `shared.flush()` does it
   immediately for whatever has arrived (the component calls it in `finish_update`, so a
   frozen or skipped listener never holds the update back).

At inference a listener uses, in this order: outputs received for exactly these docs with
no backprop (an inference hand-off: `broadcast(..., backprop=None)`), then the docs'
`doc.tensor` (set by the upstream component's `set_annotations`; this covers
components that batch differently from the upstream and frozen upstreams), else it
raises E304 (E305 when outputs for another batch were received). It never returns zeros
silently.
"""
from typing import Any, Callable, List, Sequence

import numpy
from thinc.api import Model
from thinc.types import Floats2d

from ..errors import Errors
from ..registry import registry
from .featureextractor import doc_orths

Backprop = Callable[[List[Floats2d]], Any]


def batch_id(docs: Sequence) -> int:
    """A content hash of a batch: the docs' orth IDs and lengths, in order."""
    if not len(docs):
        return 0
    lengths = numpy.fromiter((len(d) for d in docs), dtype=numpy.int64, count=len(docs))
    orths = numpy.concatenate([doc_orths(d) for d in docs])
    return hash((lengths.tobytes(), orths.tobytes()))


class Tok2VecListener(Model):
    """A layer List[Doc] -> List[Floats2d] returning what an upstream component embedded.

    Args:
        upstream_name: the embedding component to listen to, or "*" for any.
        width: the upstream model's output width (nO).
    """

    name = "tok2vec-listener"

    def __init__(self, upstream_name: str, width: int) -> None:
        Model.__init__(self, name=self.name, forward=_forward, dims={"nO": width})
        self.upstream_name = upstream_name
        self._batch_id: int | None = None
        self._outputs: List[Floats2d] | None = None
        self._backprop: Backprop | None = None

    get_batch_id = staticmethod(batch_id)

    def receive(self, batch_id: int, outputs: List[Floats2d],
                backprop: Backprop | None) -> None:
        """Store the upstream output for one batch, and the callback taking its gradient.

        Args:
            batch_id: `batch_id(docs)` of the docs the outputs belong to.
            outputs: one (n_tokens, width) array per doc.
            backprop: called with the gradient of `outputs` (same shapes) when this
                listener's component backpropagates; None at inference.

        Raises:
            ValueError: E306 when the outputs' width is not the listener's `width`.
        """
        width = self.get_dim("nO")
        for output in outputs:
            if output.ndim != 2 or output.shape[1] != width:
                raise ValueError(Errors.E306.format(upstream=self.upstream_name,
                                                      got=output.shape[-1], width=width))
            break
        self._batch_id = batch_id
        self._outputs = outputs
        self._backprop = backprop

    def verify_inputs(self, docs: Sequence) -> bool:
        """True when the stored output belongs to `docs`; otherwise raises E304 (nothing
        received) or E305 (received for another batch)."""
        if self._batch_id is None:
            raise ValueError(Errors.E304.format(upstream=self.upstream_name,
                                                  n_docs=len(docs), width=self.get_dim("nO")))
        got = batch_id(docs)
        if got != self._batch_id:
            raise self._unusable(docs, got, "the upstream output of another batch")
        return True

    def _unusable(self, docs: Sequence, got: int, held: str) -> ValueError:
        return ValueError(Errors.E305.format(upstream=self.upstream_name, n_docs=len(docs),
                                               got=got, held=held, expected=self._batch_id))

    def clear(self) -> None:
        """Drop the stored output (frees its memory between batches)."""
        self._batch_id = None
        self._outputs = None
        self._backprop = None


def _no_gradient(d_outputs: List[Floats2d]) -> List:
    return []


def _doc_tensors(model: Tok2VecListener, docs: Sequence) -> List[Floats2d] | None:
    width = model.get_dim("nO")
    tensors = []
    for doc in docs:
        tensor = doc.tensor
        if tensor.ndim == 2 and tensor.shape == (len(doc), width):
            tensors.append(model.ops.asarray2f(tensor))
        elif len(doc) == 0:
            tensors.append(model.ops.alloc2f(0, width))
        else:
            return None
    return tensors


def _forward(model: Tok2VecListener, docs: Sequence, is_train: bool):
    # At inference only an inference hand-off (no backprop) counts: outputs received in
    # training were computed with dropout, and by weights that have changed since.
    usable = model._batch_id is not None and (is_train or model._backprop is None)
    if usable and model._batch_id == batch_id(docs):
        return model._outputs, model._backprop if is_train and model._backprop is not None \
            else _no_gradient
    tensors = _doc_tensors(model, docs)
    if tensors is not None:
        return tensors, _no_gradient
    model.verify_inputs(docs)  # raises E304 / E305 unless the held batch is this one
    raise model._unusable(docs, model._batch_id,
                          "this batch's output from a training update, not reused at inference")


class SharedGradient:
    """Sums the gradients of several listeners for one batch and backpropagates the sum
    through the upstream model once.

    Attributes:
        d_outputs: the gradient summed so far and not yet backpropagated (None when
            nothing is pending), one array per doc.
        n_backprops: how many times the upstream backprop has run.
        loss: sum of squares of every gradient received (what a tok2vec component
            reports as its loss).
    """

    def __init__(self, backprop: Backprop, n_listeners: int, grad_factor: float = 1.0):
        self._backprop = backprop
        self._waiting = set(range(n_listeners))
        self._grad_factor = grad_factor
        self.d_outputs: List[Floats2d] | None = None
        self.n_backprops = 0
        self.loss = 0.0
        self.result: Any = None

    def callback(self, index: int) -> Backprop:
        """The backprop callback for listener number `index`."""

        def accumulate(d_outputs: List[Floats2d]) -> List:
            if self._grad_factor != 1.0:
                d_outputs = [d * self._grad_factor for d in d_outputs]
            self.loss += sum(float((d * d).sum()) for d in d_outputs)
            if self.d_outputs is None:
                self.d_outputs = [d.copy() for d in d_outputs]
            else:
                for total, d in zip(self.d_outputs, d_outputs):
                    total += d
            self._waiting.discard(index)
            if not self._waiting:
                self.flush()
            return []

        return accumulate

    def flush(self) -> Any:
        """Backpropagate the gradient received so far (if any) through the upstream model.
        Returns the upstream backprop's result."""
        if self.d_outputs is not None:
            d_outputs, self.d_outputs = self.d_outputs, None
            self._waiting.clear()
            self.result = self._backprop(d_outputs)
            self.n_backprops += 1
        return self.result


def broadcast(listeners: Sequence[Tok2VecListener], docs: Sequence,
              outputs: List[Floats2d], backprop: Backprop | None, *,
              grad_factor: float = 1.0) -> SharedGradient:
    """Hand one upstream forward pass to every listener.

    Args:
        listeners: the listeners of the upstream component.
        docs: the batch the outputs were computed for.
        outputs: one (n_tokens, width) array per doc.
        backprop: the upstream model's backprop (None at inference: nothing to collect).
        grad_factor: scales each listener's gradient.

    Returns:
        The SharedGradient collecting the listeners' gradients.
    """
    shared = SharedGradient(backprop or _no_gradient, len(listeners), grad_factor)
    key = batch_id(docs)
    for i, listener in enumerate(listeners):
        listener.receive(key, outputs, shared.callback(i) if backprop is not None else None)
    return shared


def find_listeners(model: Model, upstream_name: str) -> List[Tok2VecListener]:
    """The listeners inside `model` that listen to the component `upstream_name` (their
    `upstream` is that name or "*")."""
    return [node for node in model.walk() if isinstance(node, Tok2VecListener)
            and node.upstream_name in ("*", upstream_name)]


@registry.architectures("nlp_core.Tok2VecListener.v1", aliases=["spacy.Tok2VecListener.v1"])
def Tok2VecListenerArchitecture(width: int = 96, upstream: str = "*") -> Tok2VecListener:
    """A listener for an upstream embedding component.

    Args:
        width: the upstream model's output width.
        upstream: the upstream component's name, or "*" for the one embedding component.
    """
    return Tok2VecListener(upstream_name=upstream, width=width)
