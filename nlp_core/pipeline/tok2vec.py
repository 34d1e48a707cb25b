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
from typing import TYPE_CHECKING, Any, Callable, Iterable, List, Sequence, Tuple

from confection import Config
from thinc.api import Model
from thinc.types import Floats2d

from ..ml.listener import Tok2VecListener
from ..registry import registry
from ..tokens import Doc
from .listened import ListenedPipe
from .trainable import sample_examples, set_dropout_rate

if TYPE_CHECKING:
    from ..language import Language

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


@registry.factory("tok2vec", assigns=["doc.tensor"],
                  default_config={"model": Config().from_str(DEFAULT_TOK2VEC_MODEL)["model"]})
def make_tok2vec(nlp: "Language", name: str, model: Model) -> "Tok2Vec":
    """`[components.NAME] factory = "tok2vec"`: a shared embedding.

    Args:
        model: `List[Doc] -> List[Floats2d]`, one (n_tokens, width) array per doc
            (e.g. spacy.Tok2Vec.v2).
    """
    return Tok2Vec(nlp.vocab, model, name)


class Tok2Vec(ListenedPipe):
    """Embeds each batch once and broadcasts the result to its listeners.

    Attributes:
        listener_map: component name -> its listeners of this tok2vec.
    """

    listener_type = Tok2VecListener

    def __init__(self, vocab, model: Model, name: str = "tok2vec"):
        super().__init__(vocab, model, name)

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
        self._share_predictions(docs, tokvecses)

    # --- training ----------------------------------------------------------------------

    def _begin_update(self, docs: List[Doc], drop: float) -> Tuple[List[Floats2d], Callable]:
        """Embed the batch with dropout `drop`."""
        set_dropout_rate(self.model, drop)
        return self.model.begin_update(docs)

    def initialize(self, get_examples: Callable[[], Iterable[Any]], *, nlp: Any = None
                   ) -> None:
        """Initialise the model's weights (shapes from a sample of the examples' docs).

        Raises:
            ValueError: E350 when `get_examples()` yields nothing.
        """
        docs = [eg.predicted for eg in sample_examples(get_examples, self)]
        self.model.initialize(X=docs)
