"""Context encoders: stacks of residual window (CNN) blocks.

Both encoders are `Model[List[Floats2d], List[Floats2d]]` with `nO = width` and a
`receptive_field` attribute (tokens seen either side). Windows never cross doc boundaries.
"""
from typing import List

from thinc.api import Model, chain
from thinc.types import Floats2d

from ..errors import Errors
from ..registry import registry
from .maxout_ln import MaxoutLN
from .mish_ln import MishLN
from .windows import residual_window, with_windows


def _check(name: str, window_size: int, depth: int) -> None:
    if window_size < 0 or depth < 1:
        raise ValueError(Errors.E308.format(layer=name, window_size=window_size, depth=depth))


def _stack(blocks: List[Model], width: int, window_size: int, depth: int
           ) -> Model[List[Floats2d], List[Floats2d]]:
    model = with_windows(chain(*blocks) if len(blocks) > 1 else blocks[0], pad=window_size)
    model.set_dim("nO", width)
    model.set_dim("nI", width)
    model.attrs["receptive_field"] = window_size * depth
    return model


@registry.architectures("nlp_core.MaxoutWindowEncoder.v2",
                        aliases=["spacy.MaxoutWindowEncoder.v2"])
def MaxoutWindowEncoder(width: int = 96, window_size: int = 1, maxout_pieces: int = 3,
                        depth: int = 4) -> Model[List[Floats2d], List[Floats2d]]:
    """Encode context with `depth` residual blocks of window -> Maxout -> LayerNorm.

    Args:
        width: input and output width (they are equal, for the residual connections);
            typically 64-300.
        window_size: tokens either side concatenated into each window (1 is typical); the
            receptive field is window_size * depth tokens either side.
        maxout_pieces: maxout pieces (2-3 typical).
        depth: number of blocks (4 typical).
    """
    _check("MaxoutWindowEncoder", window_size, depth)
    n_in = width * (2 * window_size + 1)
    blocks = [residual_window(MaxoutLN(nO=width, nI=n_in, nP=maxout_pieces), window_size)
              for _ in range(depth)]
    return _stack(blocks, width, window_size, depth)


@registry.architectures("nlp_core.MishWindowEncoder.v2", aliases=["spacy.MishWindowEncoder.v2"])
def MishWindowEncoder(width: int = 96, window_size: int = 1, depth: int = 4
                      ) -> Model[List[Floats2d], List[Floats2d]]:
    """Encode context with `depth` residual blocks of window -> Mish -> LayerNorm.

    Args: as MaxoutWindowEncoder, without maxout pieces.
    """
    _check("MishWindowEncoder", window_size, depth)
    n_in = width * (2 * window_size + 1)
    blocks = [residual_window(MishLN(nO=width, nI=n_in), window_size) for _ in range(depth)]
    return _stack(blocks, width, window_size, depth)
