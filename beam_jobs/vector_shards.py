"""The vector-conversion job's work per input shard, committed step by step, so that a run
is resumable (`--resume`) and a worker holds one chunk of rows (plus the kept table when
remapping), never the table.

The input is cut into shards as the annotate job cuts it (shards.py: a plain file in
byte ranges of --shard-mb, a compressed or word2vec binary file whole). Each of the three
passes (vector_table.py) runs per shard inside one DoFn call and commits its result to the
partial area beside --output, under names that depend only on the input:

    OUTPUT.partial/plan.json                          the shards and the settings
    OUTPUT.partial/keys/part-i-of-n.arrow             pass 1: (position, key) of the
                                                      shard's good rows
    OUTPUT.partial/vector_dead_letter/part-i-of-n.parquet   its bad lines (if any)
    OUTPUT.partial/selection.npy, selection.json      the distinct rows' positions (one
                                                      worker, from every keys file)
    OUTPUT.partial/kept/part-i-of-n.arrow             pass 2: (rank, key, word, vector) of
                                                      its rows of rank < --prune (or all)
    OUTPUT.partial/kept_table.npy                     with --prune: the kept table by rank
    OUTPUT.partial/remapped/part-i-of-n.arrow         pass 3: (rank, key, word, kept row,
                                                      cosine) of its other rows
    OUTPUT.partial/manifests/part-i-of-n.<step>.json  written last, atomically, per shard and
                                                      step: counts and files

Files are written under a temporary name and renamed into place, then the manifest. A
DoFn that finds its shard's manifest for its step yields it without redoing the work, so
a rerun (with --resume, or the job's own retry after a lost worker) redoes only what was
in flight. Rows cross the runner only as these files: between steps the pipeline passes
manifests and the names of files.

Arrow IPC files hold the rows (read back memory-mapped, a record batch at a time); the
one writer (vector_writer.py) streams them into the table by rank.
"""
import io
import json
import os
import secrets
import tempfile
from collections import Counter
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import apache_beam as beam
import numpy
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.range_trackers import OffsetRangeTracker

from schemas import vector_dead_letter

from .output_lock import is_local
from .shards import (
    MANIFESTS,
    PartialRun,
    Shard,
    TableFile,
    create,
    rename,
    temporary_name,
    write_atomic,
)
from .vector_memory import note_idle_rss, note_peak_rss, peak_rss_kib, return_freed_memory
from .vector_rows import (
    FILE_SHIFT,
    RowBlock,
    VectorDeadLetter,
    VectorLinesSource,
    parse_chunk,
    read_binary_file,
)
from .vector_table import KeptRows, Ranked, RemapRows, Selection, select_rows
from .vector_writer import RowFile

KEYS, KEPT, REMAPPED = "keys", "kept", "remapped"
DEAD_TABLE = vector_dead_letter.NAME
SELECTION = "selection"
KEPT_TABLE = "kept_table.npy"
DEAD_LETTER_BATCH = 1000
DEAD_ROW_GROUP_BYTES = 16 << 20
FIRST_BAD = 5
KEY_SCHEMA = pa.schema([("position", pa.int64()), ("key", pa.uint64())])
REMAPPED_SCHEMA = pa.schema([("rank", pa.int64()), ("key", pa.uint64()),
                             ("word", pa.string()), ("row", pa.int64()),
                             ("score", pa.float64())])


def kept_schema(dims: int) -> pa.Schema:
    return pa.schema([("rank", pa.int64()), ("key", pa.uint64()), ("word", pa.string()),
                      ("vector", pa.list_(pa.float32(), dims))])


class ShardReader(NamedTuple):
    """How a shard's rows are read: the input files (a file's index there is its place in
    the positions), their width and format."""

    pattern: str
    paths: Tuple[str, ...]
    dims: int
    binary: bool
    header: bool  # text files start with "rows dims" (word2vec, floret)

    def file_index(self, shard: Shard) -> int:
        return self.paths.index(shard.path)

    def positions(self, shard: Shard) -> Tuple[int, int]:
        """The lowest and highest position a row of the shard can have."""
        base = self.file_index(shard) << FILE_SHIFT
        end = (1 << FILE_SHIFT) - 1 if shard.end is None else shard.end - 1
        return base + shard.start, base + end

    def parts(self, shard: Shard) -> Iterator[Tuple[RowBlock, List[VectorDeadLetter], int,
                                                    int]]:
        """(good rows, dead letters, lines read, blank lines) a chunk at a time."""
        index = self.file_index(shard)
        if self.binary:
            for block, dead, n_read in read_binary_file(index, shard.path, self.dims):
                yield block, dead, n_read, 0
            return
        for chunk in self.chunks(shard):
            block, dead = parse_chunk(chunk, self.dims)
            n_read = len(chunk.items) + sum(
                1 for letter in chunk.dead if letter.error_type == "line_too_long")
            yield block, dead, n_read, chunk.n_blank

    def chunks(self, shard: Shard):
        end = OffsetRangeTracker.OFFSET_INFINITY if shard.end is None else shard.end
        source = VectorLinesSource(self.pattern, self.paths, header=self.header,
                                   dims=self.dims)
        yield from source.read_records(shard.path, OffsetRangeTracker(shard.start, end))

    def blocks(self, shard: Shard, step, selection: Selection) -> Iterator[RowBlock]:
        """The shard's good rows for pass 2 or 3: a chunk (text) or batch (binary) is not
        parsed when `step` would find nothing in it."""
        if self.binary:
            for block, _, _, _ in self.parts(shard):
                if len(block.keys) and not step.skip(int(block.positions[0]),
                                                     int(block.positions[-1]), selection):
                    yield block
            return
        base = self.file_index(shard) << FILE_SHIFT
        for chunk in self.chunks(shard):
            if chunk.items and not step.skip(base + chunk.items[0][0],
                                             base + chunk.items[-1][0], selection):
                yield parse_chunk(chunk, self.dims)[0]


class VectorPartial(PartialRun):
    """The partial area of --output `output` with one manifest per shard and step
    (`steps`: the job's, for `committed`)."""

    def __init__(self, output: str, steps: Sequence[str] = (KEYS, KEPT, REMAPPED)):
        super().__init__(output)
        self.steps = tuple(steps)

    def committed(self, shards: Sequence[Shard], tables: Sequence[str] = ()
                  ) -> Dict[str, Dict[str, Any]]:
        """shard name -> its first step's manifest, for the shards that committed every
        step (`tables` is not used: a manifest names its files)."""
        found = {}
        for shard in shards:
            manifests = [self.manifest(shard, step) for step in self.steps]
            if all(manifests):
                found[shard.name] = manifests[0]
        return found

    def step_file(self, step: str, shard: Shard, suffix: str = ".arrow") -> str:
        return self.path(step, shard.name + suffix)

    def manifest(self, shard: Shard, step: str) -> Optional[Dict[str, Any]]:
        """The shard's committed manifest for `step` (None when it is not committed: no
        manifest, another plan's, unreadable, or a file it names is missing)."""
        path = self.path(MANIFESTS, f"{shard.name}.{step}.json")
        try:
            with FileSystems.open(path) as file_:
                found = json.loads(file_.read().decode("utf8"))
        except (OSError, ValueError):
            return None
        if not isinstance(found, dict) or found.get("shard") != shard.key():
            return None
        files = [f for f in (found.get("files") or {}).values() if f]
        # only this shard's own files: a manifest never moves or reads anything else
        expected = {self.step_file(KEYS, shard), self.step_file(KEPT, shard),
                    self.step_file(REMAPPED, shard),
                    self.step_file(DEAD_TABLE, shard, ".parquet")}
        if not all(f in expected and _exists(f) for f in files):
            return None
        return found

    def commit(self, shard: Shard, step: str, manifest: Dict[str, Any]) -> Dict[str, Any]:
        manifest = {"shard": shard.key(), "step": step, **manifest}
        write_atomic(self.path(MANIFESTS, f"{shard.name}.{step}.json"),
                     json.dumps(manifest).encode("utf8"))
        return manifest


class SelectionInfo(NamedTuple):
    """What the steps after SelectRows need of the selection, small enough for a side
    input; the positions themselves are in `path` (each worker loads them once)."""

    path: str
    token: str          # tells a worker's cached copy from another run's
    n_distinct: int
    duplicates: int
    truncated: int
    last_kept: int      # position of the last row of rank < --prune (-1: none)


class KeptInfo(NamedTuple):
    path: str
    token: str


# --- the steps ---

class _ShardStep(beam.DoFn):
    step_name = ""

    def __init__(self, output: str, reader: ShardReader):
        self.output = output
        self.reader = reader

    def setup(self):
        self.idle_kib = peak_rss_kib()
        return_freed_memory()
        self.partial = VectorPartial(self.output)

    def process(self, shard: Shard, *side):
        if self.idle_kib is not None:
            note_idle_rss(self.idle_kib)
            self.idle_kib = None
        found = self.partial.manifest(shard, self.step_name)
        if found is None:
            found = self.partial.commit(shard, self.step_name, self.work(shard, *side))
        note_peak_rss()
        yield found

    def work(self, shard: Shard, *side) -> Dict[str, Any]:
        raise NotImplementedError


class ParseKeys(_ShardStep):
    """Pass 1 on a shard: every line parsed; the good rows' (position, key) to
    keys/SHARD.arrow, bad lines to vector_dead_letter/SHARD.parquet; the manifest counts
    lines read and blank per file, dead letters by reason and the shard's first bad
    lines."""

    step_name = KEYS

    def work(self, shard: Shard) -> Dict[str, Any]:
        positions, keys = [], []
        n_read = n_blank = 0
        by_reason: Counter = Counter()
        first_bad: List[VectorDeadLetter] = []
        letters: List[VectorDeadLetter] = []
        dead_file: Optional[TableFile] = None
        try:
            for block, dead, read, blank in self.reader.parts(shard):
                n_read += read
                n_blank += blank
                positions.append(block.positions)
                keys.append(block.keys)
                for letter in dead:
                    by_reason[letter.error_type] += 1
                    letters.append(letter)
                first_bad = sorted(first_bad + dead, key=_letter_order)[:FIRST_BAD]
                if len(letters) >= DEAD_LETTER_BATCH:
                    dead_file = self._write_dead(shard, dead_file, letters)
                    letters = []
            if letters:
                dead_file = self._write_dead(shard, dead_file, letters)
            if dead_file is not None:
                dead_file.commit()
        except BaseException:
            if dead_file is not None:
                dead_file.abandon()
            raise
        batch = pa.record_batch([
            pa.array(numpy.concatenate(positions) if positions else [], pa.int64()),
            pa.array(numpy.concatenate(keys) if keys else [], pa.uint64())],
            schema=KEY_SCHEMA)
        rows = batch.num_rows
        key_path = self.partial.step_file(KEYS, shard)
        write_arrow(key_path, KEY_SCHEMA, [batch])
        return {"file_index": self.reader.file_index(shard), "lines_read": n_read,
                "blank_lines": n_blank, "rows": rows,
                "dead_letter_by_reason": dict(sorted(by_reason.items())),
                "first_bad": [letter._asdict() for letter in first_bad],
                "files": {KEYS: key_path,
                          DEAD_TABLE: dead_file.path if dead_file is not None else None}}

    def _write_dead(self, shard: Shard, dead_file: Optional[TableFile],
                    letters: List[VectorDeadLetter]) -> TableFile:
        if dead_file is None:
            dead_file = TableFile(self.partial.step_file(DEAD_TABLE, shard, ".parquet"),
                                  vector_dead_letter.SCHEMA, DEAD_ROW_GROUP_BYTES)
        dead_file.write(dead_letters_to_record_batch(letters))
        return dead_file


class KeptShard(_ShardStep):
    """Pass 2 on a shard: its rows of rank < --prune (or every row) with their vectors
    to kept/SHARD.arrow, a chunk at a time; a shard wholly after the last kept row is not
    read."""

    step_name = KEPT

    def __init__(self, output: str, reader: ShardReader, prune: int):
        super().__init__(output, reader)
        self.prune = prune

    def work(self, shard: Shard, info: SelectionInfo) -> Dict[str, Any]:
        if self.prune and self.reader.positions(shard)[0] > info.last_kept:
            return {"rows": 0, "files": {}}
        selection = load_selection(info)
        step = KeptRows(self.prune)
        path = self.partial.step_file(KEPT, shard)
        schema = kept_schema(self.reader.dims)
        pieces = (piece for block in self.reader.blocks(shard, step, selection)
                  for piece in step(block, selection))
        rows = write_arrow(path, schema, (kept_batch(piece, schema) for piece in pieces))
        return {"rows": rows, "files": {KEPT: path}}


class RemapShard(_ShardStep):
    """Pass 3 on a shard (with --prune): its rows of rank >= --prune -> nearest kept row
    by cosine (the kept table loaded once per worker process), to remapped/SHARD.arrow; a
    shard wholly before the last kept row is not read."""

    step_name = REMAPPED

    def __init__(self, output: str, reader: ShardReader, prune: int, batch_size: int):
        super().__init__(output, reader)
        self.prune = prune
        self.batch_size = batch_size

    def work(self, shard: Shard, info: SelectionInfo, kept: KeptInfo) -> Dict[str, Any]:
        if self.reader.positions(shard)[1] <= info.last_kept:
            return {"rows": 0, "files": {}}
        selection = load_selection(info)
        table = load_kept(kept)
        step = _remapper(self.prune, self.batch_size)
        path = self.partial.step_file(REMAPPED, shard)
        batches = (pa.record_batch([pa.array(piece.ranks), pa.array(piece.keys),
                                    pa.array(piece.words, pa.string()),
                                    pa.array(piece.rows), pa.array(piece.scores)],
                                   schema=REMAPPED_SCHEMA)
                   for block in self.reader.blocks(shard, step, selection)
                   for piece in step(block, selection, table))
        rows = write_arrow(path, REMAPPED_SCHEMA, batches)
        return {"rows": rows, "files": {REMAPPED: path}}


def select_step(manifests: List[Dict[str, Any]], output: str, prune: int, truncate: int
                ) -> SelectionInfo:
    """SelectRows (one worker): the selection from every shard's keys file (16 bytes a
    row), written to selection.npy."""
    partial = VectorPartial(output)
    ordered = sorted(manifests, key=lambda m: m["shard"]["name"])
    pieces = []
    for manifest in ordered:
        table = read_arrow(manifest["files"][KEYS])
        pieces.append((table.column("position").to_numpy(), table.column("key").to_numpy()))
        del table
    selection = select_rows(pieces, truncate)
    del pieces
    data = io.BytesIO()
    numpy.save(data, selection.positions, allow_pickle=False)
    path = partial.path(SELECTION + ".npy")
    write_atomic(path, data.getvalue())
    info = SelectionInfo(path, secrets.token_hex(8), selection.n_distinct,
                         selection.duplicates, selection.truncated,
                         selection.last_position(prune) if prune else -1)
    write_atomic(partial.path(SELECTION + ".json"), json.dumps(info._asdict()).encode())
    note_peak_rss()
    return info


def assemble_kept_step(manifests: List[Dict[str, Any]], output: str, info: SelectionInfo,
                       prune: int, dims: int) -> KeptInfo:
    """AssembleKept (one worker, with --prune): the kept rows by rank into
    kept_table.npy, streamed from the kept files with plain writes."""
    partial = VectorPartial(output)
    path = partial.path(KEPT_TABLE)
    n_rows = min(info.n_distinct, prune)
    with tempfile.TemporaryDirectory() as local:
        target = path if is_local(path) else os.path.join(local, KEPT_TABLE)
        temporary = temporary_name(target)
        os.makedirs(os.path.dirname(os.path.abspath(temporary)), exist_ok=True)
        with RowFile(temporary, n_rows, dims) as table:
            for piece in ranked_pieces(manifests, KEPT, dims):
                table.write(piece.ranks, piece.vectors)
        if target == path:
            os.replace(temporary, path)
        else:
            with open(temporary, "rb") as src, create(path) as dst:
                while True:
                    block = src.read(8 << 20)
                    if not block:
                        break
                    dst.write(block)
    note_peak_rss()
    return KeptInfo(path, secrets.token_hex(8))


# --- files ---

def write_arrow(path: str, schema: pa.Schema, batches) -> int:
    """Record batches into an Arrow IPC file at `path` (temporary name, then renamed);
    the number of rows."""
    temporary = temporary_name(path)
    rows = 0
    try:
        with create(temporary) as file_:
            with pa.ipc.new_file(file_, schema) as writer:
                for batch in batches:
                    writer.write_batch(batch)
                    rows += batch.num_rows
    except BaseException:
        try:
            FileSystems.delete([temporary])
        except Exception:  # the shard is redone; a leftover goes with the area
            pass
        raise
    rename(temporary, path)
    return rows


def arrow_batches(path: str) -> Iterator[pa.RecordBatch]:
    """The record batches of an Arrow IPC file, one at a time (memory-mapped locally)."""
    if is_local(path):
        with pa.memory_map(path) as source:
            reader = pa.ipc.open_file(source)
            for i in range(reader.num_record_batches):
                yield reader.get_batch(i)
        return
    with FileSystems.open(path, compression_type="uncompressed") as file_:
        data = file_.read()
    reader = pa.ipc.open_file(pa.py_buffer(data))
    for i in range(reader.num_record_batches):
        yield reader.get_batch(i)


def read_arrow(path: str) -> pa.Table:
    return pa.Table.from_batches(list(arrow_batches(path)))


def kept_batch(piece: Ranked, schema: pa.Schema) -> pa.RecordBatch:
    dims = schema.field("vector").type.list_size
    vectors = pa.FixedSizeListArray.from_arrays(
        pa.array(numpy.ascontiguousarray(piece.vectors, dtype=numpy.float32).ravel()), dims)
    return pa.record_batch([pa.array(piece.ranks), pa.array(piece.keys),
                            pa.array(piece.words, pa.string()), vectors], schema=schema)


def ranked_pieces(manifests: Sequence[Dict[str, Any]], step: str, dims: int
                  ) -> Iterator[Ranked]:
    """The rows the shards' `step` files hold, as `Ranked` pieces (words as an Arrow
    array), a record batch at a time, in shard order."""
    for manifest in sorted(manifests, key=lambda m: m["shard"]["name"]):
        path = manifest["files"].get(step)
        if not path:
            continue
        for batch in arrow_batches(path):
            ranks = batch.column("rank").to_numpy()
            keys = batch.column("key").to_numpy()
            words = batch.column("word")
            if step == KEPT:
                vectors = batch.column("vector").flatten().to_numpy().reshape(-1, dims)
                yield Ranked(ranks, keys, words, vectors)
            else:
                yield Ranked(ranks, keys, words, None, batch.column("row").to_numpy(),
                             batch.column("score").to_numpy())


_loaded: Dict[str, Any] = {}


def load_selection(info: SelectionInfo) -> Selection:
    """The selection's positions, loaded once per worker process (per run)."""
    key = ("selection", info.path, info.token)
    if _loaded.get("selection_key") != key:
        _loaded.pop("selection", None)
        with FileSystems.open(info.path, compression_type="uncompressed") as file_:
            positions = numpy.load(io.BytesIO(file_.read()), allow_pickle=False)
        _loaded["selection"] = Selection(positions, info.duplicates, info.truncated)
        _loaded["selection_key"] = key
    return _loaded["selection"]


def load_kept(kept: KeptInfo) -> numpy.ndarray:
    """The kept table, once per worker process (per run): memory-mapped locally."""
    key = ("kept", kept.path, kept.token)
    if _loaded.get("kept_key") != key:
        _loaded.pop("kept", None)
        if is_local(kept.path):
            table = numpy.load(kept.path, mmap_mode="r", allow_pickle=False)
        else:
            with FileSystems.open(kept.path, compression_type="uncompressed") as file_:
                table = numpy.load(io.BytesIO(file_.read()), allow_pickle=False)
        _loaded["kept"] = table
        _loaded["kept_key"] = key
    return _loaded["kept"]


def _remapper(prune: int, batch_size: int) -> RemapRows:
    """One RemapRows per worker process: its search index is built once per kept table."""
    key = (prune, batch_size)
    if _loaded.get("remap_key") != key:
        _loaded["remap"] = RemapRows(prune, batch_size)
        _loaded["remap_key"] = key
    return _loaded["remap"]


def dead_letters_to_record_batch(letters: Sequence[VectorDeadLetter]) -> pa.RecordBatch:
    """One `vector_dead_letter` row per letter."""
    columns = list(zip(*letters)) if letters else [[] for _ in VectorDeadLetter._fields]
    arrays = [pa.array(list(values), type=vector_dead_letter.SCHEMA.field(name).type)
              for name, values in zip(VectorDeadLetter._fields, columns)]
    return pa.RecordBatch.from_arrays(arrays, schema=vector_dead_letter.SCHEMA)


def _letter_order(letter: VectorDeadLetter):
    return (letter.source, letter.offset)


def _exists(path: str) -> bool:
    return os.path.exists(path) if is_local(path) else FileSystems.exists(path)
