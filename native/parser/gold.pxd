"""Gold annotation of one doc in C form, read by the oracles and the cost functions."""

ctypedef struct GoldC:
    int kind            # KIND_PARSER or KIND_NER (see _state.pxd)
    int length
    # parser
    int* heads          # gold head per token: -1 unknown, i = root
    int* labels         # gold label id per token: -1 unknown (or not in the move table)
    int* kids_start     # gold children of token i: kids[kids_start[i]:kids_start[i + 1]]
    int* kids           # ascending within each token
    int* sent_start     # 1 where a gold sentence starts, 0 elsewhere or unknown
    # NER
    int* tag_action     # gold BILUO action per token, -1 missing
    int* tag_label      # gold label id per token, -1 unknown; -2 - k for the k-th label not in the move table
    int n_cols          # DP columns: 0 = no open entity, 1 = open with a table label gold never uses, 2 + k = open with col_label[k]
    int has_other       # whether the move table had labels gold never uses (column 1 is a real option)
    int* col_label      # label id of DP column 2 + k
    int* table          # (length + 1) x n_cols: least number of wrong tags from token t on in state column c
    int* _block


cdef class Gold:
    cdef GoldC c
    cdef readonly int kind
    cdef readonly int length
    cdef int* alloc(self, int n_ints) except NULL
