"""The forward passes of TransitionBasedParser.v3 over whole transition sequences.

Inference (`model.predict((docs, batches))`): the docs are embedded once; each batch
(a GreedyBatch or BeamBatch over the next `batch.n_docs` docs) gets its token features
precomputed and is run to the end. Greedy batches run in C (`greedy_parse_c`); on GPU the
precomputed features and the step weights are copied to the host once per batch for it (one
transfer instead of a device round trip per transition). With `set_parse_threads(n)`, n > 1
(parse_threads.py), up to n batches' C loops run at once on a pool while the caller
precomputes the next batch. The numpy/cupy loop (`greedy_parse_python`,
`model.attrs["c_forward"] = False`) is the reference.

Training (`model.begin_update((docs, batch, golds))`): at every step all active states are
scored in one matrix product, their move costs against the golds are recorded (dynamic
oracle: cost 0 = the gold tree stays reachable; golds None, as in distillation: only which
moves are valid, cost 0, and which are not, inf), and each state takes its best valid move
by the model's own scores (classes outside the seen mask excluded). With oracle cuts the
batch holds every piece of every doc, so all pieces advance together. The step loop runs in
C (`native.parser.train_forward.greedy_train`, the same numbers as the numpy/cupy loop
`_steps_python`, which serves for callable golds and with `c_forward` off); on GPU its inputs
are copied to the host once per update and the recorded hidden outputs back to the device
for the backprop, which stays there. The backprop (`List[d_scores]`,
one (n_active, nO) array per step, or all steps' rows in one array) handles every scored
state at once: one output-layer product, one maxout backprop, one scatter into the
precomputed features (C on CPU), then once into the projection and tok2vec.
"""
from collections import deque
from concurrent.futures import wait
from typing import Any, Callable, Deque, List, Optional, Sequence, Tuple

import numpy
from thinc.api import Model, NumpyOps

from ..errors import Errors
from . import parse_threads
from .parser_weights import precompute_into, seen_mask, weights

# Score given to unseen classes: below any real score, but finite, so a state whose only
# valid moves are unseen still moves.
UNSEEN_SCORE = -1e30

try:
    from native.parser.forward import greedy_parse as _c_greedy_parse
    from native.parser.train_forward import greedy_train as _c_greedy_train
    from native.parser.train_forward import scatter_features as _c_scatter_features
except ImportError:  # native extensions not built: the numpy loops serve
    _c_greedy_parse = _c_greedy_train = _c_scatter_features = None


class ParserTrace:
    """What a training forward recorded, one entry per step.

    Attributes:
        scores: (n_active, nO) scores of the active states (ops arrays), per step.
        costs: (n_active, nO) float32 move costs (inf = invalid), per step.
        sizes: states scored at each step.
        batch: the batch, advanced to the end.

    The C forward records all steps' rows in one array (`from_rows`); `all_scores()` and
    `all_costs()` give the rows of every step concatenated without copying them then.
    """

    def __init__(self, batch: Any, scores: List[Any], costs: List[numpy.ndarray]):
        self.batch = batch
        self._scores: Optional[List[Any]] = scores
        self._costs: Optional[List[numpy.ndarray]] = costs
        self.sizes = [int(s.shape[0]) for s in scores]
        self._S: Any = None
        self._C: Optional[numpy.ndarray] = None

    @classmethod
    def from_rows(cls, batch: Any, sizes: Sequence[int], scores: Any,
                  costs: numpy.ndarray) -> "ParserTrace":
        """A trace from every step's rows concatenated: scores / costs (N, nO)."""
        trace = cls(batch, [], [])
        trace.sizes = [int(n) for n in sizes]
        trace._scores = trace._costs = None
        trace._S, trace._C = scores, costs
        return trace

    @property
    def scores(self) -> List[Any]:
        if self._scores is None:
            self._scores = split_rows(self._S, self.sizes)
        return self._scores

    @property
    def costs(self) -> List[numpy.ndarray]:
        if self._costs is None:
            self._costs = split_rows(self._C, self.sizes)
        return self._costs

    def all_scores(self, to_numpy: Callable[[Any], numpy.ndarray] = numpy.asarray
                   ) -> numpy.ndarray:
        """(N, nO) scores of every scored state, steps in order, as numpy."""
        if self._S is None:
            return numpy.concatenate([to_numpy(s) for s in self._scores])
        return to_numpy(self._S)

    def all_costs(self) -> numpy.ndarray:
        """(N, nO) move costs of every scored state, steps in order."""
        if self._C is None:
            return numpy.concatenate(self._costs)
        return self._C

    @property
    def n_steps(self) -> int:
        return len(self.sizes)

    @property
    def n_scored(self) -> int:
        return sum(self.sizes)


def split_rows(rows: Any, sizes: Sequence[int]) -> List[Any]:
    """Views of consecutive row blocks of `rows`, one per size."""
    out = []
    start = 0
    for n in sizes:
        out.append(rows[start:start + n])
        start += n
    return out


def forward(model: Model, inputs: Tuple, is_train: bool):
    if is_train:
        docs, batch, golds = inputs
        return _forward_train(model, docs, batch, golds)
    docs, batches = inputs
    parse(model, docs, batches)
    return batches, _no_backprop


def _no_backprop(d_out: Any) -> List:
    return []


def _check(model: Model, batch: Any) -> None:
    nO = model.get_dim("nO") if model.has_dim("nO") else None
    if nO is None:
        raise ValueError(Errors.E372)
    if nO != batch.n_moves:
        raise ValueError(Errors.E373.format(nO=nO, n_moves=batch.n_moves))


def parse(model: Model, docs: Sequence, batches: Sequence[Any], *,
          use_c: Optional[bool] = None) -> None:
    """Run every batch to the end (see the module docstring).

    Args:
        docs: the docs, in the order of the batches' docs.
        batches: GreedyBatch / BeamBatch objects over consecutive slices of `docs`.
        use_c: force (True) or forbid (False) the C greedy loop (on GPU: on host copies);
            default: `model.attrs["c_forward"]`.
    """
    if not batches:
        return
    X = model.get_ref("projection").predict(list(docs))
    hidden = model.get_ref("hidden")
    if use_c is None:
        use_c = model.attrs.get("c_forward", True) and _c_greedy_parse is not None
    pending = []  # (batch, its first row of X, its tokens) of each batch not final yet
    doc_start = token_start = 0
    for batch in batches:
        _check(model, batch)
        n_tokens = sum(len(doc) for doc in docs[doc_start:doc_start + batch.n_docs])
        if not batch.is_final():
            pending.append((batch, token_start, n_tokens))
        doc_start += batch.n_docs
        token_start += n_tokens
    if not pending:
        return
    rows = max(n_tokens for _, _, n_tokens in pending) + 1
    width = hidden.get_dim("nF") * hidden.get_dim("nO") * hidden.get_dim("nP")
    if use_c and parse_threads.parse_threads() > 1 and len(pending) > 1 and \
            all(hasattr(batch, "greedy_step") for batch, _, _ in pending):
        _parse_in_threads(model, X, pending, rows, width)
        return
    # one buffer for every batch's precomputed features, each batch's in turn
    buffer = hidden.ops.alloc2f(rows, width, zeros=False)
    for batch, start, n_tokens in pending:
        F = precompute_into(hidden, X[start:start + n_tokens], buffer)
        if not hasattr(batch, "greedy_step"):
            beam_parse_python(model, F, batch)
        elif use_c:
            greedy_parse_c(model, F, batch)
        else:
            greedy_parse_python(model, F, batch)


def _parse_in_threads(model: Model, X: Any, pending: Sequence[Tuple[Any, int, int]],
                      rows: int, width: int) -> None:
    """`parse`'s greedy C loops on the parse_threads pool, over its `pending` (batch, first
    row of X, tokens): the caller precomputes each batch's features and hands its loop
    over, with at most parse_threads() loops in flight. On the CPU the features are the
    buffer itself, so each loop in flight has its own; on a GPU they are copied to the
    host, and one device buffer serves. Every loop has ended when this returns or
    raises."""
    hidden = model.get_ref("hidden")
    limit = parse_threads.parse_threads()
    pool = parse_threads.executor()
    on_host = isinstance(hidden.ops, NumpyOps)
    free: List[Any] = []  # buffers whose loops have ended (on the CPU)
    device_buffer = None if on_host else hidden.ops.alloc2f(rows, width, zeros=False)
    in_flight: Deque[Tuple[Any, Any]] = deque()
    try:
        for batch, start, n_tokens in pending:
            if len(in_flight) >= limit:
                future, buffer = in_flight.popleft()
                future.result()
                if on_host:
                    free.append(buffer)
            if on_host:
                buffer = free.pop() if free else hidden.ops.alloc2f(rows, width, zeros=False)
            else:  # the loop reads a host copy: the device buffer is free again at once
                buffer = device_buffer
            F = precompute_into(hidden, X[start:start + n_tokens], buffer)
            args = c_parse_args(model, F, batch)
            in_flight.append((pool.submit(_c_greedy_parse, *args), buffer))
    finally:
        wait([future for future, _ in in_flight])
    for future, _ in in_flight:
        future.result()


def state_scores(ops: Any, F: Any, ctx: Any, b: Any, W_out: Any, b_out: Any):
    """Scores of states with contexts ctx (n, nF) int32 (-1 = padding): returns
    (scores (n, nO), hidden outputs (n, nH), maxout argmax (n, nH))."""
    nF, nH, nP = F.shape[1], F.shape[2], F.shape[3]
    xp = ops.xp
    pre = F[ops.asarray(ctx), xp.arange(nF)].sum(axis=1)
    pre += b.reshape((nH, nP))
    h, which = ops.maxout(pre)
    if W_out is None:
        return h, h, which
    scores = ops.gemm(h, W_out, trans2=True)
    scores += b_out
    return scores, h, which


def _masked(scores: numpy.ndarray, seen: Optional[numpy.ndarray]) -> numpy.ndarray:
    if seen is None or seen.all():
        return scores
    out = scores.copy()
    out[:, ~seen] = UNSEEN_SCORE
    return out


def greedy_parse_python(model: Model, F: Any, batch: Any) -> None:
    """The reference greedy loop: score the active states, take each one's best valid
    move, until every state is final."""
    ops = model.ops
    b, W_out, b_out = weights(model)
    seen = seen_mask(model)
    nF = F.shape[1]
    while not batch.is_final():
        scores, _, _ = state_scores(ops, F, batch.get_context(nF), b, W_out, b_out)
        batch.greedy_step(_masked(ops.to_numpy(scores), seen))


def host_weights(model: Model, F: Any) -> Tuple:
    """What the C loops read, as host float32 arrays: the features (n_rows, nF * nH * nP)
    and the step weights (b, W_out, b_out). No copy on CPU; one transfer each on GPU."""
    ops = model.ops
    n_rows, nF, nH, nP = F.shape

    def host(array: Any) -> Any:
        if array is None:
            return None
        return numpy.ascontiguousarray(ops.to_numpy(array), dtype=numpy.float32)

    return (host(F.reshape((n_rows, nF * nH * nP))),
            *(host(array) for array in weights(model)))


def greedy_parse_c(model: Model, F: Any, batch: Any) -> None:
    """The same loop in C (native.parser.forward), the GIL released throughout."""
    _c_greedy_parse(*c_parse_args(model, F, batch))


def c_parse_args(model: Model, F: Any, batch: Any) -> Tuple:
    """The arguments of native.parser.forward.greedy_parse for `batch` with features F,
    as host arrays."""
    features, b, W_out, b_out = host_weights(model, F)
    seen = seen_mask(model)
    _, nF, nH, nP = F.shape
    return (batch, features, b, W_out, b_out,
            None if seen is None else seen.view(numpy.uint8), nF, nH, nP)


def beam_parse_python(model: Model, F: Any, batch: Any) -> None:
    """Beam search: each step adds the log-softmax (over the valid classes) of the scores
    to the states' cumulative scores."""
    ops = model.ops
    b, W_out, b_out = weights(model)
    seen = seen_mask(model)
    nF = F.shape[1]
    while not batch.is_final():
        scores, _, _ = state_scores(ops, F, batch.get_context(nF), b, W_out, b_out)
        scores = _masked(ops.to_numpy(scores), seen)
        batch.advance(log_softmax_valid(scores, batch.valid_mask()))


def log_softmax_valid(scores: numpy.ndarray, valid: numpy.ndarray) -> numpy.ndarray:
    """Log-probabilities over each row's valid classes (-inf elsewhere)."""
    masked = numpy.where(valid, scores, -numpy.inf)
    top = masked.max(axis=1, keepdims=True)
    top[~numpy.isfinite(top)] = 0.0
    with numpy.errstate(divide="ignore"):
        log_z = numpy.log(numpy.exp(masked - top).sum(axis=1, keepdims=True)) + top
    return (masked - log_z).astype(numpy.float32)


def _use_c_train(model: Model, golds: Any) -> bool:
    return model.attrs.get("c_forward", True) and _c_greedy_train is not None \
        and not callable(golds)


def _forward_train(model: Model, docs: Sequence, batch: Any, golds: Sequence[Any]):
    ops = model.ops
    _check(model, batch)
    projection, hidden = model.get_ref("projection"), model.get_ref("hidden")
    X, backprop_X = projection.begin_update(list(docs))
    F, backprop_F = hidden.begin_update(X)
    n_rows, nF, nH, nP = F.shape
    if _use_c_train(model, golds):
        trace, ctx, H, which = _steps_c(model, F, batch, golds)
    else:
        trace, ctx, H, which = _steps_python(model, F, batch, golds)
    W_out = weights(model)[1]

    def backprop(d_scores: Any) -> List:
        """d_scores: one (n_active, nO) array per step, or every step's rows in one
        (N, nO) array."""
        if isinstance(d_scores, (list, tuple)):
            if not d_scores:
                return []
            on_host = isinstance(d_scores[0], numpy.ndarray)
            d_scores = d_scores[0] if len(d_scores) == 1 else \
                (numpy if on_host else ops.xp).concatenate(d_scores)
        if ctx.shape[0] == 0:
            return []
        dS = ops.asarray2f(d_scores)
        if W_out is not None:
            output = model.get_ref("output")
            output.inc_grad("W", ops.gemm(dS, H, trans1=True))
            output.inc_grad("b", dS.sum(axis=0))
            dH = ops.gemm(dS, W_out)
        else:
            dH = dS
        d_pre = ops.backprop_maxout(dH, which, nP)  # (N, nH, nP)
        hidden.inc_grad("b", d_pre.sum(axis=0))
        dF = _scatter_features(ops, ctx, d_pre.reshape((len(d_pre), -1)), n_rows, nF)
        backprop_X(backprop_F(dF))
        return []

    return trace, backprop


def _steps_python(model: Model, F: Any, batch: Any, golds: Any) -> Tuple:
    """The reference training loop (and the GPU path): returns (trace, contexts (N, nF),
    maxout outputs (N, nH), maxout argmax (N, nH)) of every scored state."""
    ops = model.ops
    nF = F.shape[1]
    b, W_out, b_out = weights(model)
    seen = seen_mask(model)
    ctxs: List[numpy.ndarray] = []
    hiddens: List[Any] = []
    whichs: List[Any] = []
    scores_list: List[Any] = []
    costs_list: List[numpy.ndarray] = []
    while not batch.is_final():
        ctx = batch.get_context(nF)
        scores, h, which = state_scores(ops, F, ctx, b, W_out, b_out)
        costs_list.append(validity_costs(batch) if golds is None else
                          golds(batch) if callable(golds) else batch.costs(golds))
        batch.greedy_step(_masked(ops.to_numpy(scores), seen))
        ctxs.append(ctx)
        hiddens.append(h)
        whichs.append(which)
        scores_list.append(scores)
    trace = ParserTrace(batch, scores_list, costs_list)
    if not ctxs:
        return trace, numpy.zeros((0, nF), dtype=numpy.int32), None, None
    xp = ops.xp
    return (trace, numpy.concatenate(ctxs), xp.concatenate(hiddens),
            xp.concatenate(whichs))


def validity_costs(batch: Any) -> numpy.ndarray:
    """The costs of a training forward without golds (distillation, rehearsal): 0 for
    each active state's valid classes, inf for the others, float32 (n_active, nO)."""
    return numpy.where(batch.valid_mask(), 0.0, numpy.inf).astype(numpy.float32)


def _steps_c(model: Model, F: Any, batch: Any, golds: Sequence[Any]) -> Tuple:
    """The same loop in C (native.parser.train_forward), the same numbers. On GPU it runs on
    host copies (`host_weights`) and the hidden outputs and maxout argmax go back to the
    device; the recorded scores stay on the host (the loss reads them there)."""
    features, b, W_out, b_out = host_weights(model, F)
    seen = seen_mask(model)
    _, nF, nH, nP = F.shape
    rec = _c_greedy_train(batch, features, b, W_out, b_out,
                          None if seen is None else seen.view(numpy.uint8), golds, nF, nH, nP)
    trace = ParserTrace.from_rows(batch, rec["sizes"], rec["scores"], rec["costs"])
    ops = model.ops  # on CPU these are the same arrays, not copies
    return (trace, rec["ctx"], ops.asarray2f(rec["hidden"]),
            ops.asarray(rec["which"], dtype="int32"))


def _scatter_features(ops: Any, ctx: numpy.ndarray, d_pre: Any, n_rows: int, nF: int) -> Any:
    """d F (n_rows * nF, nH * nP): each state's gradient added to the feature rows it read
    (row n_rows - 1 = padding)."""
    width = d_pre.shape[1]
    dF = ops.alloc2f(n_rows * nF, width)
    if _c_scatter_features is not None and isinstance(ops, NumpyOps):
        return _c_scatter_features(dF, ctx, d_pre, n_rows, nF)
    rows = numpy.where(ctx < 0, n_rows - 1, ctx).astype(numpy.int32)
    index = (rows * nF + numpy.arange(nF, dtype=numpy.int32)).reshape(-1)
    values = ops.xp.ascontiguousarray(
        ops.xp.broadcast_to(d_pre[:, None, :], (d_pre.shape[0], nF, width)).reshape((-1, width)))
    ops.scatter_add(dF, ops.asarray(index, dtype="int32"), values)
    return dF


def transition_loss(trace: ParserTrace, seen: Optional[numpy.ndarray], *,
                    to_numpy: Callable[[Any], numpy.ndarray] = numpy.asarray
                    ) -> Tuple[float, List[numpy.ndarray]]:
    """Softmax cross-entropy against the zero-cost moves: per scored state,
    -log(sum of the probabilities of its zero-cost valid classes), the softmax taken over
    its valid seen classes. States without a zero-cost seen class get no gradient.

    Args:
        trace: what the training forward recorded.
        seen: bool (nO,) seen-class mask, or None.
        to_numpy: converts the recorded scores (`model.ops.to_numpy` on GPU).

    Returns:
        (loss, d_scores per step (float32 numpy, zero on invalid / unseen classes)).
    """
    if not trace.n_steps:
        return 0.0, []
    sizes = trace.sizes
    S = numpy.asarray(trace.all_scores(to_numpy), dtype=numpy.float32)
    C = trace.all_costs()
    valid = numpy.isfinite(C)
    if seen is not None:
        valid &= seen[None, :]
    gold = valid & (C <= 0)
    has_gold = gold.any(axis=1)
    masked = numpy.where(valid, S, -numpy.inf)
    top = masked.max(axis=1, keepdims=True)
    top[~numpy.isfinite(top)] = 0.0
    E = numpy.exp(masked - top)
    Z = E.sum(axis=1, keepdims=True)
    gE = numpy.where(gold, E, 0.0)
    gZ = gE.sum(axis=1, keepdims=True)
    with numpy.errstate(divide="ignore", invalid="ignore"):
        d = E / Z - gE / gZ
        row_loss = numpy.log(Z[:, 0]) - numpy.log(gZ[:, 0])
    d[~has_gold] = 0.0
    loss = float(row_loss[has_gold].sum())
    d = d.astype(numpy.float32)
    return loss, split_rows(d, sizes)
