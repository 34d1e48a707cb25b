# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# distutils: language = c++
"""The training forward of TransitionBasedParser.v3 in C (CPU), and its feature scatter.

`greedy_train` runs a GreedyBatch (whole docs, or the pieces of `oracle_cuts`) to the end
the way `nlp_core.ml.parser_step._forward_train_python` does, without returning to Python
per step. Every step, for all active states at once: contexts, hidden pre-activations
`sum_f F[ctx[f], f] + bias` (summed in that order, as the numpy loop does, so the results
are the same bit for bit), maxout (first maximum wins), the output layer in one sgemm
(thinc's CBlas), the move costs against the golds (dynamic oracle), then each state's best
valid seen move by those scores. It records per state what the backward pass needs
(contexts, maxout outputs and argmaxes) and what the loss needs (scores, costs), in rows
that grow as the batch runs.

`scatter_features` is the first step of the backward pass: each scored state's gradient
(n_states, nH * nP) added to the precomputed-feature rows it read.
"""
from libc.math cimport INFINITY
from libc.stdint cimport uint8_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memset

import numpy

from thinc.backends.cblas cimport CBlas, sgemm, sgemm_ptr

from ._state cimport StateC
from .batch cimport GreedyBatch, _gold_table
from .forward cimport ParserWeights, fill_weights
from .gold cimport GoldC
from .system cimport sys_set_costs

# Below any real score, finite: a state whose valid moves are all unseen still moves.
cdef float UNSEEN_SCORE = -1e30


cdef int _grow(void** array, size_t nbytes) noexcept nogil:
    """realloc `*array` to `nbytes`; 0, or -1 (leaving `*array` as it was) when out of
    memory."""
    cdef void* p = realloc(array[0], nbytes)
    if p == NULL:
        return -1
    array[0] = p
    return 0


cdef int _reserve(TrainRecord* rec, int rows, const ParserWeights* w) noexcept nogil:
    """Room for `rows` more states and one more step; 0, or -1 when out of memory."""
    cdef int need = rec.n_rows + rows
    cdef int cap
    if rec.n_steps + 1 > rec.steps_capacity:
        cap = 2 * rec.steps_capacity + 64
        if _grow(<void**>&rec.sizes, <size_t>cap * sizeof(int)) < 0:
            return -1
        rec.steps_capacity = cap
    if need <= rec.capacity:
        return 0
    cap = 2 * rec.capacity
    if cap < need:
        cap = need
    if (_grow(<void**>&rec.ctx, <size_t>cap * w.nF * sizeof(int)) < 0
            or _grow(<void**>&rec.hidden, <size_t>cap * w.nH * sizeof(float)) < 0
            or _grow(<void**>&rec.which, <size_t>cap * w.nH * sizeof(int)) < 0
            or _grow(<void**>&rec.scores, <size_t>cap * w.nO * sizeof(float)) < 0
            or _grow(<void**>&rec.costs, <size_t>cap * w.nO * sizeof(float)) < 0):
        return -1
    rec.capacity = cap
    return 0


cdef void _hidden(const ParserWeights* w, const int* ctx, int n, float* pre, float* hidden,
                  int* which) noexcept nogil:
    """Maxout outputs (n, nH) and argmax pieces of n states; pre: (n, nH * nP) scratch."""
    cdef int nF = w.nF, nH = w.nH, nP = w.nP
    cdef int width = nH * nP
    cdef int i, f, k, j, q, row, arg
    cdef float* p
    cdef const float* src
    cdef float best
    for i in range(n):
        p = pre + <long>i * width
        for f in range(nF):
            row = ctx[i * nF + f]
            if row < 0:
                row = w.n_rows - 1
            src = w.features + (<long>row * nF + f) * width
            if f == 0:
                memcpy(p, src, width * sizeof(float))
            else:
                for k in range(width):
                    p[k] += src[k]
        for k in range(width):
            p[k] += w.bias[k]
        for j in range(nH):
            best = p[j * nP]
            arg = 0
            for q in range(1, nP):
                if p[j * nP + q] > best:
                    best = p[j * nP + q]
                    arg = q
            hidden[<long>i * nH + j] = best
            which[<long>i * nH + j] = arg


cdef void _validity_costs(GreedyBatch batch, float* out, uint8_t* valid) noexcept nogil:
    """Costs without golds (distillation, rehearsal): 0 for each active state's valid
    classes, inf for the others. valid: (n_active, n_moves) scratch."""
    cdef int nO = batch.system.c.n_moves
    cdef long i, n = <long>batch.n_active * nO
    batch.c_set_valid(valid)
    for i in range(n):
        out[i] = 0.0 if valid[i] else INFINITY


cdef int c_greedy_train(GreedyBatch batch, const ParserWeights* w, const GoldC** golds,
                        TrainRecord* rec, sgemm_ptr gemm) noexcept nogil:
    """Run the batch to the end, recording every scored state into rec; returns the
    number of steps, -1 when out of memory, -2 on a context width the system lacks.
    golds NULL: no costs against a gold, only validity (0 valid, inf invalid)."""
    cdef int n_max = batch.n_active if batch.n_active > 0 else 1
    cdef int nO = w.nO, nF = w.nF, nH = w.nH
    cdef float* pre = <float*>malloc(<size_t>n_max * nH * w.nP * sizeof(float))
    cdef float* masked = <float*>malloc(<size_t>n_max * nO * sizeof(float))
    cdef uint8_t* valid = <uint8_t*>malloc(<size_t>n_max * nO + 1)
    cdef int i, k, n, status = 0
    cdef long base
    cdef StateC* st
    if pre == NULL or masked == NULL or valid == NULL:
        free(pre); free(masked); free(valid)
        return -1
    while batch.n_active > 0:
        n = batch.n_active
        if _reserve(rec, n, w) < 0:
            status = -1
            break
        base = rec.n_rows
        if batch.c_fill_context(rec.ctx + base * nF, nF) < 0:
            status = -2
            break
        _hidden(w, rec.ctx + base * nF, n, pre, rec.hidden + base * nH, rec.which + base * nH)
        if w.W_out != NULL:
            gemm(False, True, n, nO, nH, 1.0, rec.hidden + base * nH, nH, w.W_out, nH, 0.0,
                 rec.scores + base * nO, nO)
            for i in range(n):
                for k in range(nO):
                    rec.scores[(base + i) * nO + k] += w.b_out[k]
        else:
            memcpy(rec.scores + base * nO, rec.hidden + base * nH, <size_t>n * nO * sizeof(float))
        if golds != NULL:
            for i in range(n):
                st = batch.states[batch.active[i]]
                sys_set_costs(&batch.system.c, st, golds[st.doc], rec.costs + (base + i) * nO,
                              True)
        else:
            _validity_costs(batch, rec.costs + base * nO, valid)
        memcpy(masked, rec.scores + base * nO, <size_t>n * nO * sizeof(float))
        if w.seen != NULL:
            for i in range(n):
                for k in range(nO):
                    if not w.seen[k]:
                        masked[i * nO + k] = UNSEEN_SCORE
        rec.sizes[rec.n_steps] = n
        rec.n_steps += 1
        rec.n_rows += n
        batch.c_greedy_step(masked)
    free(pre); free(masked); free(valid)
    return status if status < 0 else rec.n_steps


cdef void c_scatter_features(float* dF, const int* ctx, const float* d_pre, int n_states,
                             int n_rows, int nF, int width) noexcept nogil:
    """dF (n_rows * nF, width) += each state's d_pre row at the rows it read (row
    ctx * nF + f; context -1 = the padding row n_rows - 1)."""
    cdef int s, f, k, row
    cdef float* dst
    cdef const float* src
    for s in range(n_states):
        src = d_pre + <long>s * width
        for f in range(nF):
            row = ctx[s * nF + f]
            if row < 0:
                row = n_rows - 1
            dst = dF + (<long>row * nF + f) * width
            for k in range(width):
                dst[k] += src[k]


cdef object _to_array(const void* data, shape, dtype):
    out = numpy.empty(shape, dtype=dtype)
    cdef unsigned char[::1] view = out.reshape(-1).view(numpy.uint8)
    if out.nbytes:
        memcpy(&view[0], data, out.nbytes)
    return out


def greedy_train(GreedyBatch batch, features, bias, W_out, b_out, seen, golds, int nF,
                 int nH, int nP):
    """Advance `batch` to the end by the model's best valid seen moves, recording every
    scored state (arguments as for `forward.greedy_parse`; golds: one Gold per doc, or
    None for no gold: the recorded costs are then 0 for valid classes, inf for invalid).

    Returns:
        dict of numpy arrays, one row per scored state, steps in order: "sizes" int32
        (n_steps,) states per step; "ctx" int32 (N, nF); "hidden" float32 (N, nH);
        "which" int32 (N, nH); "scores" float32 (N, nO) unmasked; "costs" float32 (N, nO).
    """
    cdef ParserWeights w
    keep = fill_weights(batch, features, bias, W_out, b_out, seen, nF, nH, nP, &w,
                        "greedy_train")
    cdef const GoldC** table = NULL
    if golds is not None:
        table = _gold_table(batch.system, batch._lengths, golds)
    cdef TrainRecord rec
    memset(&rec, 0, sizeof(TrainRecord))
    cdef CBlas cblas = CBlas()
    cdef sgemm_ptr gemm = sgemm(cblas)
    cdef int steps
    cdef int nO = w.nO
    try:
        with nogil:
            steps = c_greedy_train(batch, &w, table, &rec, gemm)
        if steps == -1:
            raise MemoryError()
        if steps == -2:
            raise ValueError(f"greedy_train: no context layout of width {nF} for "
                             f"{type(batch.system).__name__}.")
        N = rec.n_rows
        return {"sizes": _to_array(rec.sizes, (rec.n_steps,), numpy.int32),
                "ctx": _to_array(rec.ctx, (N, nF), numpy.int32),
                "hidden": _to_array(rec.hidden, (N, nH), numpy.float32),
                "which": _to_array(rec.which, (N, nH), numpy.int32),
                "scores": _to_array(rec.scores, (N, nO), numpy.float32),
                "costs": _to_array(rec.costs, (N, nO), numpy.float32)}
    finally:
        free(table)
        free(rec.sizes); free(rec.ctx); free(rec.hidden); free(rec.which)
        free(rec.scores); free(rec.costs)


def scatter_features(dF, ctx, d_pre, int n_rows, int nF):
    """dF float32 (n_rows * nF, width) += d_pre float32 (N, width) at the rows each state
    read: ctx int32 (N, nF), -1 = the padding row (n_rows - 1). In place; returns dF."""
    cdef float[:, ::1] out = dF
    cdef const int[:, ::1] c = numpy.ascontiguousarray(ctx, dtype=numpy.int32)
    cdef const float[:, ::1] d = numpy.ascontiguousarray(d_pre, dtype=numpy.float32)
    cdef int width = out.shape[1]
    if out.shape[0] != n_rows * nF or d.shape[1] != width or c.shape[0] != d.shape[0] \
            or c.shape[1] != nF:
        raise ValueError(f"scatter_features: shapes dF {dF.shape}, ctx {ctx.shape}, d_pre "
                         f"{d_pre.shape} do not fit n_rows {n_rows}, nF {nF}.")
    if c.shape[0] == 0:
        return dF
    with nogil:
        c_scatter_features(&out[0, 0], &c[0, 0], &d[0, 0], c.shape[0], n_rows, nF, width)
    return dF
