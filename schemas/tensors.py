"""`tensors` v1: one row per annotated document, holding one tensor of the pipeline's
embeddings (written by the annotate job with `--tensors KIND`; same `doc_id` as the
document's `annotations` row).

`values` is the tensor flattened in row-major order; `shape` gives its dimensions. Its
element type is the run's `--tensor-dtype`: `SCHEMA` (float32) or `schema("float16")`
(Parquet's Float16 logical type); both carry this table's name and version.
`nlp_core.read_tensors(path)` gives each row back as a numpy array of `shape`.
"""
import pyarrow as pa

from ._columns import Column, build_schema

NAME = "tensors"
VERSION = 1

KINDS = {
    "trf_tokens": "one vector per token: the mean of the transformer's last hidden state "
                  "over the token's wordpieces (zeros for a token without any)",
    "trf_wordpieces": "one vector per wordpiece of the text (the transformer's last hidden "
                      "state, averaged over overlapping windows), with the wordpiece ids, "
                      "their character offsets and the token alignment",
    "tok2vec": "one vector per token: doc.tensor, the tok2vec component's output",
}
DTYPES = {"float16": pa.float16(), "float32": pa.float32()}


def columns(dtype: str = "float32") -> list:
    """The documented columns, `values` of element type `dtype`."""
    return [
        Column("doc_id", pa.string(), "The document's id, as in the annotations table.",
               False),
        Column("kind", pa.string(), "What the tensor holds: " + "; ".join(
            f"{k}: {v}" for k, v in KINDS.items()) + ".", False),
        Column("shape", pa.list_(pa.int32()),
               "Dimensions of the tensor: [n_tokens, width] (trf_tokens, tok2vec) or "
               "[n_wordpieces, width] (trf_wordpieces).", False),
        Column("dtype", pa.string(), "Element type of `values`: float16 or float32.", False),
        Column("values", pa.list_(DTYPES[dtype]),
               "The tensor's elements in row-major order (product of `shape` of them).",
               False),
        Column("wordpiece_ids", pa.list_(pa.int32()),
               "trf_wordpieces: the tokenizer's id of each wordpiece; null otherwise."),
        Column("wordpiece_start", pa.list_(pa.int32()),
               "trf_wordpieces: character offset of each wordpiece's first character in "
               "the text; null otherwise."),
        Column("wordpiece_end", pa.list_(pa.int32()),
               "trf_wordpieces: character offset just past each wordpiece; null otherwise."),
        Column("token_wordpiece_counts", pa.list_(pa.int32()),
               "trf_wordpieces: number of wordpieces aligned with each token (0 for a "
               "token the tokenizer dropped, e.g. whitespace); null otherwise."),
        Column("token_wordpieces", pa.list_(pa.int32()),
               "trf_wordpieces: the wordpiece indices of each token, token after token "
               "(token_wordpiece_counts[i] of them for token i; a wordpiece spanning two "
               "tokens is listed for both); null otherwise."),
    ]


def schema(dtype: str = "float32") -> pa.Schema:
    """The Arrow schema with `values` of element type `dtype` ("float16" or "float32")."""
    if dtype not in DTYPES:
        raise ValueError(f"tensor dtype {dtype!r}: use one of {', '.join(DTYPES)}.")
    return build_schema(NAME, VERSION, columns(dtype))


COLUMNS = columns()
SCHEMA = schema("float32")
