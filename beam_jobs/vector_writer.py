"""The one writer of the vector-conversion job: the table and its keys into the pipeline
directory that `python -m nlp_core init vectors` writes, byte for byte.

It runs in the launcher once every shard is committed (vector_shards.py) and streams the
shards' files, a record batch at a time, each row at its rank (its row in the table
before pruning): the table is a preallocated .npy file written by rank with plain writes
(`RowFile`: page cache, not this process's memory), so the writer holds the keys, kept
rows and scores (8 bytes each a row), the words as one Arrow array and one batch of
vectors, never the table. The files (config.cfg, meta.json, tokenizer, vocab/ with vectors, key2row,
vectors.cfg and strings.json, prune_report.json with --prune) are made by the same
functions `init vectors` uses (nlp_core.vectors_disk, vectors_building, vectors_pruning).
On a filesystem other than the local one they are written to a local temporary directory
first and copied.
"""
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Tuple

import numpy
import pyarrow
import srsly
from apache_beam.io.filesystems import FileSystems

from nlp_core.cli.init_vectors import SPACY_NLP_FUNCTIONS
from nlp_core.loading import blank
from nlp_core.vectors import Vectors
from nlp_core.vectors_building import write_strings_json
from nlp_core.vectors_disk import vectors_cfg, write_key2row
from nlp_core.vectors_pruning import prune_report

from .output_lock import is_local
from .vector_memory import note_peak_rss
from .vector_table import Ranked

# what the writer puts in OUTPUT (output_dir.commit moves these)
PIPELINE_ENTRIES = ("config.cfg", "meta.json", "tokenizer", "vocab", "prune_report.json")


class TableSettings(NamedTuple):
    lang: str
    dims: int
    prune: int
    name: str
    attr: str
    source: str  # the file (or glob) named in prune_report.json
    floret: Optional[Dict[str, Any]] = None  # floret mode: the file header's settings


class TableCounts(NamedTuple):
    """What the writer needs of the selection besides the rows."""

    n_distinct: int
    duplicates: int
    truncated: int


def write_table(directory: str, kept: Callable[[], Iterable[Ranked]],
                remapped: Callable[[], Iterable[Ranked]], counts: TableCounts,
                settings: TableSettings) -> Dict[str, Any]:
    """The pipeline directory in `directory` from the shards' rows (`kept()` and
    `remapped()` give them a piece at a time); the counts {"rows_kept", "rows_remapped",
    "keys", "duplicates", "truncated"}."""
    if is_local(directory):
        return write_pipeline(Path(directory), kept, remapped, counts, settings)
    with tempfile.TemporaryDirectory() as local:
        result = write_pipeline(Path(local), kept, remapped, counts, settings)
        _copy_tree(Path(local), directory)
    return result


def write_pipeline(path: Path, kept: Callable[[], Iterable[Ranked]],
                   remapped: Callable[[], Iterable[Ranked]], counts: TableCounts,
                   settings: TableSettings) -> Dict[str, Any]:
    if settings.floret is not None:
        return write_floret(path, kept(), counts, settings)
    n_keys = counts.n_distinct
    n_rows = min(n_keys, settings.prune) if settings.prune else n_keys
    if n_keys == 0:
        raise ValueError(f"--input {settings.source}: no good rows to convert.")
    vocab_dir = path / "vocab"
    vocab_dir.mkdir(parents=True, exist_ok=True)
    keys = numpy.zeros(n_keys, dtype=numpy.uint64)
    rows = numpy.zeros(n_keys, dtype=numpy.int64)
    scores = numpy.zeros(n_keys - n_rows, dtype=numpy.float64)
    ranks: List[numpy.ndarray] = []
    words: List[pyarrow.Array] = []
    with RowFile(vocab_dir / "vectors", n_rows, settings.dims) as table_file:
        for piece in kept():
            keys[piece.ranks] = piece.keys
            table_file.write(piece.ranks, piece.vectors)
            rows[piece.ranks] = piece.ranks
            ranks.append(piece.ranks)
            words.append(_words(piece.words))
    # read-only and not read here: init vectors' functions need its shape and dtype
    table = numpy.load(vocab_dir / "vectors", mmap_mode="r", allow_pickle=False)
    for piece in remapped():
        keys[piece.ranks] = piece.keys
        rows[piece.ranks] = piece.rows
        scores[piece.ranks - n_rows] = piece.scores
        ranks.append(piece.ranks)
        words.append(_words(piece.words))
    word_array = _by_rank(ranks, words, n_keys)
    del ranks, words
    nlp = blank(settings.lang, config={"nlp": SPACY_NLP_FUNCTIONS})
    vectors = Vectors(strings=nlp.vocab.strings, data=table, name=settings.name,
                      attr=settings.attr)
    nlp.vocab.vectors = vectors
    nlp.to_disk(path, exclude=["vocab"])
    write_key2row(vocab_dir / "key2row", keys, rows)
    srsly.write_json(vocab_dir / "vectors.cfg", vectors_cfg(vectors))
    write_strings_json(vocab_dir / "strings.json", word_array, keys, nlp.vocab.strings)
    meta = srsly.read_json(path / "meta.json")
    meta["vectors"]["keys"] = n_keys
    srsly.write_json(path / "meta.json", meta)
    if settings.prune:
        report = prune_report(
            source=settings.source, rows_in=n_keys, rows_kept=n_rows, n_keys=n_keys,
            remapped_scores=scores, remapped_rows=rows[n_rows:],
            remapped_word=lambda i: word_array[n_rows + i].as_py(),
            kept_word=lambda row: word_array[row].as_py())
        srsly.write_json(path / "prune_report.json", report)
    del table, vectors
    nlp.vocab.vectors = Vectors()
    note_peak_rss()
    return {"rows_kept": n_rows, "rows_remapped": n_keys - n_rows, "keys": n_keys,
            "duplicates": counts.duplicates, "truncated": counts.truncated}


class RowFile:
    """A float32 (n_rows, dims) .npy file written row by row at given ranks with plain
    writes (runs of consecutive ranks at once), not through a memory map: the rows go
    to the page cache, never into this process's resident set."""

    def __init__(self, path: Path, n_rows: int, dims: int):
        table = numpy.lib.format.open_memmap(path, mode="w+", dtype="<f4",
                                             shape=(n_rows, dims))
        self.offset = table.offset
        del table  # the header written and the file sized; no page touched
        self.row_bytes = dims * 4
        self.file = open(path, "r+b")

    def write(self, ranks: numpy.ndarray, vectors: numpy.ndarray) -> None:
        if not len(ranks):
            return
        order = numpy.argsort(ranks, kind="stable")
        ranks, vectors = ranks[order], vectors[order]
        breaks = numpy.flatnonzero(numpy.diff(ranks) != 1) + 1
        for start, end in zip([0, *breaks.tolist()], [*breaks.tolist(), len(ranks)]):
            self.file.seek(self.offset + int(ranks[start]) * self.row_bytes)
            self.file.write(numpy.ascontiguousarray(vectors[start:end], dtype="<f4").data)

    def __enter__(self) -> "RowFile":
        return self

    def __exit__(self, *_) -> None:
        self.file.close()


def _words(words) -> pyarrow.Array:
    """A piece's words as an Arrow large_string array."""
    if isinstance(words, pyarrow.ChunkedArray):
        words = words.combine_chunks()
    if isinstance(words, pyarrow.Array):
        return words.cast(pyarrow.large_string())
    return pyarrow.array(words, type=pyarrow.large_string())


def _by_rank(ranks: List[numpy.ndarray], words: List[pyarrow.Array], n_keys: int
             ) -> pyarrow.Array:
    """The words in rank order (the pieces come in rank order when the shards do: then
    nothing is reordered), checking that each rank 0..n_keys-1 came exactly once."""
    order = numpy.concatenate(ranks) if ranks else numpy.zeros(0, numpy.int64)
    if len(order) != n_keys or not numpy.array_equal(numpy.sort(order),
                                                      numpy.arange(n_keys)):
        raise RuntimeError(f"the shards hold {len(order)} rows for {n_keys} distinct keys "
                           "(a rank missing or repeated): a bug, or the partial area was "
                           "changed while the run worked. Run again with --overwrite.")
    array = (pyarrow.concat_arrays(words) if words
             else pyarrow.array([], type=pyarrow.large_string()))
    if numpy.all(order[1:] > order[:-1]):
        return array
    return array.take(pyarrow.array(numpy.argsort(order, kind="stable")))


FLORET_ERRORS_KEPT = 5


def write_floret(path: Path, pieces: Iterable[Ranked], counts: TableCounts,
                 settings: TableSettings) -> Dict[str, Any]:
    """A floret table: every row in file order, as `init vectors --mode floret` writes it
    (one row per hash bucket, no keys). A row whose bucket index is not its row number
    is listed in `floret_index_errors` (the run then fails with E080, as the command
    does)."""
    n_rows = counts.n_distinct
    if n_rows == 0:
        raise ValueError(f"--input {settings.source}: no good rows to convert.")
    vocab_dir = path / "vocab"
    vocab_dir.mkdir(parents=True, exist_ok=True)
    # filled here by rank, then written by the command's own functions to vocab/vectors
    rows_path = path / ".floret-rows.npy"
    wrong: List[Tuple[int, str]] = []
    with RowFile(rows_path, n_rows, settings.dims) as table_file:
        for piece in pieces:
            table_file.write(piece.ranks, piece.vectors)
            _check_buckets(piece, wrong)
    table = numpy.load(rows_path, mmap_mode="r", allow_pickle=False)
    wrong = sorted(wrong)[:FLORET_ERRORS_KEPT]
    nlp = blank(settings.lang, config={"nlp": SPACY_NLP_FUNCTIONS})
    nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, data=table, name=settings.name,
                                attr=settings.attr, mode="floret", **settings.floret)
    nlp.to_disk(path)
    nlp.vocab.vectors = Vectors()
    del table
    rows_path.unlink()
    return {"rows_kept": n_rows, "rows_remapped": 0, "keys": 0,
            "duplicates": counts.duplicates, "truncated": counts.truncated,
            "floret_index_errors": [
                (f"row {rank + 1}", f"bucket index {word!r}, expected {rank} (rows in "
                 "order)") for rank, word in wrong]}


def _check_buckets(piece: Ranked, wrong: List[Tuple[int, str]]) -> None:
    """Note the rows whose bucket index (the word) is not their row number."""
    words = piece.words if isinstance(piece.words, list) else piece.words.to_pylist()
    for rank, word in zip(piece.ranks.tolist(), words):
        if word != str(rank):
            wrong.append((rank, word))
    if len(wrong) > 64 * FLORET_ERRORS_KEPT:  # bounded: only the first few are reported
        wrong[:] = sorted(wrong)[:FLORET_ERRORS_KEPT]


def _copy_tree(local: Path, target: str) -> None:
    for root, _, files in os.walk(local):
        for name in files:
            source = Path(root) / name
            relative = source.relative_to(local).as_posix()
            with source.open("rb") as src, FileSystems.create(
                    FileSystems.join(target, *relative.split("/"))) as dst:
                shutil.copyfileobj(src, dst, 8 << 20)
