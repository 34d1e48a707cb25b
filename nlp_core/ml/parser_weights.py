"""The per-step parameters of TransitionBasedParser.v3 that both building the model
(`parser_model`) and running it (`parser_step`) use: the seen-class mask and the hidden and
output biases and weights read at every transition, and the hidden layer's precomputed
features at inference.
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


def precompute_into(hidden: Model, X: Any, buffer: Any) -> Any:
    """`precompute`'s output at inference, written into the first n_tokens + 1 rows of
    `buffer` (rows >= n_tokens + 1, columns nF * nO * nP) and returned as a view of them,
    shaped (n_tokens + 1, nF, nO, nP). One buffer serves all the chunks a parse call runs
    in turn (parser_step.parse): en_ewt_sm's parser chunk of 2,048 tokens is 40 MB of
    features, above glibc's 32 MiB mmap threshold, so a buffer per chunk was mapped and
    zeroed by the kernel each time: a run of `nlp.pipe` took 1.02x as long (benchmarks/
    README.md, paired_cores.py)."""
    nF, nO, nP, nI = (hidden.get_dim(d) for d in ("nF", "nO", "nP", "nI"))
    W = hidden.get_param("W").reshape((nF * nO * nP, nI))
    n = X.shape[0]
    F = buffer[:n + 1]
    hidden.ops.xp.matmul(X, W.T, out=F[:n])
    F[n] = hidden.get_param("pad").reshape(-1)
    return F.reshape((n + 1, nF, nO, nP))
