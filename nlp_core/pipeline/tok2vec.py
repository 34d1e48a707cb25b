"""The tok2vec component: a shared embedding that downstream components listen to.

It runs its model once per batch, stores the result in `doc.tensor` and hands it to every
`Tok2VecListener` in later components (the "shared" setup). In training, `update` does one
forward pass; each listening component backpropagates into its listener, the listeners'
gradients are summed (`SharedGradient`) and sent through the shared model once, and
`finish_update` applies the optimizer step. See `nlp_core.ml.listener` for the hand-off.

Which listeners belong to which tok2vec (`Language._link_components`, run whenever the
pipeline changes): a listener with `upstream = "NAME"` belongs to the component NAME; one
with `upstream = "*"` to the nearest tok2vec before its component in the pipeline.
"""
from typing import Any, Callable, Dict, Iterable, List, Sequence

from confection import Config
from thinc.api import Model, Optimizer
from thinc.types import Floats2d

from ..language import Language
from ..ml.listener import SharedGradient, Tok2VecListener, batch_id, broadcast
from ..tokens import Doc
from .trainable import TrainablePipe, sample_examples, set_dropout_rate, validate_examples

DEFAULT_TOK2VEC_MODEL = """
[model]
@architectures = "spacy.Tok2Vec.v2"

[model.embed]
@architectures = "spacy.MultiHashEmbed.v2"
width = 96
attrs = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
rows = [5000, 1000, 2500, 2500]
include_static_vectors = false

[model.encode]
@architectures = "spacy.MaxoutWindowEncoder.v2"
width = 96
depth = 4
window_size = 1
maxout_pieces = 3
"""


@Language.factory("tok2vec", assigns=["doc.tensor"],
                  default_config={"model": Config().from_str(DEFAULT_TOK2VEC_MODEL)["model"]})
def make_tok2vec(nlp: Language, name: str, model: Model) -> "Tok2Vec":
    """`[components.NAME] factory = "tok2vec"`: a shared embedding.

    Args:
        model: `List[Doc] -> List[Floats2d]`, one (n_tokens, width) array per doc
            (e.g. spacy.Tok2Vec.v2).
    """
    return Tok2Vec(nlp.vocab, model, name)


class Tok2Vec(TrainablePipe):
    """Embeds each batch once and broadcasts the result to its listeners.

    Attributes:
        listener_map: component name -> its listeners of this tok2vec.
    """

    def __init__(self, vocab, model: Model, name: str = "tok2vec"):
        super().__init__(vocab, model, name)
        self.listener_map: Dict[str, List[Tok2VecListener]] = {}
        # The training hand-off of the current update: its gradient sum, and the batch.
        self._shared: SharedGradient | None = None
        self._shared_batch: int | None = None

    # --- listeners ---------------------------------------------------------------------

    @property
    def listeners(self) -> List[Tok2VecListener]:
        return [listener for group in self.listener_map.values() for listener in group]

    @property
    def listening_components(self) -> List[str]:
        return list(self.listener_map)

    def add_listener(self, listener: Tok2VecListener, component_name: str) -> None:
        group = self.listener_map.setdefault(component_name, [])
        if all(listener is not other for other in group):
            group.append(listener)

    def remove_listeners(self) -> None:
        self.listener_map = {}

    def find_listeners(self, component: Any, *, name: str | None = None,
                       wildcard: bool = True) -> None:
        """Register the listeners in `component`'s model that listen to this tok2vec: those
        with `upstream` = this component's name, and (if `wildcard`) those with "*"."""
        model = getattr(component, "model", None)
        if not isinstance(model, Model) or component is self:
            return
        name = name or getattr(component, "name", None) or repr(component)
        for node in model.walk():
            if isinstance(node, Tok2VecListener) and (
                    node.upstream_name == self.name
                    or (wildcard and node.upstream_name == "*")):
                self.add_listener(node, name)

    # --- running -----------------------------------------------------------------------

    def predict(self, docs: Sequence[Doc]) -> List[Floats2d]:
        """One (n_tokens, width) array per doc."""
        if not any(len(doc) for doc in docs):
            width = self.model.get_dim("nO") if self.model.has_dim("nO") else 0
            return [self.model.ops.alloc2f(len(doc), width) for doc in docs]
        return self.model.predict(docs)

    def set_annotations(self, docs: Sequence[Doc], tokvecses: List[Floats2d]) -> None:
        """Set `doc.tensor` and hand the arrays to the listeners (without a gradient
        callback: listeners use them at inference, and in training when this component
        is frozen)."""
        for doc, tokvecs in zip(docs, tokvecses):
            doc.tensor = tokvecs
        listeners = self.listeners
        if not listeners:
            return
        # Within an update the listeners hold this batch's training hand-off: keep it.
        if self._shared is not None and self._shared_batch == batch_id(docs):
            return
        broadcast(listeners, docs, tokvecses, None)

    # --- training ----------------------------------------------------------------------

    def update(self, examples: Sequence[Any], *, drop: float = 0.0,
               sgd: Optimizer | None = None, losses: Dict[str, float] | None = None
               ) -> Dict[str, float]:
        """Embed the batch once (with dropout) and hand it to the listeners, which send
        their gradients back when their components update. The summed gradient goes
        through the model once: as soon as every listener has sent one, or at
        `finish_update` (whatever has arrived). `losses[name]` accumulates the sum of
        squares of that gradient. With `sgd`, the optimizer step follows the backprop."""
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        examples = validate_examples(examples, "Tok2Vec.update")
        self._flush()
        listeners = self.listeners
        docs = [eg.predicted for eg in examples]
        if not listeners or not any(len(doc) for doc in docs):
            return losses
        set_dropout_rate(self.model, drop)
        tokvecs, backprop = self.model.begin_update(docs)

        def backprop_once(d_tokvecs: List[Floats2d]) -> Any:
            losses[self.name] += float(sum((d ** 2).sum() for d in d_tokvecs))
            result = backprop(d_tokvecs)
            if sgd is not None:
                self.model.finish_update(sgd)
            return result

        self._shared = broadcast(listeners, docs, tokvecs, backprop_once)
        self._shared_batch = batch_id(docs)
        return losses

    def _flush(self) -> None:
        if self._shared is not None:
            self._shared.flush()
        self._shared = None
        self._shared_batch = None

    def finish_update(self, sgd: Optimizer) -> None:
        """Backpropagate the listeners' gradients received so far (if not done yet), then
        apply the optimizer step."""
        self._flush()
        self.model.finish_update(sgd)

    def get_loss(self, examples: Sequence[Any], scores: Any) -> None:
        """The tok2vec has no loss of its own: its gradient comes from the listeners."""
        return None

    def initialize(self, get_examples: Callable[[], Iterable[Any]], *, nlp: Any = None
                   ) -> None:
        """Initialise the model's weights (shapes from a sample of the examples' docs).

        Raises:
            ValueError: E350 when `get_examples()` yields nothing.
        """
        docs = [eg.predicted for eg in sample_examples(get_examples, self)]
        self.model.initialize(X=docs)
