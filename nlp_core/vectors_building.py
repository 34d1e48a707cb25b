"""Building a `Vectors` table from a vector file in one streaming pass.

Memory stays at the output table plus one batch of rows: the table grows in place
(`ndarray.resize`, a realloc that the allocator does by remapping pages for large tables,
so no second copy is made) and is trimmed at the end. With `prune`, rows after the first
`prune` are never stored: each batch is mapped to its nearest kept rows as it is read.

Rules: the first occurrence of a word wins (later ones are counted and skipped); `truncate`
keeps the first N distinct good rows; `prune` keeps the first N of those in file order and
remaps every later key to its nearest kept row by cosine (`vectors_pruning`), never
reordering rows. Floret tables are copied as they are (one row per hash bucket).
"""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

import numpy
from tqdm import tqdm

from .errors import Errors
from .strings import StringStore
from .vectors import Vectors
from .vectors_pruning import NearestKept, prune_report
from .vectors_reading import FileInfo, ReadStats, VectorFileError, VectorFileReader

BATCH_ROWS = 8192
# Rows allocated before the size is known, and the least a growing table adds.
GROW_ROWS = 1 << 16


@dataclass
class Built:
    """The table and what happened on the way: the file's format, bad rows skipped,
    duplicate words (count and the first few as (word, line)), rows read and, with
    pruning, the prune report."""

    vectors: Vectors
    info: FileInfo
    stats: ReadStats
    rows_in: int
    duplicates: int = 0
    duplicate_examples: List[Tuple[str, int]] = field(default_factory=list)
    report: Dict[str, Any] | None = None


class _Rows:
    """A float32 (n, width) table and its uint64 keys, grown in place."""

    def __init__(self, width: int, capacity: int, limit: int | None):
        self.limit = limit
        self.data = numpy.empty((capacity, width), dtype=numpy.float32)
        self.keys = numpy.empty(capacity, dtype=numpy.uint64)
        self.n = 0

    def append(self, vectors: numpy.ndarray, keys: numpy.ndarray | None) -> None:
        end = self.n + len(vectors)
        if end > len(self.data):
            grown = max(end, len(self.data) + max(len(self.data) // 8, GROW_ROWS))
            self._resize(grown if self.limit is None else min(grown, self.limit))
        self.data[self.n:end] = vectors
        if keys is not None:
            self.keys[self.n:end] = keys
        self.n = end

    def trim(self) -> None:
        if len(self.data) != self.n:
            self._resize(self.n)

    def _resize(self, rows: int) -> None:
        # In place: no view of these arrays exists while the table is being built.
        self.data.resize((rows, self.data.shape[1]), refcheck=False)
        self.keys.resize(rows, refcheck=False)


def build_vectors(path: str, strings: StringStore, *, mode: str = "default",
                  truncate: int = 0, prune: int = 0, batch_size: int | None = None,
                  name: str | None = None, attr: str = "ORTH", skip_bad_lines: bool = False,
                  progress: bool = True) -> Built:
    """Read the vector file `path` into a `Vectors` table whose words are added to
    `strings`.

    Args:
        path: local path or URL (see `vectors_reading`).
        strings: the StringStore (a pipeline's `vocab.strings`) that receives every word.
        mode: "default" or "floret".
        truncate: keep only the first `truncate` distinct rows (0: all).
        prune: keep the first `prune` rows and remap the rest (0: keep all; default mode).
        batch_size: rows per matrix product while pruning (None: about 16 MB of scores).
        name, attr: the table's name and key attribute (ORTH, LOWER, NORM).
        skip_bad_lines: count and skip bad rows instead of raising E080.
        progress: show a progress bar with rows/s on stderr.

    Raises:
        ValueError: E080-E086 naming the file and the row or setting to fix.
    """
    with VectorFileReader(path, mode=mode, skip_bad_lines=skip_bad_lines,
                          batch_rows=BATCH_ROWS) as reader:
        info = reader.info
        total = min([n for n in (info.rows, truncate) if n], default=None)
        bar = tqdm(total=total, unit=" rows", unit_scale=True, mininterval=0.5,
                   desc="Reading vectors", disable=not progress, leave=False)
        try:
            if info.format == "floret-text":
                built = _build_floret(reader, name=name, attr=attr, strings=strings, bar=bar)
            else:
                built = _build_default(reader, strings, truncate=truncate, prune=prune,
                                       batch_size=batch_size, name=name, attr=attr, bar=bar)
        finally:
            bar.close()
    return built


def _build_floret(reader: VectorFileReader, *, name, attr, strings, bar) -> Built:
    info = reader.info
    rows = _Rows(info.dims, info.rows, info.rows)
    for batch in reader.batches():
        if rows.n + len(batch.words) > info.rows:
            raise VectorFileError(Errors.E086.format(path=info.path, declared=info.rows,
                                                     got="more"))
        rows.append(batch.vectors, None)
        bar.update(len(batch.words))
    if rows.n != info.rows:
        raise VectorFileError(Errors.E086.format(path=info.path, declared=info.rows,
                                                 got=rows.n))
    vectors = Vectors(strings=strings, data=rows.data, name=name, attr=attr, mode="floret",
                      **info.floret)
    return Built(vectors, info, reader.stats, rows.n)


def _build_default(reader: VectorFileReader, strings: StringStore, *, truncate: int,
                   prune: int, batch_size: int | None, name, attr, bar) -> Built:
    info = reader.info
    keep = prune or None
    cap = min([n for n in (keep, truncate) if n], default=None)
    # Allocated pages are touched only as rows arrive, so a header's count can be trusted
    # for the first allocation; a file without one starts small and grows.
    rows = _Rows(info.dims, min([n for n in (cap, info.rows) if n], default=GROW_ROWS), cap)
    seen: set = set()
    dup_count, dup_examples = 0, []
    nearest = None
    remapped: List[Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]] = []
    rows_in = 0
    finished = True
    for batch in reader.batches():
        take, keys = [], []
        for i, word in enumerate(batch.words):
            # The same int object keys the StringStore, `seen` and the table.
            key = strings.add(word)
            if key in seen:
                dup_count += 1
                if len(dup_examples) < 10:
                    dup_examples.append((word, batch.lines[i]))
                continue
            seen.add(key)
            take.append(i)
            keys.append(key)
            if truncate and rows_in + len(take) == truncate:
                finished = False
                break
        rows_in += len(take)
        bar.update(len(batch.words))
        n_table = len(take) if keep is None else max(0, min(len(take), keep - rows.n))
        if n_table:
            rows.append(batch.vectors[take[:n_table]],
                        numpy.asarray(keys[:n_table], dtype=numpy.uint64))
        if n_table < len(take):
            if nearest is None:
                rows.trim()
                nearest = NearestKept(rows.data, batch_size=batch_size)
            found, scores = nearest(batch.vectors[take[n_table:]])
            remapped.append((numpy.asarray(keys[n_table:], dtype=numpy.uint64),
                             found.astype(numpy.int32), scores))
        if not finished:
            break
    if finished and info.rows is not None:
        got = reader.stats.rows + reader.stats.bad
        if got != info.rows:
            raise VectorFileError(Errors.E086.format(path=info.path, declared=info.rows,
                                                     got=got))
    if rows_in == 0:
        raise VectorFileError(Errors.E082.format(path=info.path, detail="no good rows"))
    del seen
    rows.trim()
    kept_keys = rows.keys
    vectors = Vectors(strings=strings, data=rows.data, name=name, attr=attr)
    _add_keys(vectors, kept_keys, numpy.arange(rows.n))
    built = Built(vectors, info, reader.stats, rows_in, dup_count, dup_examples)
    if prune:
        r_keys, r_rows, r_scores = (numpy.concatenate(parts) for parts in zip(*remapped)) \
            if remapped else (numpy.zeros(0, numpy.uint64), numpy.zeros(0, numpy.int32),
                              numpy.zeros(0, numpy.float64))
        _add_keys(vectors, r_keys, r_rows)
        built.report = prune_report(
            source=info.path, rows_in=rows_in, rows_kept=rows.n, n_keys=rows_in,
            remapped_scores=r_scores, remapped_rows=r_rows,
            remapped_word=lambda i: strings[int(r_keys[i])],
            kept_word=lambda row: strings[int(kept_keys[row])])
    return built


def _add_keys(vectors: Vectors, keys: numpy.ndarray, rows: numpy.ndarray) -> None:
    # In chunks: `add_keys` makes Python ints of a whole call's keys and rows at once.
    for start in range(0, len(keys), GROW_ROWS):
        vectors.add_keys(keys[start:start + GROW_ROWS], rows[start:start + GROW_ROWS])
