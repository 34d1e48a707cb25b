"""Reading word-vector files in one streaming pass, batch by batch.

Formats, told apart by the first line (and, after a "rows dims" header, by whether the
next bytes are text):

    word2vec text / fastText .vec   "rows dims", then one `word v1 ... vdims` line per row
    GloVe text                      no header: the first line is already a row
    word2vec binary                 "rows dims", then `word<space>` + dims float32 (little-
                                    endian) per row, optionally followed by a newline
    floret text (mode "floret")     "rows dims minn maxn hash_count hash_seed bow eow",
                                    then one `index v1 ... vdims` line per hash bucket

A text row's numbers are its last `dims` space-separated fields; everything before them is
the word (GloVe 840B has words with spaces). Files may be plain or compressed (.gz, .bz2,
.zst, .xz) and local or remote (s3://, gs://, https://): `smart_open` picks both from the
name. A bad row (too few fields, a field that is not a finite number, a word that is not
UTF-8) stops the read with E080 naming the file and line, or is counted and skipped.
"""
import bz2
import gzip
import lzma
import re
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Dict, Iterator, List, Tuple

import numpy
import zstandard

from .errors import Errors

FORMATS = ("word2vec-text", "glove-text", "word2vec-binary", "floret-text")
BLOCK_BYTES = 1 << 20
# Text parsed by Arrow at once, in blocks that its threads parse side by side: 1 MB keeps
# the working set (text, float64 columns, rows) near 10 MB; 4 MB was no faster.
CHUNK_BYTES = 1 << 20
# A binary record whose word runs longer than this is corrupt, not a long word.
MAX_WORD_BYTES = 1 << 16
KEPT_EXAMPLES = 10
_INT = re.compile(rb"^[0-9]+$")


class VectorFileError(ValueError):
    """A vector file that cannot be read as it is; the message names file, line and fix."""


@dataclass
class FileInfo:
    """What the first line says: format, width, rows (None without a header) and, in
    floret mode, the hashing settings (minn, maxn, hash_count, hash_seed, bow, eow)."""

    path: str
    format: str
    dims: int
    rows: int | None
    floret: Dict[str, object] | None = None


@dataclass
class ReadStats:
    """Rows read and bad rows skipped; `bad_examples` holds the first few (line, reason)."""

    rows: int = 0
    bad: int = 0
    bad_examples: List[Tuple[int, str]] = field(default_factory=list)


@dataclass
class Batch:
    """Consecutive good rows: words (an Arrow string array; floret: bucket indices as
    text), their (n, dims) float32 vectors, the int64 (n,) 1-based line (binary: record)
    number of each and (binary only; empty otherwise) the int64 (n,) byte offset of each
    record in the (decompressed) file."""

    words: Any
    vectors: numpy.ndarray
    lines: numpy.ndarray
    offsets: numpy.ndarray = field(default_factory=lambda: numpy.zeros(0, numpy.int64))


@dataclass
class BadRow:
    """A bad row kept for the caller (`VectorFileReader(keep_bad_rows=True)`): its 1-based
    line (binary: record) number, byte offset (binary; None for text), reason and raw
    bytes (at most MAX_WORD_BYTES)."""

    line: int
    offset: int | None
    reason: str
    raw: bytes
    kind: str = "bad_row"  # binary: not_utf8, no_word or not_finite


def _batch(words: List[str], vectors: numpy.ndarray, lines: List[int],
           offsets: List[int] | None = None) -> Batch:
    import pyarrow  # imported when rows are read: only `init vectors` needs it

    return Batch(pyarrow.array(words, type=pyarrow.string()), vectors,
                 numpy.asarray(lines, dtype=numpy.int64),
                 numpy.asarray(offsets or [], dtype=numpy.int64))


def open_binary(path: str) -> Tuple[BinaryIO, BinaryIO]:
    """`path` opened for reading bytes (smart_open: local, s3://, gs://, https://) and the
    stream that decompresses it by its extension (the same object for a plain file)."""
    # Imported here: smart_open loads its transport modules (boto3, google-cloud) on demand
    # and takes ~0.1 s to import, which only `init vectors` needs.
    import smart_open

    name = path.split("?")[0].lower()
    try:
        raw = smart_open.open(path, "rb", compression="disable")
    except (OSError, ValueError, ImportError) as err:
        raise VectorFileError(Errors.E081.format(path=path, detail=err)) from None
    if name.endswith(".gz"):
        return raw, gzip.GzipFile(fileobj=raw, mode="rb")
    if name.endswith(".bz2"):
        return raw, bz2.BZ2File(raw, mode="rb")
    if name.endswith(".xz"):
        return raw, lzma.LZMAFile(raw, mode="rb")
    if name.endswith(".zst"):
        return raw, zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    return raw, raw


class VectorFileReader:
    """Stream the rows of a vector file; use as a context manager.

    Args:
        path: a local path or URL.
        mode: "default" (word2vec, GloVe, fastText) or "floret" (a .floret text file).
        skip_bad_lines: count and skip bad rows instead of raising E080.
        batch_rows: rows per yielded batch.
        keep_bad_rows: (word2vec binary) skip bad records and keep each in `bad_rows` as
            a `BadRow`, for the caller to take after each batch; a batch (perhaps without
            rows) is yielded whenever `batch_rows` bad rows are waiting, so they stay few.
    """

    def __init__(self, path: str, *, mode: str = "default", skip_bad_lines: bool = False,
                 batch_rows: int = 8192, keep_bad_rows: bool = False):
        self.path = str(path)
        self.skip_bad_lines = skip_bad_lines or keep_bad_rows
        self.batch_rows = batch_rows
        self.bad_rows: List[BadRow] | None = [] if keep_bad_rows else None
        self.stats = ReadStats()
        self._pending_offset = 0
        self.offset = 0  # binary: the byte offset of the record being read
        self._raw, self._stream = open_binary(self.path)
        try:
            self.info, self._pending, self._first_line = self._read_header(mode)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> "VectorFileReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stream.close()
        self._raw.close()

    def batches(self) -> Iterator[Batch]:
        if self.info.format == "word2vec-binary":
            return self._binary_batches()
        return self._text_batches()

    # --- header ----------------------------------------------------------------------

    def _read_header(self, mode: str) -> Tuple[FileInfo, bytes, int]:
        head = self._read_block()
        end = head.find(b"\n")
        while end < 0 and len(head) < MAX_WORD_BYTES * 4:
            more = self._read_block()
            if not more:
                break
            head += more
            end = head.find(b"\n")
        first = head if end < 0 else head[:end]
        rest = b"" if end < 0 else head[end + 1:]
        fields = first.split()
        if not fields:
            raise VectorFileError(Errors.E082.format(path=self.path,
                                                     detail="its first line is empty"))
        header_ints = [f for f in fields[:6] if _INT.match(f)]
        if len(fields) == 8 and len(header_ints) == 6:
            if mode != "floret":
                raise VectorFileError(Errors.E083.format(
                    path=self.path, found="a floret header (rows dims minn maxn hash_count "
                    "hash_seed bow eow)", fix="convert it with --mode floret"))
            names = ("minn", "maxn", "hash_count", "hash_seed")
            settings: Dict[str, object] = {n: int(v) for n, v in zip(names, fields[2:6])}
            settings.update(bow=fields[6].decode("utf8", "replace"),
                            eow=fields[7].decode("utf8", "replace"))
            info = FileInfo(self.path, "floret-text", int(fields[1]), int(fields[0]), settings)
            return self._checked(info), rest, 2
        if mode == "floret":
            raise VectorFileError(Errors.E083.format(
                path=self.path, found=f"no floret header (first line: {first[:80]!r})",
                fix="a floret table starts with 'rows dims minn maxn hash_count hash_seed "
                    "bow eow'; convert other files in --mode default"))
        if len(fields) == 2 and len(header_ints) == 2:
            rows, dims = int(fields[0]), int(fields[1])
            binary = self.path.split("?")[0].endswith((".bin", ".bin.gz", ".bin.bz2",
                                                       ".bin.zst", ".bin.xz"))
            if not binary:
                while rest.find(b"\n") < 0 and len(rest) < MAX_WORD_BYTES:
                    more = self._read_block()
                    if not more:
                        break
                    rest += more
                binary = not _looks_like_text_row(rest, dims)
            info = FileInfo(self.path, "word2vec-binary" if binary else "word2vec-text",
                            dims, rows)
            self._pending_offset = end + 1
            return self._checked(info), rest, 2
        dims = len(first.rstrip().split(b" ")) - 1
        info = FileInfo(self.path, "glove-text", dims, None)
        return self._checked(info), head, 1

    def _checked(self, info: FileInfo) -> FileInfo:
        if info.dims < 1:
            raise VectorFileError(Errors.E082.format(
                path=self.path, detail="its first line gives no vector width (a header "
                "'rows dims', or a first row 'word v1 ... vN')"))
        return info

    def _read_block(self, size: int = BLOCK_BYTES) -> bytes:
        try:
            return self._stream.read(size)
        except (OSError, EOFError, ValueError, zstandard.ZstdError) as err:
            raise VectorFileError(Errors.E081.format(path=self.path, detail=err)) from None

    # --- text ----------------------------------------------------------------------

    def _chunks(self) -> Iterator[Tuple[memoryview, int, int]]:
        """Blocks of complete lines (about CHUNK_BYTES each; the last may lack its final
        newline), the 1-based number of each block's first line and its number of lines."""
        tail = self._pending
        line_no = self._first_line
        while True:
            block = self._read_block(CHUNK_BYTES)
            if not block:
                if tail:
                    yield memoryview(tail), line_no, tail.count(b"\n") + (tail[-1:] != b"\n")
                return
            data = tail + block if tail else block
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                tail = data
                continue
            view = memoryview(data)
            tail = bytes(view[cut:])
            n_lines = data.count(b"\n", 0, cut)
            yield view[:cut], line_no, n_lines
            line_no += n_lines

    def _text_batches(self) -> Iterator[Batch]:
        # Rows are parsed by Arrow's C CSV parser a block at a time (several times faster
        # than splitting lines in Python); a block it rejects (a bad row, a word with
        # spaces, a blank line) is read again line by line, which finds and names the bad
        # line. Floret files are read line by line (their bucket indices are checked).
        fast = self.info.format != "floret-text"
        trailing = None
        for chunk, first_line, n_lines in self._chunks():
            if trailing is None:
                first = bytes(chunk[:MAX_WORD_BYTES * 4]).split(b"\n", 1)[0]
                trailing = first.rstrip(b"\r").endswith(b" ")
            batch = self._parse_block(chunk, n_lines, trailing) if fast else None
            if batch is None:
                batch = self._parse_lines(bytes(chunk).split(b"\n"), first_line)
            else:
                batch.lines = numpy.arange(first_line, first_line + n_lines, dtype=numpy.int64)
                self.stats.rows += n_lines
            if len(batch.words):
                yield batch

    def _parse_block(self, chunk: memoryview, n_lines: int, trailing: bool
                     ) -> "Batch | None":
        """The rows of `chunk` when every line is a good `word v1 ... vdims` row (with a
        trailing space on every line when `trailing`), else None. Numbers are parsed as
        float64 and rounded to float32, which is float32(float(text)) for every field."""
        # pyarrow (~25 MB, 0.2 s) is imported here: only `init vectors` reads vector files
        import pyarrow
        import pyarrow.csv as csv  # (as above)

        dims = self.info.dims
        names = ["word"] + [str(i) for i in range(dims)] + (["end"] if trailing else [])
        types = {name: pyarrow.float64() for name in names[1:dims + 1]}
        types.update({"word": pyarrow.string(), "end": pyarrow.string()})
        try:
            table = csv.read_csv(
                pyarrow.py_buffer(chunk),
                read_options=csv.ReadOptions(column_names=names, use_threads=False),
                parse_options=csv.ParseOptions(delimiter=" ", quote_char=False,
                                               escape_char=False, double_quote=False),
                convert_options=csv.ConvertOptions(
                    column_types=types, null_values=[], strings_can_be_null=False,
                    quoted_strings_can_be_null=False),
                # malloc's: a block's buffers go back when freed (mimalloc kept ~20 MB)
                memory_pool=pyarrow.system_memory_pool())
        except (pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError):
            return None
        if table.num_rows != n_lines:
            return None  # blank lines, skipped by Arrow: their numbers are needed
        words = table.column("word").combine_chunks()
        # (numpy on the offsets: Arrow's compute kernels allocate from mimalloc's arena)
        if table.num_rows == 0 or not numpy.diff(_offsets(words)).all():
            return None
        if trailing and any(_offsets(part)[-1] != _offsets(part)[0]
                            for part in table.column("end").chunks):
            return None
        vectors = numpy.empty((table.num_rows, dims), dtype=numpy.float32)
        for i in range(dims):
            vectors[:, i] = table.column(i + 1).to_numpy()
        if not numpy.isfinite(vectors).all():
            return None
        return Batch(words, vectors, numpy.zeros(0, dtype=numpy.int64))

    def _parse_lines(self, raw_lines: List[bytes], first_line: int) -> Batch:
        """The good rows of `raw_lines` (numbered from `first_line`), line by line; bad
        rows raise E080 or are counted."""
        dims = self.info.dims
        floret = self.info.format == "floret-text"
        line_no = first_line - 1
        words: List[str] = []
        numbers: List[bytes] = []
        lines: List[int] = []
        for raw in raw_lines:
            line_no += 1
            text = raw.rstrip()
            if not text:
                continue
            n_spaces = text.count(b" ")
            if n_spaces < dims:
                self._bad(line_no, f"{n_spaces + 1} fields; a row is a word and {dims} "
                                   "numbers separated by single spaces")
                continue
            cut = text.find(b" ") if n_spaces == dims else len(text.rsplit(b" ", dims)[0])
            if cut == 0:
                self._bad(line_no, "no word before the numbers")
                continue
            try:
                word = text[:cut].decode("utf8")
            except UnicodeDecodeError as err:
                self._bad(line_no, f"the word is not UTF-8 ({err.reason} at byte "
                                   f"{err.start})")
                continue
            if floret and word != str(len(lines) + self.stats.rows):
                self._bad(line_no, f"bucket index {word!r}, expected "
                                   f"{len(lines) + self.stats.rows} (rows in order)")
                continue
            words.append(word)
            numbers.append(text[cut + 1:])
            lines.append(line_no)
        return self._parse_numbers(words, numbers, lines)

    def _parse_numbers(self, words: List[str], numbers: List[bytes],
                       lines: List[int]) -> Batch:
        # float64, then rounded to float32: float32(float(text)), as the block parser does
        dims = self.info.dims
        try:
            flat = numpy.fromstring(b" ".join(numbers), dtype=numpy.float64, sep=" ")
        except ValueError:
            flat = None
        if flat is not None and flat.size == len(words) * dims:
            table = flat.reshape(len(words), dims)
            if numpy.isfinite(table).all():
                self.stats.rows += len(words)
                return _batch(words, table.astype(numpy.float32), lines)
        # Something in the batch is bad: find which rows, line by line.
        rows, keep = [], []
        for i, text in enumerate(numbers):
            try:
                row = numpy.fromstring(text, dtype=numpy.float64, sep=" ")
            except ValueError:
                self._bad(lines[i], f"a field is not a number: {first_non_number(text)!r}")
                continue
            if row.size != dims:
                self._bad(lines[i], f"{row.size} numbers after the word, expected {dims}")
            elif not numpy.isfinite(row).all():
                self._bad(lines[i], "a number is not finite (nan or inf)")
            else:
                rows.append(row.astype(numpy.float32))
                keep.append(i)
        table = (numpy.stack(rows) if rows else numpy.zeros((0, dims), dtype=numpy.float32))
        self.stats.rows += len(keep)
        return _batch([words[i] for i in keep], table, [lines[i] for i in keep])

    # --- binary ----------------------------------------------------------------------

    def _binary_batches(self) -> Iterator[Batch]:
        dims = self.info.dims
        size = 4 * dims
        buf = self._pending
        base = self._pending_offset  # the file offset of buf[0]
        pos = 0
        record = 0
        eof = False
        words: List[str] = []
        vectors = numpy.empty((self.batch_rows, dims), dtype=numpy.float32)
        lines: List[int] = []
        offsets: List[int] = []
        while True:
            while pos < len(buf) and buf[pos:pos + 1] in (b"\n", b"\r"):
                pos += 1
            self.offset = base + pos
            space = buf.find(b" ", pos, pos + MAX_WORD_BYTES)
            if space < 0 and len(buf) - pos >= MAX_WORD_BYTES:
                if words:  # the good rows before it first (a caller may keep them)
                    self.stats.rows += len(words)
                    yield _batch(words, vectors[:len(words)], lines, offsets)
                    words, lines, offsets = [], [], []
                raise VectorFileError(Errors.E085.format(
                    path=self.path, where=f"record {record + 1}",
                    detail=f"no space after a word within {MAX_WORD_BYTES} bytes"))
            if space < 0 or len(buf) < space + 1 + size:
                if not eof:
                    block = self._read_block()
                    eof = not block
                    base += pos
                    buf = buf[pos:] + block
                    pos = 0
                    continue
                if pos < len(buf) and buf[pos:].strip():
                    what = ("the file ends inside a word" if space < 0 else
                            f"the file ends {len(buf) - space - 1} bytes into its {size} "
                            "bytes of numbers")
                    if words:  # (as above)
                        self.stats.rows += len(words)
                        yield _batch(words, vectors[:len(words)], lines, offsets)
                        words, lines, offsets = [], [], []
                    raise VectorFileError(Errors.E085.format(
                        path=self.path, where=f"record {record + 1}", detail=what))
                break
            record += 1
            start = pos
            raw_word = buf[pos:space]
            row = numpy.frombuffer(buf, dtype="<f4", count=dims, offset=space + 1)
            pos = space + 1 + size
            try:
                word = raw_word.decode("utf8")
            except UnicodeDecodeError as err:
                self._bad(record, f"the word is not UTF-8 ({err.reason} at byte {err.start})",
                          unit="record", offset=base + start, raw=buf[start:pos],
                          kind="not_utf8")
                word = None
            if word is not None and (not word or not numpy.isfinite(row).all()):
                self._bad(record, "an empty word" if not word else
                          "a number is not finite (nan or inf)", unit="record",
                          offset=base + start, raw=buf[start:pos],
                          kind="no_word" if not word else "not_finite")
                word = None
            if word is not None:
                vectors[len(words)] = row
                words.append(word)
                lines.append(record)
                offsets.append(base + start)
            if len(words) == self.batch_rows or (
                    self.bad_rows is not None and len(self.bad_rows) >= self.batch_rows):
                self.stats.rows += len(words)
                yield _batch(words, vectors[:len(words)], lines, offsets)
                words, lines, offsets = [], [], []
                vectors = numpy.empty((self.batch_rows, dims), dtype=numpy.float32)
        if words or self.bad_rows:
            self.stats.rows += len(words)
            yield _batch(words, vectors[:len(words)], lines, offsets)

    # --- bad rows --------------------------------------------------------------------

    def _bad(self, line: int, reason: str, unit: str = "line", offset: int | None = None,
             raw: bytes = b"", kind: str = "bad_row") -> None:
        if not self.skip_bad_lines:
            raise VectorFileError(Errors.E080.format(path=self.path, where=f"{unit} {line}",
                                                     reason=reason))
        if self.bad_rows is not None:
            self.bad_rows.append(BadRow(line, offset, reason, bytes(raw[:MAX_WORD_BYTES]),
                                        kind))
        self.stats.bad += 1
        if len(self.stats.bad_examples) < KEPT_EXAMPLES:
            self.stats.bad_examples.append((line, reason))


def _offsets(strings) -> numpy.ndarray:
    """int32 (n + 1,) offsets into the data buffer of an Arrow string array."""
    return numpy.frombuffer(strings.buffers()[1], dtype=numpy.int32)[
        strings.offset:strings.offset + len(strings) + 1]


def _looks_like_text_row(data: bytes, dims: int) -> bool:
    """Whether the first line of `data` is a text row `word v1 ... vdims`."""
    line = data.split(b"\n", 1)[0].rstrip()
    parts = line.rsplit(b" ", dims)
    if len(parts) != dims + 1:
        return False
    try:
        parts[0].decode("utf8")
        return numpy.fromstring(b" ".join(parts[1:]), dtype=numpy.float32,
                                sep=" ").size == dims
    except (UnicodeDecodeError, ValueError):
        return False


def first_non_number(text: bytes) -> str:
    """The first space-separated field of `text` that is not a number (for messages)."""
    for part in text.split(b" "):
        try:
            float(part)
        except ValueError:
            return part[:40].decode("utf8", "replace")
    return text[:40].decode("utf8", "replace")
