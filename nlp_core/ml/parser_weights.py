"""The per-step parameters of TransitionBasedParser.v3 that both building the model
(`parser_model`) and running it (`parser_step`) use: the seen-class mask and the hidden and
output biases and weights read at every transition.
"""
from typing import Any, List, Optional

import numpy
from thinc.api import Model


def set_seen_classes(model: Model, seen: Optional[numpy.ndarray]) -> None:
    """Set the seen-class mask: bool (nO,), or None for all classes."""
    model.attrs["seen_mask"] = None if seen is None else numpy.asarray(seen, dtype=bool).copy()


def seen_mask(model: Model) -> Optional[numpy.ndarray]:
    """The bool (nO,) seen-class mask, or None (all seen)."""
    seen = model.attrs.get("seen_mask")
    if seen is None:
        return None
    seen = numpy.asarray(seen, dtype=bool)
    nO = model.get_dim("nO")
    if seen.shape[0] < nO:  # classes added since: seen
        seen = numpy.concatenate([seen, numpy.ones(nO - seen.shape[0], dtype=bool)])
    return seen


def weights(model: Model) -> List[Any]:
    """(b (nH*nP,), W_out (nO, nH) or None, b_out (nO,) or None) as used per step."""
    hidden = model.get_ref("hidden")
    b = hidden.get_param("b").reshape(-1)
    if model.attrs["use_upper"]:
        output = model.get_ref("output")
        return [b, output.get_param("W"), output.get_param("b")]
    return [b, None, None]
