"""The shared second half of the embedding layers: concatenate the per-word pieces, mix
them with Maxout + LayerNorm, and spread the result to the tokens.

The pieces (hash embeddings, character embeddings, static vectors) depend on the word
only, so they and the mixing layer run once per distinct word of the batch (`FeatureBatch`
rows); the result is copied to every token, then dropout is applied per token. In the
backward pass the token gradients are summed per word first.
"""
from typing import Callable, List, Sequence, Tuple

from thinc.api import Model
from thinc.types import Floats2d

from .dropout import dropout_mask
from .featureextractor import FeatureBatch, split_rows

Piece = Tuple[Floats2d, Callable[[Floats2d], None]]


def mix_and_spread(model: Model, mix: Model[Floats2d, Floats2d], pieces: Sequence[Piece],
                   batch: FeatureBatch, is_train: bool
                   ) -> Tuple[List[Floats2d], Callable[[List[Floats2d]], List]]:
    """Run `mix` over the concatenated pieces and return one (n_tokens, nO) array per doc.

    Args:
        model: the embedding layer; its `dropout_rate` attribute sets the token dropout.
        mix: (U, sum of piece widths) -> (U, nO).
        pieces: (values (U, w_i), backprop(d_values)) per piece.
        batch: the features the pieces were computed from (for the token -> row map).
    """
    ops = model.ops
    xp = ops.xp
    widths = [p[0].shape[1] for p in pieces]
    X = xp.concatenate([p[0] for p in pieces], axis=1) if len(pieces) > 1 else pieces[0][0]
    H, backprop_mix = mix(X, is_train)
    inverse = ops.asarray(batch.inverse)
    Y = H[inverse]
    mask = dropout_mask(ops, Y.shape, model.attrs.get("dropout_rate")) if is_train else None
    if mask is not None:
        Y *= mask

    def backprop(dYs: List[Floats2d]) -> List:
        dY = xp.concatenate(dYs) if len(dYs) else ops.alloc2f(0, H.shape[1])
        if mask is not None:
            dY = dY * mask
        dH = ops.alloc2f(*H.shape)
        ops.scatter_add(dH, ops.asarray(batch.inverse, dtype="int32"), ops.as_contig(dY))
        dX = backprop_mix(dH)
        start = 0
        for (_, backprop_piece), width in zip(pieces, widths):
            backprop_piece(dX[:, start: start + width])
            start += width
        return []

    return split_rows(Y, batch.lengths), backprop
