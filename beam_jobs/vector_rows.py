"""Reading the rows of text vector files in byte ranges, each row with its position.

`VectorLinesSource` is a Beam `FileBasedSource` like io.py's `JsonlSource`: plain files are
split into byte ranges, compressed ones (.gz, .bz2, .zst, ... by extension) are read whole
through compressed.py. A row's position is `(file index << FILE_SHIFT) | byte offset`, the
index being the file's place in the sorted list of inputs: positions sort in the order of
the files and of the lines in them, and whichever worker reads a range knows them, so the
rows a run keeps never depend on how the input was split.

`parse_chunk` turns a chunk of lines into a `RowBlock` (positions, line numbers, words,
keys, float32 vectors) and dead letters, with the rules of `init vectors`
(nlp_core.vectors_reading): a row's numbers are its last `dims` space-separated fields,
everything before them is the word; numbers are parsed as float64 and rounded to float32.
"""
from typing import Iterator, List, NamedTuple, Optional, Sequence, Tuple

import numpy
import pyarrow
from apache_beam.io.filebasedsource import FileBasedSource

from nlp_core.vectors_building import word_keys
from nlp_core.vectors_reading import VectorFileError, VectorFileReader, first_non_number
from schemas import vector_dead_letter

from .io import RangeReadStopped, file_size, range_lines
from .records import writable

FILE_SHIFT = 44  # byte offsets up to 16 TiB per file
CHUNK_LINES = 2000
CHUNK_BYTES = 4 << 20


class VectorDeadLetter(NamedTuple):
    """A rejected line: one `vector_dead_letter` row."""

    source: str
    line: Optional[int]
    offset: int
    error_type: str
    message: str
    raw: str
    raw_bytes: int


class LineChunk(NamedTuple):
    """Consecutive non-blank lines of one file: (offset, line number or None, bytes)."""

    file_index: int
    source: str
    items: list
    n_blank: int = 0
    dead: tuple = ()  # letters made while reading (a line too long, a corrupt file)


class RowBlock(NamedTuple):
    """Good rows: int64 (n,) positions, int64 (n,) line numbers (0: unknown), the words,
    uint64 (n,) keys (`get_string_id` of each word) and float32 (n, dims) vectors."""

    positions: numpy.ndarray
    lines: numpy.ndarray
    words: List[str]
    keys: numpy.ndarray
    vectors: numpy.ndarray

    def take(self, index: numpy.ndarray) -> "RowBlock":
        return RowBlock(self.positions[index], self.lines[index],
                        [self.words[i] for i in index.tolist()], self.keys[index],
                        self.vectors[index])


def empty_block(dims: int) -> RowBlock:
    return RowBlock(numpy.zeros(0, numpy.int64), numpy.zeros(0, numpy.int64), [],
                    numpy.zeros(0, numpy.uint64), numpy.zeros((0, dims), numpy.float32))


def concat_blocks(blocks: Sequence[RowBlock], dims: int) -> RowBlock:
    if not blocks:
        return empty_block(dims)
    return RowBlock(numpy.concatenate([b.positions for b in blocks]),
                    numpy.concatenate([b.lines for b in blocks]),
                    [w for b in blocks for w in b.words],
                    numpy.concatenate([b.keys for b in blocks]),
                    numpy.concatenate([b.vectors for b in blocks]))


def raw_text(raw: bytes) -> str:
    return writable(raw[:vector_dead_letter.RAW_MAX_CHARS * 4].decode(
        "utf8", "backslashreplace")[:vector_dead_letter.RAW_MAX_CHARS])


def max_line_bytes(dims: int) -> int:
    """The longest line a row of `dims` numbers may take (a long word, long numbers)."""
    return (1 << 16) + 64 * dims


def _letter(source: str, offset: int, line: Optional[int], error_type: str, message: str,
            raw: bytes, size: int) -> VectorDeadLetter:
    return VectorDeadLetter(writable(source), line, offset, error_type, writable(message),
                            raw_text(raw), size)


def parse_chunk(chunk: LineChunk, dims: int) -> Tuple[RowBlock, List[VectorDeadLetter]]:
    """The good rows of `chunk` and a dead letter for each bad line."""
    words: List[str] = []
    numbers: List[bytes] = []
    kept: List[Tuple[int, Optional[int], bytes]] = []
    dead: List[VectorDeadLetter] = list(chunk.dead)
    for offset, line, raw in chunk.items:
        text = raw.rstrip()
        n_spaces = text.count(b" ")
        if n_spaces < dims:
            dead.append(_letter(chunk.source, offset, line, "too_few_fields",
                                f"{n_spaces + 1} fields; a row is a word and {dims} numbers "
                                "separated by single spaces", raw, len(raw)))
            continue
        cut = text.find(b" ") if n_spaces == dims else len(text.rsplit(b" ", dims)[0])
        if cut == 0:
            dead.append(_letter(chunk.source, offset, line, "no_word",
                                "no word before the numbers", raw, len(raw)))
            continue
        try:
            word = text[:cut].decode("utf8")
        except UnicodeDecodeError as err:
            dead.append(_letter(chunk.source, offset, line, "not_utf8",
                                f"the word is not UTF-8 ({err.reason} at byte {err.start})",
                                raw, len(raw)))
            continue
        words.append(word)
        numbers.append(text[cut + 1:])
        kept.append((offset, line, raw))
    table = _parse_numbers(numbers, dims)
    if table is None:  # something is bad: find which rows, line by line
        good, rows = [], []
        for i, text in enumerate(numbers):
            offset, line, raw = kept[i]
            try:
                row = numpy.fromstring(text, dtype=numpy.float64, sep=" ")
            except ValueError:
                row = None
            if row is None or row.size != dims:
                dead.append(_letter(chunk.source, offset, line, "not_a_number",
                                    f"a field is not a number: {first_non_number(text)!r}",
                                    raw, len(raw)))
            elif not numpy.isfinite(row).all():
                dead.append(_letter(chunk.source, offset, line, "not_finite",
                                    "a number is not finite (nan or inf)", raw, len(raw)))
            else:
                good.append(i)
                rows.append(row)
        words = [words[i] for i in good]
        kept = [kept[i] for i in good]
        table = (numpy.stack(rows) if rows else numpy.zeros((0, dims), numpy.float64))
    base = chunk.file_index << FILE_SHIFT
    positions = numpy.array([base + offset for offset, _, _ in kept], dtype=numpy.int64)
    lines = numpy.array([line or 0 for _, line, _ in kept], dtype=numpy.int64)
    keys = (word_keys(pyarrow.array(words, type=pyarrow.string())) if words
            else numpy.zeros(0, numpy.uint64))
    return RowBlock(positions, lines, words, keys, table.astype(numpy.float32)), dead


def _parse_numbers(numbers: List[bytes], dims: int) -> Optional[numpy.ndarray]:
    """float64 (n, dims) when every entry is `dims` finite numbers, else None."""
    if not numbers:
        return numpy.zeros((0, dims), numpy.float64)
    try:
        flat = numpy.fromstring(b" ".join(numbers), dtype=numpy.float64, sep=" ")
    except ValueError:
        return None
    if flat.size != len(numbers) * dims:
        return None
    table = flat.reshape(len(numbers), dims)
    return table if numpy.isfinite(table).all() else None


def read_lines(source, file_name: str, file_index: int, range_tracker, *, header: bool,
               dims: int) -> Iterator[LineChunk]:
    """The lines of `file_name` in `range_tracker`'s range, in chunks (see the module
    docstring); the header line (offset 0, when `header`) is not a row."""
    limit = max_line_bytes(dims)
    items: list = []
    n_bytes = n_blank = 0
    try:
        for row in range_lines(source, file_name, range_tracker, limit):
            if row.too_long:
                letter = _letter(file_name, row.position, row.line, "line_too_long",
                                 f"the line has {row.size} bytes, more than a row of {dims} "
                                 f"numbers can take ({limit}); it was skipped unread",
                                 row.raw, row.size)
                yield LineChunk(file_index, file_name, items, n_blank, (letter,))
                items, n_bytes, n_blank = [], 0, 0
            elif row.position == 0 and header:
                pass  # "rows dims": not a row
            elif row.raw.strip():
                items.append((row.position, row.line, row.raw.rstrip(b"\r\n")))
                n_bytes += row.size
            else:
                n_blank += 1
            if len(items) >= CHUNK_LINES or n_bytes >= CHUNK_BYTES:
                yield LineChunk(file_index, file_name, items, n_blank)
                items, n_bytes, n_blank = [], 0, 0
    except RangeReadStopped as stop:
        letter = _letter(file_name, stop.position, stop.line, stop.error.error_type,
                         f"{file_name}: reading stopped at byte {stop.position} of the "
                         f"decompressed data: {stop.error.detail}. The lines before it were "
                         "read; the rest of the file is lost.", stop.error.detail.encode(),
                         file_size(file_name))
        yield LineChunk(file_index, file_name, items, n_blank, (letter,))
        return
    if items or n_blank:
        yield LineChunk(file_index, file_name, items, n_blank)


class VectorLinesSource(FileBasedSource):
    """The lines of text vector files as `LineChunk`s.

    Args:
        file_pattern: the --input glob.
        paths: the files it matches, sorted (a file's index there is its place in the
            positions).
        header: whether each file starts with a "rows dims" line (word2vec text).
        dims: the table's width (sets the longest line read).
        min_bundle_size: see FileBasedSource (tests make it small to split files).
    """

    def __init__(self, file_pattern: str, paths: Sequence[str], *, header: bool, dims: int,
                 desired_bundle_size: Optional[int] = None):
        super().__init__(file_pattern, splittable=True, validate=False)
        self.index = {path: i for i, path in enumerate(paths)}
        self.header = header
        self.dims = dims
        self.desired_bundle_size = desired_bundle_size

    def split(self, desired_bundle_size=None, start_position=None, stop_position=None):
        return super().split(self.desired_bundle_size or desired_bundle_size,
                             start_position, stop_position)

    def read_records(self, file_name: str, range_tracker) -> Iterator[LineChunk]:
        if file_name not in self.index:
            raise ValueError(f"--input: {file_name} appeared after the job started (it "
                             "was not among the files matched when the run was planned); "
                             "run again once the input is complete.")
        yield from read_lines(self, file_name, self.index[file_name], range_tracker,
                              header=self.header, dims=self.dims)


def read_binary_file(file_index: int, path: str, dims: int
                     ) -> Iterator[Tuple[RowBlock, List[VectorDeadLetter], int]]:
    """A word2vec binary file, read whole with `init vectors`' reader: (good rows, dead
    letters, records read) per batch. A row's position is its record's byte offset (in
    the decompressed data); its line is its record number. A file that stops being
    readable ends with one dead letter at the record where reading stopped
    (`truncated_file`: cut short, E085; `corrupt_file`: data that cannot be read), which
    counts as one record read; the records before it are kept."""
    base = file_index << FILE_SHIFT
    try:
        reader = VectorFileReader(path, keep_bad_rows=True)
    except VectorFileError as err:
        yield empty_block(dims), [_stopped(path, 0, err)], 1
        return
    try:
        if reader.info.format != "word2vec-binary" or reader.info.dims != dims:
            raise VectorFileError(f"{path} is {reader.info.format} of width "
                                  f"{reader.info.dims}, not word2vec-binary of width {dims}: "
                                  "it changed after the run was planned.")
        for batch in reader.batches():
            dead = [_letter(path, bad.offset, bad.line, bad.kind,
                            f"record {bad.line}: {bad.reason}", bad.raw, len(bad.raw))
                    for bad in reader.bad_rows]
            reader.bad_rows.clear()
            n = len(batch.words)
            block = (RowBlock(base + batch.offsets, batch.lines, batch.words.to_pylist(),
                              word_keys(batch.words), batch.vectors) if n
                     else empty_block(dims))
            yield block, dead, n + len(dead)
    except VectorFileError as err:
        yield empty_block(dims), [_stopped(path, reader.offset, err)], 1
    finally:
        reader.close()


def _stopped(path: str, offset: int, err: VectorFileError) -> VectorDeadLetter:
    kind = "truncated_file" if "[E085]" in str(err) else "corrupt_file"
    return _letter(path, offset, None, kind, f"{err} The records before this point were "
                   "read; the rest of the file is lost.", str(err).encode(), file_size(path))
