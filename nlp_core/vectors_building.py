"""Building a `Vectors` table from a vector file in one streaming pass.

Given a `table_path`, a table that keeps every row it reads (no `prune`; floret) is never
held in memory: each batch of rows is written to that .npy file as it is read
(`vectors_disk.NpyRows`), and memory stays at one batch of rows plus the words and keys.
Otherwise (with `prune`, or no `table_path`) the table grows in place (`ndarray.resize`,
a realloc that the allocator does by remapping pages for large tables, so no second copy
is made) and is trimmed at the end; with `prune`, rows after the first `prune` are never
stored: each batch is mapped to its nearest kept rows as it is read.

Rules: the first occurrence of a word wins (later ones are counted and skipped); `truncate`
keeps the first N distinct good rows; `prune` keeps the first N of those in file order and
remaps every later key to its nearest kept row by cosine (`vectors_pruning`), never
reordering rows. Floret tables are copied as they are (one row per hash bucket).
"""
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import numpy
import srsly
from native.hashing import hash_strings
from tqdm import tqdm

from .errors import Errors
from .strings import StringStore, get_string_id
from .symbols import IDS as SYMBOL_IDS
from .vectors import Vectors
from .vectors_disk import NpyRows, write_key2row
from .vectors_pruning import NearestKept, prune_report
from .vectors_reading import FileInfo, ReadStats, VectorFileError, VectorFileReader

BATCH_ROWS = 8192
# Rows allocated before the size is known, and the least a growing table adds.
GROW_ROWS = 1 << 16
_SYMBOL_HASHES = hash_strings(list(SYMBOL_IDS))


@dataclass
class Built:
    """The table and what happened on the way: the file's format, bad rows skipped,
    duplicate words (count and the first few as (word, line)), rows read and, with
    pruning, the prune report.

    `vectors` holds the table and its settings but no keys: with 400k words a key -> row
    dict costs more than half the table, so the keys stay in arrays (`keys` and `rows`:
    one entry per distinct word, in file order; `rows` None when key i is on row i) with
    the words (`words`, an Arrow string array in the same order) until they are written;
    `table()` builds the full `Vectors`.

    `table_file` is the .npy file the table was written to as it was read (`vectors.data`
    is then a read-only memory map of it), or None when the table is in memory."""

    vectors: Vectors
    info: FileInfo
    stats: ReadStats
    rows_in: int
    keys: numpy.ndarray = field(default_factory=lambda: numpy.zeros(0, numpy.uint64))
    rows: numpy.ndarray | None = None
    words: Any = None
    duplicates: int = 0
    duplicate_examples: List[Tuple[str, int]] = field(default_factory=list)
    report: Dict[str, Any] | None = None
    table_file: Path | None = None

    @property
    def n_keys(self) -> int:
        return len(self.keys)

    def table(self) -> Vectors:
        """`vectors` with its keys added (and its words in its StringStore)."""
        if len(self.keys):
            self.vectors.strings.update(word for word in self.words.to_pylist())
            rows = numpy.arange(len(self.keys)) if self.rows is None else self.rows
            for start in range(0, len(self.keys), GROW_ROWS):
                self.vectors.add_keys(self.keys[start:start + GROW_ROWS],
                                      rows[start:start + GROW_ROWS])
        return self.vectors


class _Words:
    """Words appended batch by batch into one UTF-8 buffer and int64 end offsets (Arrow
    keeps each batch's small arrays with spare capacity: 17 MB for GloVe's 400k words, 6
    MB here)."""

    def __init__(self):
        self.data = bytearray()
        self.ends = numpy.zeros(GROW_ROWS, dtype=numpy.int64)
        self.n = 0

    def append(self, words) -> None:
        """Append an Arrow string array."""
        offsets = numpy.frombuffer(words.buffers()[1], dtype=numpy.int32)[
            words.offset:words.offset + len(words) + 1]
        start = len(self.data)
        self.data += memoryview(words.buffers()[2])[offsets[0]:offsets[-1]]
        if self.n + len(words) > len(self.ends):
            self.ends.resize(max(self.n + len(words), len(self.ends) * 9 // 8 + GROW_ROWS),
                             refcheck=False)
        self.ends[self.n:self.n + len(words)] = offsets[1:] - offsets[0] + start
        self.n += len(words)

    def array(self):
        """The words as an Arrow large_string array (sharing this store's buffers)."""
        import pyarrow  # only `init vectors` needs it (~25 MB)

        self.ends.resize(self.n, refcheck=False)
        offsets = numpy.concatenate([[0], self.ends])
        return pyarrow.LargeStringArray.from_buffers(
            self.n, pyarrow.py_buffer(offsets), pyarrow.py_buffer(self.data))


class _SeenKeys:
    """The keys met so far, as sorted uint64 arrays (no Python set of 400k ints): a large
    one and a small one of recent keys, merged into the large one when it reaches 1/8 of
    its size (merging every batch copied the whole array ~160 times for GloVe 400k)."""

    def __init__(self):
        self.sorted = numpy.zeros(0, dtype=numpy.uint64)
        self.recent = numpy.zeros(0, dtype=numpy.uint64)

    def first_seen(self, keys: numpy.ndarray) -> numpy.ndarray:
        """bool (n,): which of `keys` occur neither earlier in `keys` nor in an earlier
        call; those are added."""
        order = numpy.argsort(keys, kind="stable")
        ordered = keys[order]
        repeat = numpy.zeros(len(keys), dtype=bool)
        # stable order: of equal keys the earliest comes first and wins
        repeat[order[1:]] = ordered[1:] == ordered[:-1]
        for known in (self.sorted, self.recent):
            if len(known):
                at = numpy.minimum(numpy.searchsorted(known, keys), len(known) - 1)
                repeat |= known[at] == keys
        self.recent = _merged(self.recent, ordered[~repeat[order]])
        if len(self.recent) > max(len(self.sorted) // 8, GROW_ROWS // 8):
            self.sorted = _merged(self.sorted, self.recent)
            self.recent = self.recent[:0]
        return ~repeat


def _merged(a: numpy.ndarray, b: numpy.ndarray) -> numpy.ndarray:
    """Two sorted arrays as one sorted array."""
    return numpy.insert(a, numpy.searchsorted(a, b), b) if len(b) else a


def _read_ahead(batches: Iterator, depth: int = 2) -> Iterator:
    """`batches`, read by a thread up to `depth` batches ahead: Arrow parses and BLAS
    multiplies (pruning) without the GIL, so reading overlaps the work on each batch.
    Exceptions come out of the loop as raised; leaving the loop early stops the thread."""
    items: queue.Queue = queue.Queue(depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        items.put((batch, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put((done, None))
        except BaseException as err:  # handed to the consumer, which raises it
            items.put((done, err))

    thread = threading.Thread(target=produce, name="read-vectors", daemon=True)
    thread.start()
    try:
        while True:
            batch, err = items.get()
            if err is not None:
                raise err
            if batch is done:
                return
            yield batch
    finally:
        stop.set()
        while thread.is_alive():
            try:
                items.get_nowait()
            except queue.Empty:
                thread.join(0.05)


def word_keys(words) -> numpy.ndarray:
    """uint64 (n,): `get_string_id` of each word of an Arrow string array (symbol names
    get their symbol IDs, every other word its hash)."""
    texts = words.to_pylist()
    keys = hash_strings(texts)
    for i in numpy.flatnonzero(numpy.isin(keys, _SYMBOL_HASHES)).tolist():
        keys[i] = get_string_id(texts[i])
    return keys


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
            # ndarray.resize zero-fills the new rows, so every row added is resident at
            # once: small steps (1/32) keep the unused tail small.
            grown = max(end, len(self.data) + max(len(self.data) // 32, GROW_ROWS // 8))
            self._resize(grown if self.limit is None else min(grown, self.limit))
        self.data[self.n:end] = vectors
        if keys is not None:
            self.keys[self.n:end] = keys
        self.n = end

    def trim(self) -> None:
        if len(self.data) != self.n:
            self._resize(self.n)

    def finish(self) -> numpy.ndarray:
        """The table, trimmed to the rows added."""
        self.trim()
        return self.data

    def close(self) -> None:
        """Nothing to release (the file-backed rows' counterpart)."""

    def _resize(self, rows: int) -> None:
        # In place: no view of these arrays exists while the table is being built.
        self.data.resize((rows, self.data.shape[1]), refcheck=False)
        self.keys.resize(rows, refcheck=False)


class _FileRows:
    """`_Rows`' interface with the table written to a .npy file as rows arrive
    (`NpyRows`): only the uint64 keys stay in memory."""

    def __init__(self, path: Path, width: int):
        self.file = NpyRows(path, width)
        self.keys = numpy.empty(GROW_ROWS, dtype=numpy.uint64)

    @property
    def n(self) -> int:
        return self.file.n

    def append(self, vectors: numpy.ndarray, keys: numpy.ndarray | None) -> None:
        if keys is not None:
            end = self.n + len(keys)
            if end > len(self.keys):
                self.keys.resize(max(end, len(self.keys) * 9 // 8 + GROW_ROWS),
                                 refcheck=False)
            self.keys[self.n:end] = keys
        self.file.append(vectors)

    def trim(self) -> None:
        self.keys.resize(self.n, refcheck=False)

    def finish(self) -> numpy.ndarray:
        """The table, memory-mapped read-only from its finished file."""
        self.trim()
        return self.file.finish()

    def close(self) -> None:
        self.file.close()


def build_vectors(path: str, strings: StringStore, *, mode: str = "default",
                  truncate: int = 0, prune: int = 0, batch_size: int | None = None,
                  name: str | None = None, attr: str = "ORTH", skip_bad_lines: bool = False,
                  progress: bool = True, prune_threads: int = 1,
                  table_path: Path | None = None) -> Built:
    """Read the vector file `path` into a table.

    The words are not added to `strings` (the table's StringStore): they and their keys
    stay in arrays in the returned `Built` (`Built.table()` adds them).

    Args:
        path: local path or URL (see `vectors_reading`).
        strings: the StringStore (a pipeline's `vocab.strings`) the table refers to.
        mode: "default" or "floret".
        truncate: keep only the first `truncate` distinct rows (0: all).
        prune: keep the first `prune` rows and remap the rest (0: keep all; default mode).
        batch_size: rows per matrix product while pruning (None: about 16 MB of scores).
        name, attr: the table's name and key attribute (ORTH, LOWER, NORM).
        skip_bad_lines: count and skip bad rows instead of raising E080.
        progress: show a progress bar with rows/s on stderr.
        prune_threads: threads that search the nearest kept rows (the output does not
            depend on it).
        table_path: where to write the table as .npy while it is read, when every row
            read is kept (no `prune`, or floret mode): `Built.table_file`, and the table
            is never held in memory. None: the table is built in memory.

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
                built = _build_floret(reader, name=name, attr=attr, strings=strings, bar=bar,
                                      table_path=table_path)
            else:
                built = _build_default(reader, strings, truncate=truncate, prune=prune,
                                       batch_size=batch_size, name=name, attr=attr, bar=bar,
                                       threads=prune_threads,
                                       table_path=None if prune else table_path)
        finally:
            bar.close()
    return built


def _build_floret(reader: VectorFileReader, *, name, attr, strings, bar,
                  table_path: Path | None) -> Built:
    info = reader.info
    rows = _Rows(info.dims, info.rows, info.rows) if table_path is None \
        else _FileRows(table_path, info.dims)
    try:
        for batch in reader.batches():
            if rows.n + len(batch.words) > info.rows:
                raise VectorFileError(Errors.E086.format(path=info.path, declared=info.rows,
                                                         got="more"))
            rows.append(batch.vectors, None)
            bar.update(len(batch.words))
        if rows.n != info.rows:
            raise VectorFileError(Errors.E086.format(path=info.path, declared=info.rows,
                                                     got=rows.n))
        data = rows.finish()
    finally:
        rows.close()
    vectors = Vectors(strings=strings, data=data, name=name, attr=attr, mode="floret",
                      **info.floret)
    return Built(vectors, info, reader.stats, rows.n, table_file=table_path)


def _build_default(reader: VectorFileReader, strings: StringStore, *, truncate: int,
                   prune: int, batch_size: int | None, name, attr, bar,
                   threads: int = 1, table_path: Path | None = None) -> Built:
    info = reader.info
    keep = prune or None
    cap = min([n for n in (keep, truncate) if n], default=None)
    if table_path is not None and keep is None:
        rows = _FileRows(table_path, info.dims)
    else:
        # Allocated pages are touched only as rows arrive, so a header's count can be
        # trusted for the first allocation; a file without one starts small and grows.
        rows = _Rows(info.dims, min([n for n in (cap, info.rows) if n], default=GROW_ROWS),
                     cap)
        table_path = None
    try:
        words_in, dups, rows_in, remapped, finished = _read_rows(
            reader, rows, truncate=truncate, keep=keep, batch_size=batch_size, bar=bar,
            threads=threads)
        if finished and info.rows is not None:
            got = reader.stats.rows + reader.stats.bad
            if got != info.rows:
                raise VectorFileError(Errors.E086.format(path=info.path, declared=info.rows,
                                                         got=got))
        if rows_in == 0:
            raise VectorFileError(Errors.E082.format(path=info.path, detail="no good rows"))
        data = rows.finish()
    finally:
        rows.close()
    r_keys, r_rows, r_scores = (numpy.concatenate(parts) for parts in zip(*remapped)) \
        if remapped else (numpy.zeros(0, numpy.uint64), numpy.zeros(0, numpy.int64),
                          numpy.zeros(0, numpy.float64))
    words = words_in.array()
    del words_in
    vectors = Vectors(strings=strings, data=data, name=name, attr=attr)
    built = Built(vectors, info, reader.stats, rows_in,
                  keys=numpy.concatenate([rows.keys, r_keys]) if len(r_keys) else rows.keys,
                  rows=numpy.concatenate([numpy.arange(rows.n), r_rows]) if len(r_keys)
                  else None, words=words, duplicates=dups[0], duplicate_examples=dups[1],
                  table_file=table_path)
    if prune:
        built.report = prune_report(
            source=info.path, rows_in=rows_in, rows_kept=rows.n, n_keys=rows_in,
            remapped_scores=r_scores, remapped_rows=r_rows,
            remapped_word=lambda i: words[rows.n + i].as_py(),
            kept_word=lambda row: words[row].as_py())
    return built


def _read_rows(reader: VectorFileReader, rows, *, truncate: int, keep: int | None,
               batch_size: int | None, bar, threads: int):
    """Read the file's rows into `rows` (`_Rows` or `_FileRows`): the first occurrence of
    each word, up to `truncate` distinct words; with `keep`, rows after the first `keep`
    are mapped to their nearest kept row instead of stored.

    Returns:
        (the words read (`_Words`), (repeats skipped, the first few as (word, line)), the
        distinct rows read, the remapped rows' (keys, rows, scores) per batch, whether the
        whole file was read).
    """
    import pyarrow  # imported when rows are read: only `init vectors` needs it

    seen = _SeenKeys()
    dup_count, dup_examples = 0, []
    nearest = None
    words_in, remapped = _Words(), []
    rows_in = 0
    finished = True
    try:
        for batch in _read_ahead(reader.batches()):
            bar.update(len(batch.words))
            keys = word_keys(batch.words)
            new = seen.first_seen(keys)
            take = numpy.flatnonzero(new)
            if len(take) < len(keys):
                repeats = numpy.flatnonzero(~new)
                if truncate and rows_in + len(take) >= truncate:
                    repeats = repeats[repeats < take[truncate - rows_in - 1]]
                dup_count += len(repeats)
                dup_examples += [(batch.words[int(i)].as_py(), int(batch.lines[i]))
                                 for i in repeats[:10 - len(dup_examples)]]
            if truncate and rows_in + len(take) >= truncate:
                take = take[:truncate - rows_in]
                finished = False
            rows_in += len(take)
            whole = len(take) == len(keys)
            words_in.append(batch.words if whole else batch.words.take(pyarrow.array(take)))
            vectors = batch.vectors if whole else batch.vectors[take]
            keys = keys if whole else keys[take]
            n_table = len(take) if keep is None else max(0, min(len(take), keep - rows.n))
            if n_table:
                rows.append(vectors[:n_table], keys[:n_table])
            if n_table < len(take):
                if nearest is None:
                    rows.trim()
                    nearest = NearestKept(rows.data, batch_size=batch_size, threads=threads)
                found, scores = nearest(vectors[n_table:])
                remapped.append((keys[n_table:], found, scores))
            if not finished:
                break
    finally:
        if nearest is not None:  # its threads end with the search, also on an error
            nearest.close()
    return words_in, (dup_count, dup_examples), rows_in, remapped, finished


def write_keys(built: Built, vocab_dir: Path, strings: StringStore) -> None:
    """Write `built`'s keys into the vocab directory `vocab_dir` from their arrays:
    `key2row` (msgpack, key order as read) and `strings.json` (the words and the other
    strings of `strings`, sorted, as `StringStore.to_disk` writes them)."""
    write_key2row(vocab_dir / "key2row", built.keys, built.rows)
    write_strings_json(vocab_dir / "strings.json", built.words, built.keys, strings)


def write_strings_json(path: Path, words, keys: numpy.ndarray, strings: StringStore,
                       chunk: int = 1 << 15) -> None:
    """`StringStore.to_disk`'s JSON list (sorted, distinct strings; symbol names are not
    stored) of the Arrow string array `words` (keyed by `keys`) and `strings`, written a
    chunk at a time without a Python string per word."""
    import pyarrow  # imported when rows are read: only `init vectors` needs it
    import pyarrow.compute as compute  # (as above)

    extra = list(strings)
    texts = words if not extra else pyarrow.concat_arrays(
        [words, pyarrow.array(extra, type=words.type)])
    # Arrow orders UTF-8 bytes, which is code point order, as Python's sorted(str) does.
    pool = pyarrow.system_memory_pool()
    order = compute.sort_indices(texts, memory_pool=pool).to_numpy()
    stored = numpy.concatenate([keys >= len(SYMBOL_IDS), numpy.ones(len(extra), bool)])
    order = pyarrow.array(order[stored[order]])
    previous = None
    sep = b""
    with path.open("wb") as file_:
        file_.write(b"[")
        for start in range(0, len(order), chunk):
            part = compute.take(texts, order.slice(start, chunk), memory_pool=pool).to_pylist()
            distinct = [t for t, before in zip(part, [previous] + part[:-1]) if t != before]
            previous = part[-1]
            if distinct:
                file_.write(sep + srsly.json_dumps(distinct)[1:-1].encode("utf8"))
                sep = b","
        file_.write(b"]")
