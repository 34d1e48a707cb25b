"""Tok2Vec: an embedding layer followed by a context encoder."""
from typing import List

from thinc.api import Model, chain
from thinc.types import Floats2d

from ..errors import Errors
from ..registry import registry


@registry.architectures("nlp_core.Tok2Vec.v2", aliases=["spacy.Tok2Vec.v2"])
def Tok2Vec(embed: Model[List, List[Floats2d]],
            encode: Model[List[Floats2d], List[Floats2d]]) -> Model[List, List[Floats2d]]:
    """Docs -> one (n_tokens, width) array per doc: `chain(embed, encode)`.

    Args:
        embed: context-independent word vectors (MultiHashEmbed, CharacterEmbed, ...).
        encode: adds context (MaxoutWindowEncoder, MishWindowEncoder, ...).

    The model has refs "embed" and "encode" (used by pretraining and by components that
    reach into the embedding) and dim nO = the encoder's width.
    """
    embed_width, encode_width = _dim(embed, "nO"), _dim(encode, "nI")
    if embed_width and encode_width and embed_width != encode_width:
        raise ValueError(Errors.E310.format(embed=embed_width, encode=encode_width))
    model = chain(embed, encode)
    if encode.has_dim("nO"):
        model.set_dim("nO", encode.get_dim("nO"))
    model.set_ref("embed", embed)
    model.set_ref("encode", encode)
    return model


def _dim(model: Model, name: str) -> int | None:
    return model.maybe_get_dim(name) if name in model.dim_names else None
