"""Scoring parse states along given action sequences (see follow.pyx)."""
from thinc.backends.cblas cimport sgemm_ptr

from .batch cimport GreedyBatch
from .forward cimport ParserWeights


cdef int c_score_actions(GreedyBatch batch, const ParserWeights* w, const int* actions,
                         const long* starts, const int* lengths, int* taken, float* out,
                         int* sizes, int max_rows, int* bad_state, int* bad_step,
                         sgemm_ptr gemm) noexcept nogil
