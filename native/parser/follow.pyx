# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# distutils: language = c++
"""Scoring parse states along given action sequences (distillation and rehearsal), in C.

The student parses greedily first; the teacher then scores the states along the *student's*
transitions: every step, all active states are scored with the teacher's weights (the same
hidden layer and output sgemm as `forward.c_greedy_parse`) and each state then takes its
next class from the given sequence (`GreedyBatch.c_apply_next`), not the teacher's choice.
Started from a copy of the batch the student started from, the scored rows come out in the
order of the student's training trace, so the two score matrices line up row for row.
`nlp_core.ml.parser_distill.score_actions_python` is the reference.
"""
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

import numpy

from thinc.backends.cblas cimport CBlas, sgemm, sgemm_ptr

from .batch cimport GreedyBatch, action_table
from .forward cimport ParserWeights, c_state_scores


def _f32(array, shape, what):
    out = numpy.ascontiguousarray(array, dtype=numpy.float32)
    if out.shape != shape:
        raise ValueError(f"score_actions: {what} has shape {out.shape}, expected {shape}.")
    return out


cdef tuple _set_weights(features, bias, W_out, b_out, int nF, int nH, int nP,
                        ParserWeights* w):
    """Point w at the scoring model's weights; returns the arrays it points into (keep them
    alive while w is in use). The model's classes need not be the batch's: the scores are
    in the model's own class order (nO = rows of W_out, or nH without an output layer)."""
    feats = numpy.ascontiguousarray(features, dtype=numpy.float32)
    if feats.ndim != 2 or feats.shape[1] != nF * nH * nP or feats.shape[0] < 1:
        raise ValueError(f"score_actions: features has shape {feats.shape}, expected "
                         f"(n_tokens + 1, {nF * nH * nP}).")
    b = _f32(numpy.asarray(bias).reshape(-1), (nH * nP,), "bias")
    cdef const float[:, ::1] fv = feats
    cdef const float[::1] bv = b
    cdef const float[:, ::1] wv
    cdef const float[::1] bov
    w.features = &fv[0, 0]
    w.n_rows = feats.shape[0]
    w.nF = nF
    w.nH = nH
    w.nP = nP
    w.bias = &bv[0]
    w.seen = NULL
    w.W_out = NULL
    w.b_out = NULL
    w.nO = nH
    W = bo = None
    if W_out is not None:
        W = numpy.ascontiguousarray(W_out, dtype=numpy.float32)
        if W.ndim != 2 or W.shape[1] != nH or W.shape[0] < 1:
            raise ValueError(f"score_actions: W_out has shape {W.shape}, expected (nO, {nH}).")
        bo = _f32(b_out, (W.shape[0],), "b_out")
        wv = W
        bov = bo
        w.W_out = &wv[0, 0]
        w.b_out = &bov[0]
        w.nO = W.shape[0]
    return feats, b, W, bo


cdef int c_score_actions(GreedyBatch batch, const ParserWeights* w, const int* actions,
                         const long* starts, const int* lengths, int* taken, float* out,
                         int* sizes, int max_rows, int* bad_state, int* bad_step,
                         sgemm_ptr gemm) noexcept nogil:
    """Score the active states (raw scores, no seen mask) into out (rows in step order),
    then advance each along its sequence, until every state is final. Returns the number
    of steps, -1 when out of memory, -2 on a context width the system lacks, -3 when more
    than max_rows rows would be scored."""
    cdef int n = batch.n_states if batch.n_states > 0 else 1
    cdef int* ctx = <int*>malloc(n * w.nF * sizeof(int))
    cdef float* pre = <float*>malloc(n * w.nH * w.nP * sizeof(float))
    cdef float* hidden = <float*>malloc(n * w.nH * sizeof(float))
    cdef int steps = 0
    cdef long row = 0
    if ctx == NULL or pre == NULL or hidden == NULL:
        free(ctx); free(pre); free(hidden)
        return -1
    while batch.n_active > 0:
        if row + batch.n_active > max_rows:
            steps = -3
            break
        if batch.c_fill_context(ctx, w.nF) < 0:
            steps = -2
            break
        c_state_scores(w, ctx, batch.n_active, pre, hidden, out + row * w.nO, gemm)
        sizes[steps] = batch.n_active
        row += batch.n_active
        steps += 1
        batch.c_apply_next(actions, starts, lengths, taken, bad_state, bad_step)
    free(ctx); free(pre); free(hidden)
    return steps


def score_actions(GreedyBatch batch, actions, features, bias, W_out, b_out, int nF, int nH,
                  int nP, int max_rows):
    """Advance `batch` along `actions`, scoring every active state before each step.

    Args:
        batch: the states (its docs' tokens are the rows of `features`, in order).
        actions: one int sequence per state: the classes it takes (see
            `GreedyBatch.apply_actions`).
        features, bias, W_out, b_out, nF, nH, nP: the scoring model's weights, as for
            `forward.greedy_parse` (no seen mask: the scores are raw). The model may have
            other classes than the batch's system (a teacher with fewer labels than its
            student): the scores come in the model's class order.
        max_rows: the most states that may be scored, all steps together (the caller knows
            it: the rows of the trace the actions came from).

    Returns:
        (sizes int32 (n_steps,) states scored per step, scores float32 (N, nO) with nO the
        model's classes).

    Raises:
        ValueError: an action is invalid for its state, more than max_rows states would be
            scored, or no context layout has width nF.
    """
    cdef ParserWeights w
    keep = _set_weights(features, bias, W_out, b_out, nF, nH, nP, &w)
    flat, starts, lengths = action_table(actions, batch.n_states)
    if len(flat) and flat.min() < 0:
        raise ValueError("score_actions: class ids must be >= 0.")
    if max_rows < 0:
        raise ValueError(f"score_actions: max_rows must be >= 0, got {max_rows}.")
    cdef const int[::1] f = flat if len(flat) else numpy.zeros(1, dtype=numpy.int32)
    cdef const long[::1] st = starts if len(starts) else numpy.zeros(1, dtype=numpy.int64)
    cdef const int[::1] ln = lengths if len(lengths) else numpy.zeros(1, dtype=numpy.int32)
    taken = numpy.zeros(max(batch.n_states, 1), dtype=numpy.int32)
    scores = numpy.empty((max(max_rows, 1), w.nO), dtype=numpy.float32)
    # a step scores at least one state, so there are at most max_rows steps
    sizes = numpy.empty(max(max_rows, 1), dtype=numpy.int32)
    cdef int[::1] t = taken
    cdef float[:, ::1] out = scores
    cdef int[::1] sz = sizes
    cdef int bad_state = -1, bad_step = -1, steps
    cdef CBlas cblas = CBlas()
    cdef sgemm_ptr gemm = sgemm(cblas)
    with nogil:
        steps = c_score_actions(batch, &w, &f[0], &st[0], &ln[0], &t[0], &out[0, 0], &sz[0],
                                max_rows, &bad_state, &bad_step, gemm)
    if steps == -1:
        raise MemoryError()
    if steps == -2:
        raise ValueError(f"score_actions: no context layout of width {nF} for "
                         f"{type(batch.system).__name__}.")
    if steps == -3:
        raise ValueError(f"score_actions: more than max_rows ({max_rows}) states to score; "
                         "the actions do not come from a run of this batch.")
    if bad_state >= 0:
        clas = int(flat[starts[bad_state] + bad_step])
        raise ValueError(f"score_actions: action {bad_step} of state {bad_state} (class "
                         f"{clas}) is invalid there; give the classes the state took in a "
                         "run from the same start (e.g. another batch's history).")
    n_rows = int(sizes[:steps].sum())
    return sizes[:steps].copy(), scores[:n_rows]
