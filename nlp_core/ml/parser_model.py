"""TransitionBasedParser.v3: the scoring model of the parser and the entity recogniser.

    docs --tok2vec--> (n_tokens, t2v_width) --Linear--> X (n_tokens, nI = hidden_width)
    X --hidden W (nF, nH, nP, nI)--> F (n_tokens + 1, nF, nH, nP)     once per batch; row -1
                                                                      is the learned padding
    state with context (t_1..t_nF) -> b + sum_f F[t_f, f]  (nH, nP) -> maxout (nH,)
                                   -> output Linear (nO, nH) -> scores (nO,)   [use_upper]

With `use_upper = false` the hidden layer has nH = nO and its maxout outputs are the
scores. A state's context is the token rows `GreedyBatch.get_context(nF)` gives (-1 = no
token there, which reads the padding row).

The model runs over whole transition sequences (see `parser_step`):

- inference: `model.predict((docs, batches))` parses `batches` (GreedyBatch or BeamBatch
  over consecutive slices of `docs`) to the end and returns them; greedy batches on CPU run
  in C (`native.parser.forward`), without returning to Python per transition.
- training: `model.begin_update((docs, batch, golds))` (golds: one Gold per doc, or a
  callable `batch -> costs`) advances `batch` with the model's own best valid moves,
  records every step's scores and move costs (dynamic oracle) and returns a
  `ParserTrace`; its backprop takes one d_scores array per step.

`model.attrs["seen_mask"]`: bool (nO,) array of the classes seen in training data (None:
all); other classes get no gradient and are predicted only when nothing else is valid.
"""
from typing import Any, Optional

import numpy
from thinc.api import Linear, Model, chain, list2array, zero_init
from thinc.types import Floats2d

from ..errors import Errors
from ..registry import registry
from .parser_step import forward
from .parser_weights import precompute_into, seen_mask, set_seen_classes, weights

# Context widths (nF) of each state type, without and with extra state tokens.
STATE_FEATURES = {"parser": (8, 13), "ner": (3, 6)}


@registry.architectures("nlp_core.TransitionBasedParser.v3",
                        aliases=["spacy.TransitionBasedParser.v3"])
def TransitionBasedParser(tok2vec: Model, state_type: str, extra_state_tokens: bool = False,
                          hidden_width: int = 64, maxout_pieces: int = 2,
                          use_upper: bool = True, nO: Optional[int] = None) -> Model:
    """Scores of the moves of parse states (see the module docstring).

    Args:
        tok2vec: Docs -> List[(n_tokens, width)] (a Tok2Vec, or a listener of a shared one).
        state_type: "parser" (arc-eager states, 8 or 13 context tokens) or "ner" (BILUO
            states, 3 or 6).
        extra_state_tokens: use the wider context (13 / 6 tokens).
        hidden_width: width of the token projection and (with use_upper) of the hidden
            layer; 64-256 typical.
        maxout_pieces: maxout pieces of the hidden layer (1-3).
        use_upper: put an output layer (nO, hidden_width) on the hidden layer; without it
            the hidden layer outputs the scores directly (usual with transformers).
        nO: number of moves; None (the usual) sets it from the labels at initialize.

    Refs: "tok2vec", "projection" (tok2vec + Linear), "hidden", "output" (use_upper only).
    """
    if state_type not in STATE_FEATURES:
        raise ValueError(Errors.E370.format(value=state_type))
    if hidden_width < 1 or maxout_pieces < 1:
        raise ValueError(Errors.E371.format(hidden_width=hidden_width,
                                                       maxout_pieces=maxout_pieces))
    nF = STATE_FEATURES[state_type][int(bool(extra_state_tokens))]
    t2v_width = tok2vec.maybe_get_dim("nO") if tok2vec.has_dim("nO") else None
    projection = chain(tok2vec, list2array(), Linear(hidden_width, t2v_width))
    hidden = make_hidden(nO=hidden_width if use_upper else nO, nF=nF, nI=hidden_width,
                         nP=maxout_pieces)
    layers = [projection, hidden]
    refs = {"tok2vec": tok2vec, "projection": projection, "hidden": hidden}
    if use_upper:
        output = make_output(nO, hidden_width)
        layers.append(output)
        refs["output"] = output
    return Model("transition_parser", forward, init=init, layers=layers, refs=refs,
                 dims={"nO": nO, "nF": nF, "nH": hidden_width, "nP": maxout_pieces},
                 attrs={"state_type": state_type, "use_upper": bool(use_upper),
                        "seen_mask": None, "c_forward": True})


def make_hidden(*, nO: Optional[int], nF: int, nI: int, nP: int) -> Model:
    """The hidden layer's weights: W (nF, nO, nP, nI), b (nO, nP), pad (nF, nO, nP). Its
    forward precomputes the per-token features (`precompute`)."""
    return Model("parser_hidden", precompute, init=_init_hidden,
                 dims={"nO": nO, "nF": nF, "nI": nI, "nP": nP},
                 params={"W": None, "b": None, "pad": None})


def make_output(nO: Optional[int], nI: int) -> Model:
    return Linear(nO, nI, init_W=zero_init)


def precompute(model: Model, X: Floats2d, is_train: bool):
    """Token features of every hidden unit: X (n_tokens, nI) -> (n_tokens + 1, nF, nO, nP),
    the last row being the padding vector.

    The three products here (forward, d W, d X) are most of a training update's time; they
    go through the array module's matmul (numpy: its OpenBLAS, single-threaded about 1.3x
    faster than thinc's BLIS gemm at these shapes on the 2-core benchmark VM; cupy on GPU)."""
    nF, nO, nP, nI = (model.get_dim(d) for d in ("nF", "nO", "nP", "nI"))
    W = model.get_param("W").reshape((nF * nO * nP, nI))
    xp = model.ops.xp
    n = X.shape[0]
    F = precompute_into(model, X, model.ops.alloc2f(n + 1, nF * nO * nP, zeros=False))

    def backprop(dF: Any) -> Floats2d:
        dF = dF.reshape((n + 1, nF * nO * nP))
        model.inc_grad("pad", dF[n].reshape((nF, nO, nP)))
        model.inc_grad("W", xp.matmul(dF[:n].T, X).reshape((nF, nO, nP, nI)))
        return xp.matmul(dF[:n], W)

    return F, backprop


def _init_hidden(model: Model, X: Any = None, Y: Any = None) -> None:
    nF, nO, nP, nI = (model.get_dim(d) for d in ("nF", "nO", "nP", "nI"))
    ops = model.ops
    # LeCun-normal over the nF * nI inputs summed into each unit; numpy's global generator,
    # so that thinc's fix_random_seed makes it reproducible.
    scale = float(numpy.sqrt(1.0 / (nF * nI)))
    W = numpy.random.normal(0.0, scale, size=(nF, nO, nP, nI))
    pad = numpy.random.normal(0.0, scale, size=(nF, nO, nP))
    model.set_param("W", ops.asarray(W, dtype="float32"))
    model.set_param("pad", ops.asarray(pad, dtype="float32"))
    model.set_param("b", ops.alloc2f(nO, nP))


def init(model: Model, X: Any = None, Y: Any = None) -> None:
    """Initialise from a sample of Docs (X); nO must be set (from the moves)."""
    if not model.has_dim("nO"):
        raise ValueError(Errors.E372)
    nO = model.get_dim("nO")
    projection, hidden = model.get_ref("projection"), model.get_ref("hidden")
    docs = X[0] if isinstance(X, tuple) else X
    projection.initialize(X=docs if docs else None)
    if not model.attrs["use_upper"] and not hidden.has_dim("nO"):
        hidden.set_dim("nO", nO)
    hidden.initialize()
    if model.attrs["use_upper"]:
        output = model.get_ref("output")
        if not output.has_dim("nO"):
            output.set_dim("nO", nO)
        output.initialize()


def n_moves(model: Model) -> Optional[int]:
    return model.get_dim("nO") if model.has_dim("nO") else None


def resize_output(model: Model, new_nO: int) -> Model:
    """Give the model `new_nO` moves, keeping the weights of the existing ones (new rows
    start at zero). An initialised layer is replaced by a new node, so an optimizer starts
    fresh moments for it; before initialization only the dimensions change. New classes
    count as seen."""
    old_nO = n_moves(model)
    if old_nO == new_nO:
        return model
    if old_nO is not None and new_nO < old_nO:
        raise ValueError(Errors.E375.format(old=old_nO, new=new_nO))
    name = "output" if model.attrs["use_upper"] else "hidden"
    old = model.get_ref(name)
    if not old.has_param("W"):
        old.set_dim("nO", new_nO, force=True)
        model.set_dim("nO", new_nO, force=True)
        return model
    if name == "output":
        new = make_output(new_nO, old.get_dim("nI"))
        new.initialize()
        for param in ("W", "b"):  # (nO, ...)
            value = new.get_param(param)
            value[:old_nO] = old.get_param(param)
            value[old_nO:] = 0.0
            new.set_param(param, value)
    else:
        new = make_hidden(nO=new_nO, nF=old.get_dim("nF"), nI=old.get_dim("nI"),
                          nP=old.get_dim("nP"))
        new.initialize()
        for param in ("W", "b", "pad"):
            value = new.get_param(param)
            if param == "b":  # (nO, nP)
                value[:old_nO] = old.get_param(param)
                value[old_nO:] = 0.0
            else:  # (nF, nO, ...)
                value[:, :old_nO] = old.get_param(param)
                value[:, old_nO:] = 0.0
            new.set_param(param, value)
    model.replace_node(old, new)
    model.set_ref(name, new)
    model.set_dim("nO", new_nO, force=True)
    seen = model.attrs.get("seen_mask")
    if seen is not None:
        model.attrs["seen_mask"] = numpy.concatenate(
            [numpy.asarray(seen, dtype=bool), numpy.ones(new_nO - len(seen), dtype=bool)])
    return model


# The seen-class helpers are used through this module by the components and tests.
__all__ = ["TransitionBasedParser", "make_hidden", "make_output", "precompute", "init",
           "n_moves", "resize_output", "set_seen_classes", "seen_mask", "weights"]
