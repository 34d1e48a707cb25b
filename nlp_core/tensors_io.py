"""Reading the annotate job's `tensors` table (schemas/tensors.py) back as numpy arrays.

    import nlp_core
    vectors = nlp_core.read_tensors("out/tensors")          # {doc_id: (n, width) array}
    for row in nlp_core.tensors_io.read_tensor_rows("out/tensors"):
        row.array, row.wordpiece_ids, row.token_wordpieces  # trf_wordpieces alignment

Values come out in the dtype they were written in (float16 or float32), each doc's array a
view into one buffer per row group (no copy per value).
"""
from pathlib import Path
from typing import Dict, Iterator, List, NamedTuple, Optional, Union

import numpy
import pyarrow.parquet as pq

PathLike = Union[str, Path]


class TensorRow(NamedTuple):
    """One row of the tensors table.

    Attributes:
        doc_id, kind: as written.
        array: the tensor, (n_tokens or n_wordpieces, width), float16 or float32.
        wordpiece_ids, wordpiece_offsets ((n_wp, 2) char start/end), token_counts,
        token_wordpieces: the trf_wordpieces alignment (None for other kinds); token i has
            the wordpieces token_wordpieces[sum(token_counts[:i]):][:token_counts[i]].
    """

    doc_id: str
    kind: str
    array: numpy.ndarray
    wordpiece_ids: Optional[numpy.ndarray] = None
    wordpiece_offsets: Optional[numpy.ndarray] = None
    token_counts: Optional[numpy.ndarray] = None
    token_wordpieces: Optional[numpy.ndarray] = None


def _files(path: PathLike) -> List[str]:
    path = Path(path)
    if path.is_dir():
        files = sorted(str(p) for p in path.glob("*.parquet"))
        if not files:
            raise FileNotFoundError(f"{path}: no .parquet files. Give the tensors/ folder "
                                    "the annotate job wrote (--tensors), or one of its files.")
        return files
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file or folder. Give the tensors/ folder "
                                "the annotate job wrote (--tensors), or one of its files.")
    return [str(path)]


def _split(column, n_rows: int) -> List[Optional[numpy.ndarray]]:
    """A list<...> column -> one numpy array per row (None for a null row)."""
    column = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    if column.null_count == n_rows:
        return [None] * n_rows
    offsets = column.offsets.to_numpy()
    values = column.values.to_numpy(zero_copy_only=False)
    valid = column.is_valid().to_numpy(zero_copy_only=False)
    return [values[offsets[i]:offsets[i + 1]] if valid[i] else None for i in range(n_rows)]


def read_tensor_rows(path: PathLike) -> Iterator[TensorRow]:
    """Every row of the tensors table at `path` (a folder of part files, or one file)."""
    for file_path in _files(path):
        parquet = pq.ParquetFile(file_path)
        for group in range(parquet.num_row_groups):
            table = parquet.read_row_group(group)
            n = table.num_rows
            doc_ids = table.column("doc_id").to_pylist()
            kinds = table.column("kind").to_pylist()
            shapes = _split(table.column("shape"), n)
            values = _split(table.column("values"), n)
            extra = {name: _split(table.column(name), n) for name in (
                "wordpiece_ids", "wordpiece_start", "wordpiece_end",
                "token_wordpiece_counts", "token_wordpieces")}
            for i in range(n):
                offsets = None
                if extra["wordpiece_start"][i] is not None:
                    offsets = numpy.stack([extra["wordpiece_start"][i],
                                           extra["wordpiece_end"][i]], axis=1)
                yield TensorRow(doc_ids[i], kinds[i],
                                values[i].reshape(tuple(int(d) for d in shapes[i])),
                                extra["wordpiece_ids"][i], offsets,
                                extra["token_wordpiece_counts"][i],
                                extra["token_wordpieces"][i])


def read_tensors(path: PathLike) -> Dict[str, numpy.ndarray]:
    """`{doc_id: array}` for the tensors table at `path` (see `read_tensor_rows` for the
    wordpiece alignment of `trf_wordpieces` rows)."""
    return {row.doc_id: row.array for row in read_tensor_rows(path)}
