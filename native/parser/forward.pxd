"""The greedy forward pass of TransitionBasedParser.v3 in C (see forward.pyx)."""
from libc.stdint cimport uint8_t

from thinc.backends.cblas cimport sgemm_ptr

from .batch cimport GreedyBatch


ctypedef struct ParserWeights:
    const float* features   # (n_rows, nF * nH * nP): precomputed token features, pad row last
    int n_rows              # tokens of the batch + 1
    int nF                  # context tokens per state
    int nH                  # hidden units (== nO without an output layer)
    int nP                  # maxout pieces
    const float* bias       # (nH * nP,) hidden bias
    const float* W_out      # (nO, nH) output weights, NULL without an output layer
    const float* b_out      # (nO,) output bias, NULL without an output layer
    int nO                  # moves
    const uint8_t* seen     # (nO,) 1 = class seen in training; NULL = all seen


cdef int c_greedy_parse(GreedyBatch batch, const ParserWeights* w,
                        sgemm_ptr gemm) noexcept nogil
cdef void c_state_scores(const ParserWeights* w, const int* ctx, int n_states, float* pre,
                         float* hidden, float* scores, sgemm_ptr gemm) noexcept nogil
cdef tuple fill_weights(GreedyBatch batch, features, bias, W_out, b_out, seen, int nF,
                        int nH, int nP, ParserWeights* w, str caller)
