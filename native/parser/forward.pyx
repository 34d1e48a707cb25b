# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# distutils: language = c++
"""Greedy parsing in C over precomputed hidden-layer features (CPU inference).

For a GreedyBatch, every step: the active states' contexts (`c_fill_context`), per state
the hidden pre-activations `bias + sum_f F[ctx[f], f]` (context -1 reads the padding row,
the last row of F), maxout over the pieces, the output layer for all states in one sgemm
(thinc's CBlas), unseen classes pushed below every real score, then each state's best
valid move (`c_greedy_step`). The loop runs to the end without the GIL and never returns
to Python per transition. `nlp_core.ml.parser_step.greedy_parse_python` is the reference.
"""
from libc.stdint cimport uint8_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

import numpy

from thinc.backends.cblas cimport CBlas, sgemm, sgemm_ptr

from .batch cimport GreedyBatch

# Below any real score, finite: a state whose valid moves are all unseen still moves.
cdef float UNSEEN_SCORE = -1e30


cdef void c_state_scores(const ParserWeights* w, const int* ctx, int n_states, float* pre,
                         float* hidden, float* scores, sgemm_ptr gemm) noexcept nogil:
    """Scores (n_states, nO) of states with contexts ctx (n_states, nF). pre: scratch of
    (n_states, nH * nP) floats; hidden: (n_states, nH), unused (may alias scores) without
    an output layer."""
    cdef int nF = w.nF, nH = w.nH, nP = w.nP, nO = w.nO
    cdef int width = nH * nP
    cdef int i, f, k, j, q, row
    cdef float* p
    cdef float* h
    cdef const float* src
    cdef float best
    for i in range(n_states):
        p = pre + i * width
        memcpy(p, w.bias, width * sizeof(float))
        for f in range(nF):
            row = ctx[i * nF + f]
            if row < 0:
                row = w.n_rows - 1
            src = w.features + (<long>row * nF + f) * width
            for k in range(width):
                p[k] += src[k]
        h = (hidden if w.W_out != NULL else scores) + i * nH
        for j in range(nH):
            best = p[j * nP]
            for q in range(1, nP):
                if p[j * nP + q] > best:
                    best = p[j * nP + q]
            h[j] = best
    if w.W_out != NULL and n_states > 0:
        gemm(False, True, n_states, nO, nH, 1.0, hidden, nH, w.W_out, nH, 0.0, scores, nO)
        for i in range(n_states):
            for k in range(nO):
                scores[i * nO + k] += w.b_out[k]
    if w.seen != NULL:
        for i in range(n_states):
            for k in range(nO):
                if not w.seen[k]:
                    scores[i * nO + k] = UNSEEN_SCORE


cdef int c_greedy_parse(GreedyBatch batch, const ParserWeights* w,
                        sgemm_ptr gemm) noexcept nogil:
    """Run every state of batch to the end; returns the number of steps, -1 when out of
    memory."""
    cdef int n = batch.n_states if batch.n_states > 0 else 1
    cdef int* ctx = <int*>malloc(n * w.nF * sizeof(int))
    cdef float* pre = <float*>malloc(n * w.nH * w.nP * sizeof(float))
    cdef float* hidden = <float*>malloc(n * w.nH * sizeof(float))
    cdef float* scores = <float*>malloc(n * w.nO * sizeof(float))
    cdef int steps = 0
    if ctx == NULL or pre == NULL or hidden == NULL or scores == NULL:
        free(ctx); free(pre); free(hidden); free(scores)
        return -1
    while batch.n_active > 0:
        if batch.c_fill_context(ctx, w.nF) < 0:
            steps = -2
            break
        c_state_scores(w, ctx, batch.n_active, pre, hidden, scores, gemm)
        batch.c_greedy_step(scores)
        steps += 1
    free(ctx); free(pre); free(hidden); free(scores)
    return steps


def _f32(array, shape, what, caller="greedy_parse"):
    out = numpy.ascontiguousarray(array, dtype=numpy.float32)
    if out.shape != shape:
        raise ValueError(f"{caller}: {what} has shape {out.shape}, expected {shape}.")
    return out


cdef tuple fill_weights(GreedyBatch batch, features, bias, W_out, b_out, seen, int nF,
                        int nH, int nP, ParserWeights* w, str caller):
    """Check the weights' shapes and point w at them; returns the arrays w points into
    (keep them alive while w is in use). Arguments as for `greedy_parse`; `caller` names
    the function in messages."""
    cdef int nO = batch.system.c.n_moves
    if W_out is None and nH != nO:
        raise ValueError(f"{caller}: without output weights nH ({nH}) must equal the "
                         f"number of moves ({nO}).")
    feats = numpy.ascontiguousarray(features, dtype=numpy.float32)
    if feats.ndim != 2 or feats.shape[1] != nF * nH * nP or feats.shape[0] < 1:
        raise ValueError(f"{caller}: features has shape {feats.shape}, expected "
                         f"(n_tokens + 1, {nF * nH * nP}).")
    b = _f32(numpy.asarray(bias).reshape(-1), (nH * nP,), "bias", caller)
    W = bo = s = None
    cdef const float[:, ::1] fv = feats
    cdef const float[::1] bv = b
    cdef const float[:, ::1] wv
    cdef const float[::1] bov
    cdef const uint8_t[::1] sv
    w.features = &fv[0, 0]
    w.n_rows = feats.shape[0]
    w.nF = nF
    w.nH = nH
    w.nP = nP
    w.bias = &bv[0]
    w.nO = nO
    w.W_out = NULL
    w.b_out = NULL
    w.seen = NULL
    if W_out is not None:
        W = _f32(W_out, (nO, nH), "W_out", caller)
        bo = _f32(b_out, (nO,), "b_out", caller)
        wv = W
        bov = bo
        w.W_out = &wv[0, 0]
        w.b_out = &bov[0]
    if seen is not None:
        s = numpy.ascontiguousarray(seen, dtype=numpy.uint8)
        if s.shape != (nO,):
            raise ValueError(f"{caller}: seen has shape {s.shape}, expected ({nO},).")
        sv = s
        w.seen = &sv[0]
    return feats, b, W, bo, s


def greedy_parse(GreedyBatch batch, features, bias, W_out, b_out, seen, int nF, int nH,
                 int nP) -> int:
    """Parse every state of `batch` to the end, greedily, in C.

    Args:
        batch: the states (its docs' tokens are the rows of `features`, in order).
        features: float32 (n_tokens + 1, nF * nH * nP), the padding row last.
        bias: float32 hidden bias (nH * nP,) (any shape of that size).
        W_out: float32 (nO, nH) output weights, or None when the hidden layer gives the
            scores (then nH must equal the number of moves).
        b_out: float32 (nO,) output bias, or None with W_out None.
        seen: uint8/bool (nO,) seen classes, or None.
        nF, nH, nP: context width, hidden units, maxout pieces.

    Returns:
        The number of steps taken.
    """
    cdef ParserWeights w
    keep = fill_weights(batch, features, bias, W_out, b_out, seen, nF, nH, nP, &w,
                        "greedy_parse")
    cdef CBlas cblas = CBlas()
    cdef sgemm_ptr gemm = sgemm(cblas)
    cdef int steps
    with nogil:
        steps = c_greedy_parse(batch, &w, gemm)
    if steps == -1:
        raise MemoryError()
    if steps == -2:
        raise ValueError(f"greedy_parse: no context layout of width {nF} for "
                         f"{type(batch.system).__name__}.")
    return steps
