"""The one writer of the vector-conversion job: the table and its keys into the pipeline
directory that `python -m nlp_core init vectors` writes, byte for byte.

Rows arrive in any order, each with its rank (its row in the table before pruning): the
table is a preallocated .npy memory map that each piece is written into at its rows, so
the writer holds the keys (8 bytes a row), the words and one piece of vectors, never the
table. The files (config.cfg, meta.json, tokenizer, vocab/ with vectors, key2row,
vectors.cfg and strings.json, prune_report.json with --prune) are made by the same
functions `init vectors` uses (nlp_core.vectors_disk, vectors_building, vectors_pruning).
On a filesystem other than the local one they are written to a local temporary directory
first and copied.
"""
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Tuple

import apache_beam as beam
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
from .vector_table import Ranked, Selection

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


class WriteTable(beam.DoFn):
    """(None, every Ranked piece) -> the pipeline directory in `directory`; outputs the
    counts {"rows_kept", "rows_remapped", "keys", "duplicates", "truncated"}."""

    def __init__(self, directory: str, settings: TableSettings):
        self.directory = directory
        self.settings = settings

    def process(self, item: Tuple[Any, Iterable[Ranked]], selection: Selection):
        _, pieces = item
        if is_local(self.directory):
            counts = write_pipeline(Path(self.directory), pieces, selection, self.settings)
        else:
            with tempfile.TemporaryDirectory() as local:
                counts = write_pipeline(Path(local), pieces, selection, self.settings)
                _copy_tree(Path(local), self.directory)
        note_peak_rss()
        yield counts


def write_pipeline(path: Path, pieces: Iterable[Ranked], selection: Selection,
                   settings: TableSettings) -> Dict[str, Any]:
    if settings.floret is not None:
        return write_floret(path, pieces, selection, settings)
    n_keys = selection.n_distinct
    n_rows = min(n_keys, settings.prune) if settings.prune else n_keys
    if n_keys == 0:
        raise ValueError(f"--input {settings.source}: no good rows to convert.")
    vocab_dir = path / "vocab"
    vocab_dir.mkdir(parents=True, exist_ok=True)
    table = numpy.lib.format.open_memmap(vocab_dir / "vectors", mode="w+", dtype="<f4",
                                         shape=(n_rows, settings.dims))
    keys = numpy.zeros(n_keys, dtype=numpy.uint64)
    rows = numpy.zeros(n_keys, dtype=numpy.int64)
    scores = numpy.zeros(n_keys - n_rows, dtype=numpy.float64)
    words = [None] * n_keys
    for piece in pieces:
        keys[piece.ranks] = piece.keys
        for rank, word in zip(piece.ranks.tolist(), piece.words):
            words[rank] = word
        if piece.rows is None:
            table[piece.ranks] = piece.vectors
            rows[piece.ranks] = piece.ranks
        else:
            rows[piece.ranks] = piece.rows
            scores[piece.ranks - n_rows] = piece.scores
    table.flush()
    word_array = pyarrow.array(words, type=pyarrow.large_string())
    del words
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
    return {"rows_kept": n_rows, "rows_remapped": n_keys - n_rows, "keys": n_keys,
            "duplicates": selection.duplicates, "truncated": selection.truncated}


FLORET_ERRORS_KEPT = 5


def write_floret(path: Path, pieces: Iterable[Ranked], selection: Selection,
                 settings: TableSettings) -> Dict[str, Any]:
    """A floret table: every row in file order, as `init vectors --mode floret` writes it
    (one row per hash bucket, no keys). A row whose bucket index is not its row number
    is listed in `floret_index_errors` (the run then fails with E080, as the command
    does)."""
    n_rows = selection.n_distinct
    if n_rows == 0:
        raise ValueError(f"--input {settings.source}: no good rows to convert.")
    vocab_dir = path / "vocab"
    vocab_dir.mkdir(parents=True, exist_ok=True)
    # filled here by rank, then written by the command's own functions to vocab/vectors
    rows_path = path / ".floret-rows.npy"
    table = numpy.lib.format.open_memmap(rows_path, mode="w+", dtype="<f4",
                                         shape=(n_rows, settings.dims))
    wrong: List[Tuple[int, str]] = []
    for piece in pieces:
        table[piece.ranks] = piece.vectors
        for rank, word in zip(piece.ranks.tolist(), piece.words):
            if word != str(rank):
                wrong.append((rank, word))
    wrong = sorted(wrong)[:FLORET_ERRORS_KEPT]
    nlp = blank(settings.lang, config={"nlp": SPACY_NLP_FUNCTIONS})
    nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, data=table, name=settings.name,
                                attr=settings.attr, mode="floret", **settings.floret)
    nlp.to_disk(path)
    nlp.vocab.vectors = Vectors()
    del table
    rows_path.unlink()
    return {"rows_kept": n_rows, "rows_remapped": 0, "keys": 0,
            "duplicates": selection.duplicates, "truncated": selection.truncated,
            "floret_index_errors": [
                (f"row {rank + 1}", f"bucket index {word!r}, expected {rank} (rows in "
                 "order)") for rank, word in wrong]}


def _copy_tree(local: Path, target: str) -> None:
    for root, _, files in os.walk(local):
        for name in files:
            source = Path(root) / name
            relative = source.relative_to(local).as_posix()
            with source.open("rb") as src, FileSystems.create(
                    FileSystems.join(target, *relative.split("/"))) as dst:
                shutil.copyfileobj(src, dst, 8 << 20)
