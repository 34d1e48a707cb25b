"""Reading raw text for the pretraining-corpus job: every input format -> checked records.

Four formats (`--input-format`, or by extension with "auto"):

    jsonl     the annotate job's reader and record checks (io.JsonlSource, records.py):
              --text-field, --id-field; byte ranges of plain files, compressed ones whole
    text      plain text, one document per line (`--text-format lines`, read in byte
              ranges) or per blank-line-separated block (`--text-format paragraphs`, each
              file read whole, one paragraph at a time); a document's id is
              `<file>@<byte offset>`
    spacy     DocBin files (io.ReadDocBinFn); the text of each doc
    parquet   a string column (--text-field) and optional id column (--id-field), read one
              row group batch at a time; each row goes through the JSONL record checks, so
              the same rules (and dead-letter reasons) apply; its position is the row index

`CheckRecords` turns the chunks into `Text(doc_id, source, text)` or dead letters, and
counts what it read.
"""
import json
import os
from typing import Iterator, List, NamedTuple

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io import fileio
from apache_beam.io.filebasedsource import FileBasedSource

from .io import (
    CHUNK_BYTES,
    CHUNK_LINES,
    DEAD,
    JsonlSource,
    RangeReadStopped,
    ReadDocBinFn,
    file_letter,
    range_lines,
)
from .records import (
    DOCBIN,
    JSONL,
    CheckOptions,
    DeadLetter,
    RawChunk,
    RawItem,
    Record,
    check,
    dead_letter,
    generated_id,
    raw_text,
    writable,
)

TEXT = "text"
PARQUET = "parquet"
FORMATS = (JSONL, TEXT, DOCBIN, PARQUET)
TEXT_FORMATS = ("lines", "paragraphs")
# extensions (before any compression suffix) of each format, for --input-format auto
EXTENSIONS = {".jsonl": JSONL, ".json": JSONL, ".ndjson": JSONL, ".txt": TEXT,
              ".text": TEXT, ".spacy": DOCBIN, ".parquet": PARQUET}
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".zst", ".zstd", ".deflate", ".xz", ".lzma")


class Text(NamedTuple):
    """A valid input document: its id, file and text (as read, not yet normalised)."""

    doc_id: str
    source: str
    text: str


def format_of(path: str) -> str:
    """The format of one file by its extension (compression suffix looked through), or ""."""
    name = path.lower()
    for suffix in COMPRESSION_SUFFIXES:
        if name.endswith(suffix):
            name = name[:-len(suffix)]
            break
    return EXTENSIONS.get(os.path.splitext(name)[1], "")


def resolve_input_format(input_format: str, paths: List[str]) -> str:
    """The format of the matched files: `input_format` unless "auto"; with "auto" every file
    must have the extension of one format. ValueError naming a file otherwise."""
    if input_format != "auto":
        return input_format
    kinds = {path: format_of(path) for path in paths}
    unknown = [path for path, kind in kinds.items() if not kind]
    if unknown:
        raise ValueError(f"--input: cannot tell the format of {unknown[0]} from its "
                         "extension (.jsonl, .txt, .spacy, .parquet, optionally compressed): "
                         "pass --input-format jsonl|text|spacy|parquet.")
    found = sorted(set(kinds.values()))
    if len(found) > 1:
        first = {kind: next(p for p, k in kinds.items() if k == kind) for kind in found}
        raise ValueError("--input matches files of several formats ("
                         + ", ".join(f"{k}: {p}" for k, p in first.items())
                         + "): run the job once per format, or narrow the glob.")
    return found[0]


class TextSource(FileBasedSource):
    """Plain-text documents as RawChunks of kind "text": one per non-blank line, or with
    `paragraphs` one per block of lines between blank lines (files then read whole).

    A line (or paragraph) longer than `max_bytes` is skipped as one `line_too_long` dead
    letter, so memory stays bounded.
    """

    def __init__(self, file_pattern: str, paragraphs: bool, max_bytes: int):
        super().__init__(file_pattern, splittable=not paragraphs, validate=False)
        self.paragraphs = paragraphs
        self.max_bytes = max_bytes

    def read_records(self, file_name: str, range_tracker) -> Iterator[RawChunk]:
        chunk = _ChunkBuilder(file_name)
        para = _Paragraph()
        try:
            for row in range_lines(self, file_name, range_tracker, self.max_bytes):
                blank = not row.too_long and not row.raw.strip()
                if blank:
                    chunk.n_blank += 1
                    if self.paragraphs:
                        yield from self._end_paragraph(chunk, file_name, para)
                elif self.paragraphs:
                    para.add(row, self.max_bytes)
                elif row.too_long:
                    yield from chunk.dead(self._too_long(file_name, row.position, row.line,
                                                         row.raw, row.size))
                else:
                    yield from chunk.add(RawItem(row.position, row.line, row.raw), row.size)
            yield from self._end_paragraph(chunk, file_name, para)
        except RangeReadStopped as stop:
            yield from chunk.flush()
            yield RawChunk(DEAD, file_name, [file_letter(
                file_name, stop.line, stop.position, stop.error.error_type,
                f"{file_name}: reading stopped at byte {stop.position} of the decompressed "
                f"data: {stop.error.detail}. The documents before that point were read; the "
                "rest of the file is lost: copy or write the file again.",
                stop.error.detail)])
            return
        yield from chunk.flush()

    def _end_paragraph(self, chunk: "_ChunkBuilder", file_name: str, para: "_Paragraph"
                       ) -> Iterator[RawChunk]:
        if not para.size:
            return
        if para.too_long:
            yield from chunk.dead(self._too_long(file_name, para.start, para.line,
                                                 para.first, para.size))
        else:
            yield from chunk.add(RawItem(para.start, para.line, b"\n".join(para.lines)),
                                 para.size)
        para.reset()

    def _too_long(self, path, position, line, raw, size) -> DeadLetter:
        unit = "paragraph" if self.paragraphs else "line"
        return DeadLetter(writable(path), line, position, generated_id(path, position),
                          "line_too_long",
                          f"the {unit} has {size} bytes or more, more than the {self.max_bytes} "
                          f"that a document within --max-chars can take; it was skipped",
                          raw_text(raw[:1024]), size)


class _Paragraph:
    """The lines of the paragraph being read; once it passes `max_bytes` only its size and
    first bytes are kept."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.lines: List[bytes] = []
        self.start = 0
        self.line = None
        self.size = 0
        self.first = b""
        self.too_long = False

    def add(self, row, max_bytes: int) -> None:
        if not self.size:
            self.start, self.line, self.first = row.position, row.line, row.raw[:1024]
        self.size += row.size
        if row.too_long or self.size > max_bytes:
            self.too_long = True
            self.lines = []
        elif not self.too_long:
            self.lines.append(row.raw)


class _ChunkBuilder:
    """Collects RawItems of one file into RawChunks of CHUNK_LINES / CHUNK_BYTES."""

    def __init__(self, source: str):
        self.source = source
        self.items: List[RawItem] = []
        self.n_bytes = 0
        self.n_blank = 0

    def add(self, item: RawItem, size: int) -> Iterator[RawChunk]:
        self.items.append(item)
        self.n_bytes += size
        if len(self.items) >= CHUNK_LINES or self.n_bytes >= CHUNK_BYTES:
            yield from self.flush()

    def dead(self, letter: DeadLetter) -> Iterator[RawChunk]:
        yield from self.flush()
        yield RawChunk(DEAD, self.source, [letter])

    def flush(self) -> Iterator[RawChunk]:
        if self.items or self.n_blank:
            yield RawChunk(TEXT, self.source, self.items, self.n_blank)
        self.items, self.n_bytes, self.n_blank = [], 0, 0


def check_text_item(source: str, item: RawItem, options: CheckOptions):
    """A plain-text document -> Record, or DeadLetter (not UTF-8, too long)."""
    try:
        text = item.payload.decode("utf8")
    except UnicodeDecodeError as err:
        return dead_letter(source, item, "not_utf8", f"the text is not UTF-8: {err}; convert "
                           "the file to UTF-8, e.g. with `iconv`",
                           doc_id=generated_id(source, item.offset))
    doc_id = generated_id(source, item.offset)
    if len(text) > options.max_chars:
        return dead_letter(source, item, "text_too_long",
                           f"the text has {len(text)} characters, more than "
                           f"--max-chars={options.max_chars}", doc_id=doc_id)
    return Record(doc_id, source, item.offset, item.line, text, None, len(text),
                  len(item.payload))


class ReadParquetFn(beam.DoFn):
    """A Parquet file -> RawChunks of kind "jsonl", one JSON object per row holding the
    text and id columns; a file that cannot be read, or whose text column is missing or
    not a string column, becomes one `bad_parquet` dead letter."""

    def __init__(self, options: CheckOptions):
        self.options = options

    def process(self, readable: fileio.ReadableFile) -> Iterator[RawChunk]:
        path = readable.metadata.path
        text_field, id_field = self.options.text_field, self.options.id_field
        row = 0
        try:
            with readable.open() as handle:
                parquet = pq.ParquetFile(handle)
                schema = parquet.schema_arrow
                problem = _column_problem(schema, text_field, id_field)
                if problem:
                    yield RawChunk(DEAD, path, [file_letter(
                        path, None, 0, "bad_parquet", f"{path}: {problem}", problem)])
                    return
                columns = [text_field] + ([id_field] if id_field in schema.names else [])
                for batch in parquet.iter_batches(batch_size=CHUNK_LINES, columns=columns):
                    items = []
                    for values in batch.to_pylist():
                        record = {k: v for k, v in values.items() if v is not None}
                        items.append(RawItem(row, None, json.dumps(
                            record, ensure_ascii=False).encode("utf8")))
                        row += 1
                    yield RawChunk(JSONL, path, items, 0)
        except Exception as err:  # any read failure is this file's fault, not the job's
            detail = f"{type(err).__name__}: {err}"
            yield RawChunk(DEAD, path, [file_letter(
                path, None, row, "bad_parquet",
                f"{path}: cannot read the Parquet file after {row} row(s): {detail}. The rows "
                "before that point were read; check or write the file again.", detail)])


def _column_problem(schema: pa.Schema, text_field: str, id_field: str) -> str:
    if text_field not in schema.names:
        return (f"no column {text_field!r} (columns: {', '.join(schema.names[:20])}): pass "
                "--text-field with the column that holds the text")
    kind = schema.field(text_field).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return f"column {text_field!r} is {kind}, not a string column: pass --text-field"
    if id_field in schema.names:
        kind = schema.field(id_field).type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)
                or pa.types.is_integer(kind)):
            return (f"id column {id_field!r} is {kind}, not strings or integers: pass "
                    "--id-field with another column")
    return ""


class ReadTexts(beam.PTransform):
    """Every document of the files matching `pattern`, as RawChunks (see the module
    docstring)."""

    def __init__(self, pattern: str, kind: str, options: CheckOptions, paragraphs: bool):
        super().__init__()
        self.pattern = pattern
        self.kind = kind
        self.options = options
        self.paragraphs = paragraphs

    def expand(self, pbegin):
        if self.kind == JSONL:
            return pbegin | "ReadJsonl" >> beam.io.Read(
                JsonlSource(self.pattern, self.options.max_line_bytes))
        if self.kind == TEXT:
            return pbegin | "ReadText" >> beam.io.Read(
                TextSource(self.pattern, self.paragraphs, self.options.max_line_bytes))
        files = (pbegin
                 | "Match" >> fileio.MatchFiles(self.pattern)
                 | "SpreadFiles" >> beam.Reshuffle()
                 | "Open" >> fileio.ReadMatches())
        if self.kind == DOCBIN:
            return files | "ReadDocBins" >> beam.ParDo(
                ReadDocBinFn(self.options.max_decompressed_mb << 20))
        return files | "ReadParquet" >> beam.ParDo(ReadParquetFn(self.options))


class CheckRecords(beam.DoFn):
    """RawChunks -> `Text`s of the valid records; DeadLetters to "dead" (also those a
    duplicate-id side input names); (records read, blank lines) per chunk to "counts"."""

    DEAD = "dead"
    COUNTS = "counts"

    def __init__(self, options: CheckOptions):
        self.options = options

    def process(self, chunk: RawChunk, duplicates):
        yield beam.pvalue.TaggedOutput(self.COUNTS, (len(chunk.items), chunk.n_blank))
        for item in chunk.items:
            if chunk.kind == DEAD:
                yield beam.pvalue.TaggedOutput(self.DEAD, item)
                continue
            if chunk.kind == TEXT:
                result = check_text_item(chunk.source, item, self.options)
            else:
                result = check(chunk.kind, chunk.source, item, self.options)
            if isinstance(result, Record) and duplicates:
                message = duplicates.get(((result.source, result.offset), result.doc_id))
                if message is not None:
                    text = result.text if result.doc_data is None else result.doc_data["text"]
                    result = dead_letter(result.source, item, "duplicate_id", message,
                                         doc_id=result.doc_id, raw=text)
            if isinstance(result, DeadLetter):
                yield beam.pvalue.TaggedOutput(self.DEAD, result)
                continue
            text = result.text if result.doc_data is None else result.doc_data["text"]
            yield Text(result.doc_id, result.source, text)
