"""The `tensors` table of the annotate job (`--tensors KIND [--tensor-dtype float16]`).

One row per annotated document (schemas/tensors.py), built for a whole batch at once: the
docs' arrays are concatenated, cast to the output dtype once, and wrapped as Arrow list
arrays over that buffer (no Python object per value).

- `trf_tokens`: the mean of `doc._.trf_data.wordpiece_output` over each token's
  wordpieces (zeros for a token without any), i.e. what a `reduce_mean.v1` listener sees;
- `trf_wordpieces`: `wordpiece_output` itself, with wordpiece ids, character offsets and
  the token alignment;
- `tok2vec`: `doc.tensor`, set by a tok2vec component.
"""
from typing import Any, Dict, List, Sequence

import numpy
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems
from thinc.api import NumpyOps

from nlp_core.tokens import Doc
from schemas import tensors

KINDS = ("none", *tensors.KINDS)
# Dictionaries and min/max statistics over millions of float values cost more time than
# the whole rest of the write and help no reader: keep them for the small columns only.
PARQUET_OPTIONS = {"use_dictionary": ["doc_id", "kind", "dtype"],
                   "write_statistics": ["doc_id", "kind", "dtype"]}
DTYPES = tuple(tensors.DTYPES)
TABLE = "tensors"


def check_pipeline(nlp: Any, kind: str) -> None:
    """Raise ValueError (naming --tensors) when the pipeline cannot give `kind`."""
    if kind == "none":
        return
    factories = set(nlp.pipe_factories.get(name) for name in nlp.pipe_names)
    need = "tok2vec" if kind == "tok2vec" else "transformer"
    if need not in factories:
        raise ValueError(f"--tensors {kind} needs a pipeline with a {need} component; "
                         f"--model has {nlp.pipe_names or 'no components'}. Choose a "
                         f"pipeline with one, or --tensors none.")


def _numpy(array: Any) -> numpy.ndarray:
    return array.get() if hasattr(array, "get") and not isinstance(array, numpy.ndarray) \
        else numpy.asarray(array)


def _trf_data(doc: Doc, kind: str) -> Any:
    data = doc._.trf_data if Doc.has_extension("trf_data") else None
    if data is None:
        raise ValueError(f"--tensors {kind}: a document has no doc._.trf_data (is the "
                         "transformer component disabled?)")
    return data


def _offsets(lengths: Sequence[int]) -> pa.Array:
    out = numpy.zeros(len(lengths) + 1, dtype=numpy.int32)
    numpy.cumsum(numpy.asarray(lengths, dtype=numpy.int64), out=out[1:])
    return pa.array(out)


def _list(lengths: Sequence[int], values: numpy.ndarray) -> pa.Array:
    return pa.ListArray.from_arrays(_offsets(lengths), pa.array(values))


def _mean_per_token(datas: List[Any]) -> List[numpy.ndarray]:
    """Mean of each token's wordpiece vectors, all docs in one pass."""
    outputs = [_numpy(d.wordpiece_output) for d in datas]
    width = outputs[0].shape[1] if outputs else 0
    X = numpy.concatenate(outputs) if outputs else numpy.zeros((0, width), dtype="f")
    n_wp = [len(o) for o in outputs]
    lengths = numpy.concatenate([numpy.asarray(d.align.lengths) for d in datas])
    links = numpy.concatenate([numpy.asarray(d.align.dataXd, dtype=numpy.int64) + start
                               for d, start in zip(datas, numpy.cumsum([0] + n_wp))])
    # thinc's reduce_mean gives zeros for a token without wordpieces.
    means = NumpyOps().reduce_mean(numpy.ascontiguousarray(X[links], dtype="f"),
                                   lengths.astype("i"))
    return numpy.split(means, numpy.cumsum([len(d.align.lengths) for d in datas])[:-1])


def docs_to_tensor_batch(doc_ids: Sequence[str], docs: Sequence[Doc], kind: str,
                         dtype: str = "float32") -> pa.RecordBatch:
    """One `tensors` row per (doc id, annotated doc)."""
    schema = tensors.schema(dtype)
    n = len(docs)
    if n == 0:
        return pa.RecordBatch.from_pylist([], schema=schema)
    nulls = {name: pa.nulls(n, schema.field(name).type) for name in (
        "wordpiece_ids", "wordpiece_start", "wordpiece_end", "token_wordpiece_counts",
        "token_wordpieces")}
    if kind == "tok2vec":
        arrays = [_numpy(doc.tensor).reshape(len(doc), -1) for doc in docs]
    else:
        datas = [_trf_data(doc, kind) for doc in docs]
        if kind == "trf_tokens":
            arrays = _mean_per_token(datas)
        else:
            arrays = [_numpy(d.wordpiece_output) for d in datas]
            offsets = numpy.concatenate([numpy.asarray(d.wordpiece_offsets) for d in datas])
            n_wp = [len(a) for a in arrays]
            counts = [len(d.align.lengths) for d in datas]
            nulls = {
                "wordpiece_ids": _list(n_wp, numpy.concatenate(
                    [numpy.asarray(d.wordpiece_ids, dtype=numpy.int32) for d in datas])),
                "wordpiece_start": _list(n_wp, offsets[:, 0].astype(numpy.int32)),
                "wordpiece_end": _list(n_wp, offsets[:, 1].astype(numpy.int32)),
                "token_wordpiece_counts": _list(counts, numpy.concatenate(
                    [numpy.asarray(d.align.lengths, dtype=numpy.int32) for d in datas])),
                "token_wordpieces": _list([len(d.align.dataXd) for d in datas],
                                          numpy.concatenate([numpy.asarray(
                                              d.align.dataXd, dtype=numpy.int32)
                                              for d in datas])),
            }
    shapes = numpy.array([a.shape for a in arrays], dtype=numpy.int32).reshape(n, 2)
    flat = numpy.concatenate([a.reshape(-1) for a in arrays]).astype(dtype, copy=False)
    columns: Dict[str, pa.Array] = {
        "doc_id": pa.array(list(doc_ids), type=pa.string()),
        "kind": pa.array([kind] * n, type=pa.string()),
        "shape": pa.ListArray.from_arrays(_offsets([2] * n), pa.array(shapes.reshape(-1))),
        "dtype": pa.array([dtype] * n, type=pa.string()),
        "values": pa.ListArray.from_arrays(_offsets(shapes.prod(axis=1)), pa.array(flat)),
        **nulls,
    }
    return pa.RecordBatch.from_arrays([columns[f.name] for f in schema], schema=schema)


def tensor_summary(output_dir: str, kind: str, dtype: str, wall_seconds: float
                   ) -> Dict[str, Any]:
    """What the run wrote to the tensors table: files, bytes, and MB/s of wall time."""
    pattern = FileSystems.join(output_dir, TABLE, "part-*.parquet")
    try:
        found = FileSystems.match([pattern])[0].metadata_list
    except Exception:  # nothing written (some filesystems raise for no match)
        found = []
    n_bytes = sum(m.size_in_bytes for m in found)
    return {"kind": kind, "dtype": dtype, "files": sorted(m.path for m in found),
            "bytes_written": n_bytes,
            "mb_per_second": round(n_bytes / 1e6 / wall_seconds, 3) if wall_seconds > 0
            else None}
