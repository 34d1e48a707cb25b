"""The shared-embedding side of listeners: a component that runs its model once per batch
and hands the output to the listener layers inside other components' models.

`Tok2Vec` and `Transformer` are such components. In training, `update` runs the model once
and hands each listener its slice together with a shared gradient sum
(`nlp_core.ml.listener.SharedGradient`); the summed gradient goes back through the model
once, when every listener has sent its part or at `finish_update`. At inference (and when
the component is frozen), `set_annotations` hands the predictions over without a gradient.
"""
from typing import Any, Callable, Dict, List, Sequence, Tuple

from thinc.api import Model, Optimizer

from ..ml.listener import SharedGradient, batch_id, broadcast
from ..tokens import Doc
from .trainable import TrainablePipe, validate_examples


class ListenedPipe(TrainablePipe):
    """A trainable component whose output other components read through listeners.

    Subclasses set `listener_type` (the listener layer class they feed) and may override
    `_listener_added` (e.g. to give the listener its width) and `_optimizer` (e.g. to
    scale the learning rate).

    Attributes:
        listener_map: component name -> its listeners of this component.
    """

    listener_type: type = Model

    def __init__(self, vocab, model: Model, name: str, cfg: Dict[str, Any] | None = None):
        super().__init__(vocab, model, name, cfg=cfg)
        self.listener_map: Dict[str, List[Any]] = {}
        # The training hand-off of the current update: its gradient sum, and the batch.
        self._shared: SharedGradient | None = None
        self._shared_batch: int | None = None

    # --- listeners ---------------------------------------------------------------------

    @property
    def listeners(self) -> List[Any]:
        return [listener for group in self.listener_map.values() for listener in group]

    @property
    def listening_components(self) -> List[str]:
        return list(self.listener_map)

    def add_listener(self, listener: Any, component_name: str) -> None:
        group = self.listener_map.setdefault(component_name, [])
        if all(listener is not other for other in group):
            group.append(listener)
        self._listener_added(listener)

    def _listener_added(self, listener: Any) -> None:
        """Hook: called for each listener `add_listener` registers."""

    def remove_listeners(self) -> None:
        self.listener_map = {}

    def find_listeners(self, component: Any, *, name: str | None = None,
                       wildcard: bool = True) -> None:
        """Register the listeners (of `listener_type`) in `component`'s model that listen
        to this component: their upstream is this component's name, or "*" when
        `wildcard`."""
        model = getattr(component, "model", None)
        if not isinstance(model, Model) or component is self:
            return
        name = name or getattr(component, "name", None) or repr(component)
        for node in model.walk():
            if isinstance(node, self.listener_type) and (
                    node.upstream_name == self.name
                    or (wildcard and node.upstream_name == "*")):
                self.add_listener(node, name)

    # --- handing outputs over ----------------------------------------------------------

    def doc_outputs(self, predictions: Any) -> List[Any]:
        """`predict`'s output as one item per doc, what the listeners read: kept by a
        distillation teacher's cache (`language_distill.TeacherCache`) and given back to
        `set_doc_outputs`, possibly with other docs in another batch."""
        return list(predictions)

    def set_doc_outputs(self, docs: Sequence[Doc], outputs: Sequence[Any]) -> None:
        """Annotate `docs` with per-doc items of `doc_outputs` and hand them to the
        listeners, as `set_annotations` does with `predict`'s output."""
        self.set_annotations(docs, list(outputs))

    def _share_predictions(self, docs: Sequence[Doc], outputs: Sequence[Any]) -> None:
        """Hand a batch's outputs to the listeners without a gradient callback (for
        inference, and for training when this component is frozen) — unless they already
        hold this batch's training hand-off, inside an update."""
        listeners = self.listeners
        if not listeners:
            return
        if self._shared is not None and self._shared_batch == batch_id(docs):
            return
        broadcast(listeners, docs, outputs, None)

    def update(self, examples: Sequence[Any], *, drop: float = 0.0,
               sgd: Optimizer | None = None, losses: Dict[str, float] | None = None
               ) -> Dict[str, float]:
        """Run the model once on the batch (`_begin_update`) and hand the output to the
        listeners, which send their gradients back when their components update. The
        summed gradient goes through the model once: as soon as every listener has sent
        one, or at `finish_update` (whatever has arrived). `losses[name]` accumulates the
        sum of squares of that gradient. With `sgd`, the optimizer step follows the
        backprop."""
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        examples = validate_examples(examples, f"{type(self).__name__}.update")
        self._flush()
        docs = [eg.predicted for eg in examples]
        if not self.listeners or not any(len(doc) for doc in docs):
            return losses
        outputs, backprop = self._begin_update(docs, drop)
        self._share_for_update(docs, outputs, backprop, sgd, losses)
        return losses

    def _begin_update(self, docs: List[Doc], drop: float) -> Tuple[List[Any], Callable]:
        """The batch's per-doc outputs for the listeners, and the callback that
        backpropagates their gradients through the model."""
        raise NotImplementedError

    def _share_for_update(self, docs: Sequence[Doc], outputs: Sequence[Any],
                          backprop: Callable, sgd: Optimizer | None,
                          losses: Dict[str, float]) -> None:
        """Hand a training batch's outputs to the listeners with a shared gradient sum;
        `backprop` runs once on the sum (then the optimizer step, with `sgd`), and
        `losses[name]` accumulates the sum of squares of that gradient."""

        def backprop_once(d_outputs: List[Any]) -> Any:
            losses[self.name] += float(sum((d ** 2).sum() for d in d_outputs))
            result = backprop(d_outputs)
            if sgd is not None:
                self.model.finish_update(self._optimizer(sgd))
            return result

        self._shared = broadcast(self.listeners, docs, outputs, backprop_once)
        self._shared_batch = batch_id(docs)

    def _flush(self) -> None:
        if self._shared is not None:
            self._shared.flush()
        self._shared = None
        self._shared_batch = None

    # --- training ----------------------------------------------------------------------

    def _optimizer(self, sgd: Optimizer) -> Any:
        """Hook: the optimizer the model's step uses (the given one by default)."""
        return sgd

    def finish_update(self, sgd: Optimizer) -> None:
        """Backpropagate the listeners' gradients received so far (if not done yet), then
        apply the optimizer step."""
        self._flush()
        self.model.finish_update(self._optimizer(sgd))

    def get_loss(self, examples: Sequence[Any], scores: Any) -> None:
        """No loss of its own: the gradient comes from the listeners."""
        return None
