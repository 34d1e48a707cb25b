"""Reading corpora for the Beam jobs: JSONL (plain or compressed) and .spacy files.

JSONL is read by `JsonlSource`, a Beam `FileBasedSource`: plain files are split into byte
ranges (initially and, on runners that do it, dynamically), compressed ones (.gz, .bz2,
.zst, ... by extension) are read whole. A record's position is the byte offset of its line
in the decompressed file. Unlike a line number it is known to whichever worker reads the
range, so ids made from it (`<source>@<offset>`) do not depend on how the file was split.
Line numbers are still reported for dead letters: counted from the start of the file, which
is cheap for the first LINE_COUNT_LIMIT bytes; ranges starting further in report none.

A `.spacy` file is one DocBin and is read whole; a record's position is the doc's index.

Both yield `RawChunk`s of up to CHUNK_LINES records so that Beam handles one element per
chunk, not per line.
"""
import os
from typing import Iterator, List, Optional

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filebasedsource import FileBasedSource
from apache_beam.io.filesystems import FileSystems

from nlp_core.tokens import DocBin
from nlp_core.vocab import Vocab

from .records import DOCBIN, JSONL, DeadLetter, RawChunk, RawItem, raw_text

CHUNK_LINES = 1000
CHUNK_BYTES = 4 << 20
LINE_COUNT_LIMIT = 64 << 20
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


class JsonlSource(FileBasedSource):
    """JSONL records as `RawChunk(kind="jsonl")`; blank lines are counted, not yielded.

    Args:
        file_pattern: a glob understood by Beam FileSystems (local, gs://, s3://, ...).
    """

    def __init__(self, file_pattern: str):
        super().__init__(file_pattern, splittable=True, validate=False)

    def read_records(self, file_name: str, range_tracker) -> Iterator[RawChunk]:
        start = range_tracker.start_position()
        with self.open_file(file_name) as file_:
            position = 0
            if start > 0:
                # The line that starts exactly at `start` is ours; one that started before
                # belongs to the previous range, so skip to just past the newline.
                file_.seek(start - 1)
                position = start - 1 + len(file_.readline())
            line: Optional[int] = 1
            if position > LINE_COUNT_LIMIT:
                line = None
            elif position > 0:
                line = _count_newlines(self, file_name, position) + 1
            items: List[RawItem] = []
            n_bytes = n_blank = 0
            while range_tracker.try_claim(position):
                raw = file_.readline()
                if not raw:
                    break
                size = len(raw)
                raw = raw[:-2] if raw.endswith(b"\r\n") else raw.rstrip(b"\n")
                if position == 0 and raw.startswith(UTF8_BOM):
                    raw = raw[len(UTF8_BOM):]
                if raw.strip():
                    items.append(RawItem(position, line, raw))
                    n_bytes += size
                else:
                    n_blank += 1
                position += size
                if line is not None:
                    line += 1
                if len(items) >= CHUNK_LINES or n_bytes >= CHUNK_BYTES:
                    yield RawChunk(JSONL, file_name, items, n_blank)
                    items, n_bytes, n_blank = [], 0, 0
            if items or n_blank:
                yield RawChunk(JSONL, file_name, items, n_blank)


class ReadDocBinFn(beam.DoFn):
    """A `.spacy` file -> RawChunks of its docs (msgpack of `Doc.to_bytes()`); a file that
    does not decode becomes one `bad_docbin` dead letter."""

    def process(self, readable: fileio.ReadableFile) -> Iterator[RawChunk]:
        path = readable.metadata.path
        try:
            data = readable.read()
            docs = DocBin().from_bytes(data, source=path).get_docs(Vocab())
            items = [RawItem(i, None, doc.to_bytes()) for i, doc in enumerate(docs)]
        except Exception as err:  # any decoding failure is this file's fault, not the job's
            size = readable.metadata.size_in_bytes
            yield RawChunk(DEAD, path, [DeadLetter(
                path, None, 0, None, "bad_docbin", f"cannot read the DocBin: {err}",
                raw_text(str(err)), size)], 0)
            return
        for begin in range(0, len(items), CHUNK_LINES):
            yield RawChunk(DOCBIN, path, items[begin:begin + CHUNK_LINES], 0)


class ReadRawChunks(beam.PTransform):
    """Every record of the files matching `pattern`, as RawChunks.

    Args:
        pattern: file glob.
        kind: "jsonl" or "spacy" (see `resolve_format`).
    """

    def __init__(self, pattern: str, kind: str):
        super().__init__()
        self.pattern = pattern
        self.kind = kind

    def expand(self, pbegin):
        if self.kind == JSONL:
            return pbegin | "ReadJsonl" >> beam.io.Read(JsonlSource(self.pattern))
        return (pbegin
                | "MatchSpacy" >> fileio.MatchFiles(self.pattern)
                | "SpreadFiles" >> beam.Reshuffle()
                | "OpenSpacy" >> fileio.ReadMatches()
                | "ReadDocBins" >> beam.ParDo(ReadDocBinFn()))


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
