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
from typing import Any, Dict, List, Optional, Sequence

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


def _by_row(values: List[numpy.ndarray], parts: Sequence[int]) -> List[numpy.ndarray]:
    """Per-piece arrays -> per-row arrays (`parts[i]` pieces make row i)."""
    rows, start = [], 0
    for n in parts:
        rows.append(values[start] if n == 1 else numpy.concatenate(values[start:start + n]))
        start += n
    return rows


def _wordpiece_columns(datas: List[Any], starts: Sequence[int], parts: Sequence[int],
                       arrays: List[numpy.ndarray]) -> Dict[str, pa.Array]:
    """The wordpiece ids, offsets and token alignment of each row, its pieces' joined:
    character offsets shifted by the piece's start in the text (`starts`), token ->
    wordpiece links by the wordpieces of the row's earlier pieces."""
    n_wp = [len(a) for a in arrays]
    offsets, links, first_piece = [], [], 0
    for n in parts:
        shift = 0
        for k in range(first_piece, first_piece + n):
            offsets.append(numpy.asarray(datas[k].wordpiece_offsets, dtype=numpy.int64)
                           + starts[k])
            links.append(numpy.asarray(datas[k].align.dataXd, dtype=numpy.int64) + shift)
            shift += n_wp[k]
        first_piece += n
    offsets_all = numpy.concatenate(offsets).reshape(-1, 2)
    row_wp = [len(a) for a in _by_row(arrays, parts)]
    row_tokens = _by_row([numpy.asarray(d.align.lengths, dtype=numpy.int32) for d in datas],
                         parts)
    row_links = _by_row(links, parts)
    return {
        "wordpiece_ids": _list(row_wp, numpy.concatenate(
            [numpy.asarray(d.wordpiece_ids, dtype=numpy.int32) for d in datas])),
        "wordpiece_start": _list(row_wp, offsets_all[:, 0].astype(numpy.int32)),
        "wordpiece_end": _list(row_wp, offsets_all[:, 1].astype(numpy.int32)),
        "token_wordpiece_counts": _list([len(t) for t in row_tokens],
                                        numpy.concatenate(row_tokens)),
        "token_wordpieces": _list([len(x) for x in row_links],
                                  numpy.concatenate(row_links).astype(numpy.int32)),
    }


def docs_to_tensor_batch(doc_ids: Sequence[str], docs: Sequence[Doc], kind: str,
                         dtype: str = "float32",
                         pieces: Optional[Sequence[Sequence[Doc]]] = None) -> pa.RecordBatch:
    """One `tensors` row per (doc id, annotated doc).

    Args:
        pieces: for each doc, the Docs of the pieces it was annotated in (a long document,
            see beam_jobs/pieces.py), whose tensors make its row; default: the doc itself.
    """
    schema = tensors.schema(dtype)
    n = len(docs)
    if n == 0:
        return pa.RecordBatch.from_pylist([], schema=schema)
    pieces = [[doc] for doc in docs] if pieces is None else pieces
    flat = [piece for row in pieces for piece in row]
    parts = [len(row) for row in pieces]
    nulls = {name: pa.nulls(n, schema.field(name).type) for name in (
        "wordpiece_ids", "wordpiece_start", "wordpiece_end", "token_wordpiece_counts",
        "token_wordpieces")}
    if kind == "tok2vec":
        arrays = [_numpy(doc.tensor).reshape(len(doc), -1) for doc in flat]
    else:
        datas = [_trf_data(doc, kind) for doc in flat]
        if kind == "trf_tokens":
            arrays = _mean_per_token(datas)
        else:
            arrays = [_numpy(d.wordpiece_output) for d in datas]
            starts = [0] * len(flat)
            first = 0
            for n_parts in parts:
                position = 0
                for k in range(first, first + n_parts):
                    starts[k] = position
                    position += len(flat[k].text)
                first += n_parts
            nulls = _wordpiece_columns(datas, starts, parts, arrays)
    arrays = _by_row(arrays, parts)
    shapes = numpy.array([a.shape for a in arrays], dtype=numpy.int32).reshape(n, 2)
    values = numpy.concatenate([a.reshape(-1) for a in arrays]).astype(dtype, copy=False)
    columns: Dict[str, pa.Array] = {
        "doc_id": pa.array(list(doc_ids), type=pa.string()),
        "kind": pa.array([kind] * n, type=pa.string()),
        "shape": pa.ListArray.from_arrays(_offsets([2] * n), pa.array(shapes.reshape(-1))),
        "dtype": pa.array([dtype] * n, type=pa.string()),
        "values": pa.ListArray.from_arrays(_offsets(shapes.prod(axis=1)), pa.array(values)),
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
