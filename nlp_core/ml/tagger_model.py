"""Tagger.v2: token vectors -> a softmax over the tag set, per token."""
from typing import List

from thinc.api import Model, Softmax_v2, chain, with_array, zero_init
from thinc.types import Floats2d

from ..registry import registry


@registry.architectures("nlp_core.Tagger.v2", aliases=["spacy.Tagger.v2"])
def Tagger(tok2vec: Model[List, List[Floats2d]], nO: int | None = None,
           normalize: bool = False) -> Model[List, List[Floats2d]]:
    """Docs -> one (n_tokens, nO) array of class scores per doc.

    Args:
        tok2vec: the token vectors (a Tok2Vec.v2, or a Tok2VecListener of a shared one).
        nO: number of classes; None (the usual) sets it from the labels at initialize.
        normalize: return probabilities at inference as well; otherwise inference returns
            the unnormalised scores (same argmax, no softmax cost). Training always
            returns probabilities.

    The model has refs "tok2vec" and "output_layer" (also "softmax"), the Softmax of
    shape (nO, width) whose W starts at zero.
    """
    width = tok2vec.maybe_get_dim("nO") if tok2vec.has_dim("nO") else None
    output_layer = make_output_layer(nO, width, normalize)
    model = chain(tok2vec, with_array(output_layer))
    model.set_ref("tok2vec", tok2vec)
    model.set_ref("softmax", output_layer)
    model.set_ref("output_layer", output_layer)
    return model


def make_output_layer(nO: int | None, nI: int | None, normalize: bool) -> Model:
    return Softmax_v2(nO, nI, init_W=zero_init, normalize_outputs=normalize)


def resize_output(model: Model, new_nO: int) -> Model:
    """Give a Tagger model `new_nO` classes, keeping the weights of the existing ones (the
    new rows start at zero). The output layer is replaced by a new node, so an optimizer
    starts fresh moments for it rather than mixing shapes."""
    old = model.get_ref("output_layer")
    if old.has_dim("nO") and old.get_dim("nO") == new_nO:
        return model
    nI = old.maybe_get_dim("nI") if old.has_dim("nI") else None
    new = make_output_layer(new_nO, nI, old.attrs["softmax_normalize"])
    if old.has_param("W") and nI is not None:
        new.initialize()
        n_old = min(old.get_dim("nO"), new_nO)
        W, b = new.get_param("W"), new.get_param("b")
        W[:n_old] = old.get_param("W")[:n_old]
        b[:n_old] = old.get_param("b")[:n_old]
        new.set_param("W", W)
        new.set_param("b", b)
    model.replace_node(old, new)
    # chain and with_array copied the output width when they were built
    wrappers = [node for node in model.walk() if any(layer is new for layer in node.layers)]
    for node in [model, *wrappers]:
        if node.has_dim("nO") is not False:
            node.set_dim("nO", new_nO, force=True)
    model.set_ref("softmax", new)
    model.set_ref("output_layer", new)
    return model
