"""Pretraining objectives: the output layer put on top of a tok2vec for the cloze task, the
targets of the masked tokens and the loss.

    [pretraining.objective]
    @architectures = "spacy.PretrainCharacters.v1"   # also nlp_core.PretrainCharacters.v1
    maxout_pieces = 3
    hidden_size = 300
    n_characters = 4

    [pretraining.objective]
    @architectures = "spacy.PretrainVectors.v1"      # also nlp_core.PretrainVectors.v1
    maxout_pieces = 3
    hidden_size = 300
    loss = "cosine"                                 # or "L2"

The output layer (Maxout + LayerNorm to `hidden_size`, then a linear layer) runs on the
rows of the masked tokens only, and the loss is over those rows only: the gradient
reaching the tok2vec is zero on every other token (as in spaCy, whose gradient is masked
the same way; spaCy also computes the output layer for the unmasked tokens, which only
costs time).
"""
from typing import Any, Dict, Tuple

import numpy
from thinc.api import Model, chain
from thinc.types import Floats2d
from thinc.util import get_array_module

from ..errors import Errors
from ..registry import registry
from .lexeme_cache import lexical_values
from .maxout_ln import MaxoutLN
from .pretrain_linear import BlasLinear
from .pretrain_masking import end_bytes
from .staticvectors import get_vectors

N_BYTE_VALUES = 256
LOSSES = ("cosine", "L2")


class PretrainObjective:
    """What `pretrain` needs of an objective; built by the registered factories.

    Attributes:
        name: the registered name (for checkpoints' provenance).
        settings: the factory's arguments.
    """

    name = ""

    def __init__(self, settings: Dict[str, Any]):
        self.settings = dict(settings)

    def check(self, vocab) -> None:
        """Raise when the pipeline lacks what the objective needs (before any training)."""

    def output_layer(self, width: int, vocab) -> Model[Floats2d, Floats2d]:
        """The layer from tok2vec rows (M, width) to predictions (M, n_outputs)."""
        raise NotImplementedError

    def targets(self, vocab, orths: numpy.ndarray) -> numpy.ndarray:
        """What the masked tokens with these original orth IDs (uint64 (M,)) should give."""
        raise NotImplementedError

    def loss(self, predictions: Floats2d, targets: numpy.ndarray
             ) -> Tuple[float, Floats2d]:
        """(summed loss, gradient of the mean loss per masked token w.r.t. predictions)."""
        raise NotImplementedError

    def _hidden(self, width: int) -> Model[Floats2d, Floats2d]:
        return MaxoutLN(nO=self.settings["hidden_size"], nI=width,
                        nP=self.settings["maxout_pieces"])


class CharactersObjective(PretrainObjective):
    """Predict the first and last `n_characters` UTF-8 bytes of each masked word: 2N
    softmaxes over 256 byte values, cross-entropy loss."""

    name = "spacy.PretrainCharacters.v1"

    def output_layer(self, width: int, vocab) -> Model[Floats2d, Floats2d]:
        n_out = 2 * self.settings["n_characters"] * N_BYTE_VALUES
        return chain(self._hidden(width), BlasLinear(nO=n_out, nI=self.settings["hidden_size"]))

    def targets(self, vocab, orths: numpy.ndarray) -> numpy.ndarray:
        return end_bytes(vocab, orths, self.settings["n_characters"])

    def loss(self, predictions: Floats2d, targets: numpy.ndarray
             ) -> Tuple[float, Floats2d]:
        n_rows, n_cols = targets.shape
        if not n_rows:
            return 0.0, predictions
        xp = get_array_module(predictions)
        targets = xp.asarray(targets)
        logits = predictions.reshape((n_rows, n_cols, N_BYTE_VALUES))
        shifted = logits - logits.max(axis=2, keepdims=True)
        probs = xp.exp(shifted)
        totals = probs.sum(axis=2, keepdims=True)
        probs /= totals
        rows = xp.arange(n_rows)[:, None]
        cols = xp.arange(n_cols)[None, :]
        # -log softmax at the target byte, from the shifted logits (no log of a tiny prob)
        loss = float((xp.log(totals[..., 0]) - shifted[rows, cols, targets]).sum())
        probs[rows, cols, targets] -= 1.0
        probs /= n_rows
        return loss, probs.reshape(predictions.shape)


class VectorsObjective(PretrainObjective):
    """Predict each masked word's static vector (`vocab.vectors`, keyed by the table's
    attribute): cosine distance (tokens without a vector carry no loss) or squared L2."""

    name = "spacy.PretrainVectors.v1"

    def check(self, vocab) -> None:
        get_vectors(vocab, "PretrainVectors (the vectors objective)")

    def output_layer(self, width: int, vocab) -> Model[Floats2d, Floats2d]:
        n_out = get_vectors(vocab, "PretrainVectors").shape[1]
        # spaCy zero-initialises this layer; the cosine gradient is undefined at a zero
        # prediction, so Glorot initialisation is kept here.
        return chain(self._hidden(width), BlasLinear(nO=n_out, nI=self.settings["hidden_size"]))

    def targets(self, vocab, orths: numpy.ndarray) -> numpy.ndarray:
        vectors = get_vectors(vocab, "PretrainVectors")
        attr = int(getattr(vectors, "attr", 0) or 0)
        keys = orths
        if attr and len(orths):
            uniq, inverse = numpy.unique(orths, return_inverse=True)
            keys = lexical_values(vocab, uniq, (attr,))[:, 0][inverse.reshape(-1)]
        return numpy.asarray(vectors.get_batch(keys), dtype=numpy.float32)

    def loss(self, predictions: Floats2d, targets: numpy.ndarray
             ) -> Tuple[float, Floats2d]:
        n_rows = predictions.shape[0]
        if not n_rows:
            return 0.0, predictions
        targets = get_array_module(predictions).asarray(targets)
        if self.settings["loss"] == "L2":
            diff = predictions - targets
            return float(0.5 * (diff * diff).sum()), diff / n_rows
        return cosine_loss(predictions, targets)


def cosine_loss(predictions: Floats2d, targets: Floats2d) -> Tuple[float, Floats2d]:
    """Summed 1 - cos(prediction, target) over rows whose target is not all zeros, and the
    gradient of its mean over those rows (zero on the other rows).

    Args:
        predictions, targets: float32 (M, d).
    """
    xp = get_array_module(predictions)
    t_norm = xp.sqrt((targets * targets).sum(axis=1, keepdims=True))
    used = t_norm[:, 0] > 0
    n_used = int(used.sum())
    grad = xp.zeros_like(predictions)
    if not n_used:
        return 0.0, grad
    y, t, tn = predictions[used], targets[used], t_norm[used]
    y_norm = xp.sqrt((y * y).sum(axis=1, keepdims=True)) + 1e-8
    cos = (y * t).sum(axis=1, keepdims=True) / (y_norm * tn)
    grad[used] = -(t / (y_norm * tn) - cos * y / (y_norm * y_norm)) / n_used
    return float((1.0 - cos).sum()), grad


def _positive(name: str, key: str, value: int) -> None:
    if not isinstance(value, int) or value < 1:
        raise ValueError(Errors.E520.format(objective=name, key=key, value=value,
                                            reason="a positive integer"))


@registry.architectures("nlp_core.PretrainCharacters.v1",
                        aliases=["spacy.PretrainCharacters.v1"])
def PretrainCharacters(maxout_pieces: int = 3, hidden_size: int = 300,
                       n_characters: int = 4) -> CharactersObjective:
    """The characters objective: predict the first and last `n_characters` UTF-8 bytes of
    the masked words.

    Args:
        maxout_pieces: pieces of the hidden Maxout layer (2-3 typical).
        hidden_size: width of the hidden layer (300 typical).
        n_characters: N, bytes predicted from each end of the word (4 typical).
    """
    for key, value in (("maxout_pieces", maxout_pieces), ("hidden_size", hidden_size),
                       ("n_characters", n_characters)):
        _positive("PretrainCharacters", key, value)
    return CharactersObjective({"maxout_pieces": maxout_pieces, "hidden_size": hidden_size,
                                "n_characters": n_characters})


@registry.architectures("nlp_core.PretrainVectors.v1", aliases=["spacy.PretrainVectors.v1"])
def PretrainVectors(maxout_pieces: int = 3, hidden_size: int = 300,
                    loss: str = "cosine") -> VectorsObjective:
    """The vectors objective: predict the static vector of the masked words; the pipeline
    needs a vectors table (`[initialize] vectors`).

    Args:
        maxout_pieces: pieces of the hidden Maxout layer.
        hidden_size: width of the hidden layer.
        loss: "cosine" (usually better) or "L2".
    """
    for key, value in (("maxout_pieces", maxout_pieces), ("hidden_size", hidden_size)):
        _positive("PretrainVectors", key, value)
    if loss not in LOSSES:
        raise ValueError(Errors.E520.format(objective="PretrainVectors", key="loss",
                                            value=loss, reason="'cosine' or 'L2'"))
    return VectorsObjective({"maxout_pieces": maxout_pieces, "hidden_size": hidden_size,
                             "loss": loss})
