"""Reading corpora for the Beam jobs: JSONL (plain or compressed) and .spacy files.

JSONL is read by `JsonlSource`, a Beam `FileBasedSource`: plain files are split into byte
ranges (initially and, on runners that do it, dynamically), compressed ones (.gz, .bz2,
.zst, ... by extension) are read whole, through compressed.py. A record's position is the
byte offset of its line in the decompressed file. Unlike a line number it is known to
whichever worker reads the range, so ids made from it (`<source>@<offset>`) do not depend on
how the file was split. Line numbers are still reported for dead letters: counted from the
start of the file, which is cheap for the first LINE_COUNT_LIMIT bytes; ranges starting
further in report none.

Reading never holds more than one line of `CheckOptions.max_line_bytes` in memory: a longer
line (a file without line breaks, CR-only line endings) is skipped to its end and becomes a
`line_too_long` dead letter. A compressed file that turns out corrupt or truncated becomes
one `corrupt_file` / `truncated_file` dead letter at the point where reading stopped; the
records before it are kept, so the file counts as its records read plus one.

A `.spacy` file is one DocBin and is read whole, inflating to at most
`--max-decompressed-mb`; a record's position is the doc's index.

Both yield `RawChunk`s of up to CHUNK_LINES records so that Beam handles one element per
chunk, not per line; dead letters made while reading travel in chunks of kind DEAD.
"""
import os
from typing import BinaryIO, Iterator, List, NamedTuple, Optional

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filebasedsource import FileBasedSource
from apache_beam.io.filesystems import FileSystems

from nlp_core.tokens import DocBin
from nlp_core.tokens.docbin import DocBinTooLarge
from nlp_core.vocab import Vocab

from .compressed import UnreadableFile, open_input
from .records import (
    CR_HINT,
    DOCBIN,
    JSONL,
    CheckOptions,
    DeadLetter,
    RawChunk,
    RawItem,
    raw_text,
    writable,
)

CHUNK_LINES = 1000
CHUNK_BYTES = 4 << 20
LINE_COUNT_LIMIT = 64 << 20
SKIP_BLOCK = 1 << 20  # bytes read at a time while skipping the rest of a long line
UTF8_BOM = b"\xef\xbb\xbf"
DEAD = "dead"  # RawChunk.kind of a chunk that holds ready-made DeadLetters


def _count_newlines(source: FileBasedSource, file_name: str, stop: int) -> int:
    """Newlines in the first `stop` bytes of the file."""
    count = 0
    with source.open_file(file_name) as file_:
        while stop > 0:
            block = file_.read(min(stop, 8 << 20))
            if not block:
                break
            count += block.count(b"\n")
            stop -= len(block)
    return count


def _skip_line(file_: BinaryIO) -> int:
    """Reads up to and including the next newline without holding the line; returns the
    number of bytes read."""
    size = 0
    while True:
        block = file_.readline(SKIP_BLOCK)
        size += len(block)
        if not block or block.endswith(b"\n"):
            return size


class RangeLine(NamedTuple):
    """One line of a byte range: its byte offset, 1-based line number (None far into a
    plain file), the line without its ending (a UTF-8 BOM at offset 0 removed), the bytes
    it takes in the file, and whether it was longer than the cap (then `raw` holds only
    its first bytes, with whatever ending they have, and the rest was skipped unread)."""

    position: int
    line: Optional[int]
    raw: bytes
    size: int
    too_long: bool


class RangeReadStopped(Exception):
    """The file could not be read to the end of the range: `error` (UnreadableFile) at
    byte `position`, line `line`."""

    def __init__(self, error: UnreadableFile, position: int, line: Optional[int]):
        super().__init__(str(error))
        self.error = error
        self.position = position
        self.line = line


def range_lines(source: FileBasedSource, file_name: str, range_tracker, max_line_bytes: int
                ) -> Iterator[RangeLine]:
    """The lines of `file_name` that start in `range_tracker`'s range (the line that starts
    exactly at the range's start is its own; one begun before belongs to the previous
    range), each line read with at most `max_line_bytes` held in memory.

    Raises:
        RangeReadStopped: a compressed file turned out corrupt or truncated.
    """
    start = range_tracker.start_position()
    cap = max_line_bytes + 2  # room for the line ending: a line of max_line_bytes is whole
    with open_input(file_name) as file_:
        position = 0
        if start > 0:
            file_.seek(start - 1)
            position = start - 1 + _skip_line(file_)
        line: Optional[int] = 1
        if position > LINE_COUNT_LIMIT:
            line = None
        elif position > 0:
            line = _count_newlines(source, file_name, position) + 1
        try:
            while range_tracker.try_claim(position):
                raw = file_.readline(cap)
                if not raw:
                    break
                size = len(raw)
                too_long = size == cap and not raw.endswith(b"\n")
                if too_long:
                    size += _skip_line(file_)
                else:
                    raw = raw[:-2] if raw.endswith(b"\r\n") else raw.rstrip(b"\n")
                    if position == 0 and raw.startswith(UTF8_BOM):
                        raw = raw[len(UTF8_BOM):]
                yield RangeLine(position, line, raw, size, too_long)
                position += size
                if line is not None:
                    line += 1
        except UnreadableFile as err:
            raise RangeReadStopped(err, position, line) from None


def file_size(path: str) -> int:
    """The file's size in bytes (0 when it cannot be listed)."""
    try:
        return FileSystems.match([path])[0].metadata_list[0].size_in_bytes
    except Exception:  # only for a dead letter's raw_bytes: never worth failing the read
        return 0


def file_letter(path: str, line: Optional[int], offset: int, error_type: str, message: str,
                detail: str) -> DeadLetter:
    """A dead letter for a whole file, or for the part of it from `offset` on."""
    return DeadLetter(writable(path), line, offset, None, error_type, writable(message),
                      raw_text(detail), file_size(path))


def _unreadable_letter(path: str, line: Optional[int], offset: int, n_records: int,
                       err: UnreadableFile) -> DeadLetter:
    fix = ("copy or write the file again" if err.error_type == "truncated_file" else
           "check that the file really is compressed as its extension says, or write it again")
    if offset == 0:
        message = f"{path}: cannot read the file: {err.detail}. No record was read: {fix}."
    else:
        at_line = "" if line is None else f" (line {line})"
        message = (f"{path}: reading stopped after {n_records} record(s), at byte {offset} of "
                   f"the decompressed data{at_line}: {err.detail}. The records before that "
                   f"point were read; the rest of the file is lost: {fix}.")
    return file_letter(path, line, offset, err.error_type, message, err.detail)


def _long_line_letter(path: str, item: RawItem, size: int, limit: int) -> DeadLetter:
    hint = f"; {CR_HINT}" if b"\r" in item.payload else ""
    return DeadLetter(writable(path), item.line, item.offset, None, "line_too_long",
                      f"the line has {size} bytes, more than --max-line-bytes={limit} (by "
                      "default what a record within --max-chars can take); it was skipped "
                      f"without being read whole{hint}",
                      raw_text(item.payload), size)


class JsonlSource(FileBasedSource):
    """JSONL records as `RawChunk(kind="jsonl")`; blank lines are counted, not yielded.

    Args:
        file_pattern: a glob understood by Beam FileSystems (local, gs://, s3://, ...).
        max_line_bytes: longer lines become `line_too_long` dead letters.
    """

    def __init__(self, file_pattern: str,
                 max_line_bytes: int = CheckOptions().max_line_bytes):
        super().__init__(file_pattern, splittable=True, validate=False)
        self.max_line_bytes = max_line_bytes

    def read_records(self, file_name: str, range_tracker) -> Iterator[RawChunk]:
        items: List[RawItem] = []
        n_bytes = n_blank = n_read = 0
        try:
            for row in range_lines(self, file_name, range_tracker, self.max_line_bytes):
                if row.too_long:
                    letter = _long_line_letter(file_name, RawItem(row.position, row.line,
                                                                  row.raw),
                                               row.size, self.max_line_bytes)
                    if items or n_blank:
                        yield RawChunk(JSONL, file_name, items, n_blank)
                    yield RawChunk(DEAD, file_name, [letter])
                    n_read += len(items) + 1
                    items, n_bytes, n_blank = [], 0, 0
                elif row.raw.strip():
                    items.append(RawItem(row.position, row.line, row.raw))
                    n_bytes += row.size
                else:
                    n_blank += 1
                if len(items) >= CHUNK_LINES or n_bytes >= CHUNK_BYTES:
                    yield RawChunk(JSONL, file_name, items, n_blank)
                    n_read += len(items)
                    items, n_bytes, n_blank = [], 0, 0
        except RangeReadStopped as stop:
            letter = _unreadable_letter(file_name, stop.line, stop.position,
                                        n_read + len(items), stop.error)
            if items or n_blank:
                yield RawChunk(JSONL, file_name, items, n_blank)
            yield RawChunk(DEAD, file_name, [letter])
            return
        if items or n_blank:
            yield RawChunk(JSONL, file_name, items, n_blank)


class ReadDocBinFn(beam.DoFn):
    """A `.spacy` file -> RawChunks of its docs (msgpack of `Doc.to_bytes()`); a file that
    does not decode becomes one `bad_docbin` dead letter, one that would inflate to more
    than `max_bytes` one `file_too_large` dead letter.

    Args:
        max_bytes: the most a file may inflate to (it is decompressed whole in memory).
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes

    def process(self, readable: fileio.ReadableFile) -> Iterator[RawChunk]:
        path = readable.metadata.path
        size = readable.metadata.size_in_bytes
        fix = (f"Split it into smaller DocBins, or raise --max-decompressed-mb (now "
               f"{self.max_bytes >> 20}).")
        if size > self.max_bytes:  # zlib data inflates to at least its own size, in practice
            yield RawChunk(DEAD, path, [file_letter(
                path, None, 0, "file_too_large",
                f"{path}: the file has {size} bytes, more than it may inflate to. {fix}",
                f"{size} bytes")])
            return
        try:
            data = readable.read()
            docs = DocBin().from_bytes(data, source=path, max_size=self.max_bytes)
            items = [RawItem(i, None, doc.to_bytes())
                     for i, doc in enumerate(docs.get_docs(Vocab()))]
        except DocBinTooLarge as err:
            yield RawChunk(DEAD, path, [file_letter(
                path, None, 0, "file_too_large", f"{err} {fix}", str(err))])
            return
        except Exception as err:  # any decoding failure is this file's fault, not the job's
            yield RawChunk(DEAD, path, [file_letter(
                path, None, 0, "bad_docbin", f"cannot read the DocBin: {err}", str(err))])
            return
        for begin in range(0, len(items), CHUNK_LINES):
            yield RawChunk(DOCBIN, path, items[begin:begin + CHUNK_LINES], 0)


class ReadRawChunks(beam.PTransform):
    """Every record of the files matching `pattern`, as RawChunks.

    Args:
        pattern: file glob.
        kind: "jsonl" or "spacy" (see `resolve_format`).
        options: the record rules, which set the reading limits (`max_line_bytes`,
            `max_decompressed_mb`).
    """

    def __init__(self, pattern: str, kind: str, options: CheckOptions = CheckOptions()):
        super().__init__()
        self.pattern = pattern
        self.kind = kind
        self.options = options

    def expand(self, pbegin):
        if self.kind == JSONL:
            return pbegin | "ReadJsonl" >> beam.io.Read(
                JsonlSource(self.pattern, self.options.max_line_bytes))
        return (pbegin
                | "MatchSpacy" >> fileio.MatchFiles(self.pattern)
                | "SpreadFiles" >> beam.Reshuffle()
                | "OpenSpacy" >> fileio.ReadMatches()
                | "ReadDocBins" >> beam.ParDo(
                    ReadDocBinFn(self.options.max_decompressed_mb << 20)))


def match_inputs(pattern: str) -> List[str]:
    """The non-empty files matching `pattern`; ValueError naming the pattern when none."""
    try:
        metadata = FileSystems.match([pattern])[0].metadata_list
    except Exception as err:  # Beam raises BeamIOError for patterns it cannot list
        raise ValueError(f"--input {pattern!r}: cannot list the files ({err}).") from None
    # A local directory matches like a file (Beam lists it with its inode's size), but the
    # readers would fail on it only once the model has loaded: refuse it here.
    directories = [m.path for m in metadata if "://" not in m.path and os.path.isdir(m.path)]
    if directories:
        example = FileSystems.join(directories[0], "*.jsonl")
        raise ValueError(f"--input {pattern!r} matches a directory ({directories[0]}), not "
                         f"files: give a glob of the files in it, e.g. '{example}'.")
    paths = sorted(m.path for m in metadata if m.size_in_bytes > 0)
    # A name that is not UTF-8 comes back with lone surrogates, which no output can hold
    # (every row names its file): the run would fail at its first write.
    unnamed = [path for path in paths if writable(path) != path]
    if unnamed:
        raise ValueError(f"--input {pattern!r} matches a file whose name is not UTF-8 "
                         f"({os.fsencode(unnamed[0])!r}): rename it to a UTF-8 name (e.g. "
                         "with `convmv`) or leave it out of the glob.")
    if not paths:
        raise ValueError(f"--input {pattern!r} matches no non-empty file. Check the path or "
                         "glob (quote it so that the shell does not expand it).")
    return paths


def resolve_format(input_format: str, paths: List[str]) -> str:
    """The reader for these files: "spacy" for .spacy files, "jsonl" for anything else
    (plain or compressed); with "auto", mixing the two is an error."""
    if input_format in (JSONL, DOCBIN):
        return input_format
    spacy = [p for p in paths if p.lower().endswith(".spacy")]
    if spacy and len(spacy) != len(paths):
        other = next(p for p in paths if not p.lower().endswith(".spacy"))
        raise ValueError(f"--input matches both .spacy files ({spacy[0]}) and other files "
                         f"({other}): run the job once per format, with a glob that matches "
                         "one kind, or pass --input-format.")
    return DOCBIN if spacy else JSONL
