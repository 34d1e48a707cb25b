"""The training forward of TransitionBasedParser.v3 in C (see train_forward.pyx)."""
from thinc.backends.cblas cimport sgemm_ptr

from .batch cimport GreedyBatch
from .forward cimport ParserWeights
from .gold cimport GoldC


ctypedef struct TrainRecord:
    int n_steps             # steps taken
    int n_rows              # states scored, all steps together
    int capacity            # rows allocated in each per-state array
    int steps_capacity
    int* sizes              # (n_steps,) states scored at each step
    int* ctx                # (capacity, nF) context token rows, -1 = padding
    float* hidden           # (capacity, nH) maxout outputs
    int* which              # (capacity, nH) maxout argmax piece
    float* scores           # (capacity, nO) raw scores (unseen classes not masked)
    float* costs            # (capacity, nO) move costs, inf = invalid


cdef int c_greedy_train(GreedyBatch batch, const ParserWeights* w, const GoldC** golds,
                        TrainRecord* rec, sgemm_ptr gemm) noexcept nogil
cdef void c_scatter_features(float* dF, const int* ctx, const float* d_pre, int n_states,
                             int n_rows, int nF, int width) noexcept nogil
