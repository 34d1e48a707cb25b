"""`dead_letter` v1: one row per input record that was not annotated, with the reason.

Every record the job reads ends up either as an `annotations` row or as a `dead_letter`
row, so `read = annotated + dead-lettered` (see the job's run_summary.json).
"""
import pyarrow as pa

from ._columns import Column, build_schema

NAME = "dead_letter"
VERSION = 1

# `raw` keeps at most this many characters of a record; `raw_bytes` gives the full size.
RAW_MAX_CHARS = 8192

ERROR_TYPES = {
    "not_utf8": "the line is not valid UTF-8 (the message says when it looks like UTF-16)",
    "bad_json": "the line is not valid JSON, or nests arrays / objects too deeply to decode "
                "(the message says when CR-only line endings are the likely cause)",
    "bad_unicode": "the text, id or meta holds a lone surrogate (a \\uD800-\\uDFFF JSON "
                   "escape that is not half of a pair), which is not Unicode text",
    "line_too_long": "the line is longer than --max-line-bytes (by default what any record "
                     "within --max-chars can be: 12 bytes per character plus 1 MiB); it is "
                     "skipped unread",
    "not_an_object": "the JSON value is not an object",
    "missing_text": "the record has no text field (--text-field)",
    "text_not_string": "the text field is not a string",
    "empty_text": "the text is empty or only whitespace",
    "text_too_long": "the text has more characters than --max-chars",
    "bad_id": "the id field (--id-field) is not a non-empty string or an integer",
    "bad_meta": "the 'meta' field is not an object",
    "duplicate_id": "another record with the same id is annotated (the first in "
                    "(source, offset) order wins), or the record has no id and another "
                    "record's explicit id is the '<source>@<offset>' it would get",
    "bad_docbin": "a .spacy file could not be decoded (the whole file is one dead letter)",
    "file_too_large": "a .spacy file would inflate to more than --max-decompressed-mb (the "
                      "whole file is one dead letter)",
    "corrupt_file": "a compressed JSONL file holds data its format rejects (e.g. not gzip at "
                    "all, a bad checksum): one dead letter at the offset where reading "
                    "stopped; the records before it were read",
    "truncated_file": "a compressed JSONL file ends inside its stream (cut short): one dead "
                      "letter at the offset where reading stopped; the records before it "
                      "were read",
    "bad_parquet": "a Parquet file (pretraining job) could not be read, or has no string "
                   "text column (--text-field): one dead letter at the row where reading "
                   "stopped; the rows before it were read",
    "annotation_error": "the pipeline raised an error on this document",
    "extension_value": "an extension attribute declared with --extensions (or the pipeline "
                       "meta's \"extensions\") holds a value its type does not allow on "
                       "this document: the message names the attribute, its type and why",
}

COLUMNS = [
    Column("source", pa.string(), "The input file, as the --input pattern matched it.", False),
    Column("line", pa.int64(),
           "1-based line number in the (decompressed) JSONL file; null for .spacy input and "
           "for records read from a file piece starting more than 64 MiB into a plain file "
           "(use `offset` there)."),
    Column("offset", pa.int64(),
           "Byte offset of the record's line in the (decompressed) file, or the index of "
           "the doc in a .spacy file (0 for a whole-file error).", False),
    Column("doc_id", pa.string(), "The doc id the record would have had, when it is known."),
    Column("error_type", pa.string(), "Why the record was rejected: one of "
           + ", ".join(ERROR_TYPES) + " (see schemas/README.md).", False),
    Column("message", pa.string(), "The reason in words, with the detail of the error.", False),
    Column("raw", pa.string(),
           f"The record as text (bytes that are not UTF-8 as \\xNN escapes; the doc text for "
           f".spacy input, annotation_error and extension_value), cut to its first {RAW_MAX_CHARS} "
           f"characters.", False),
    Column("raw_bytes", pa.int64(), "Size of the whole record in bytes (for a letter about a "
           "whole file or the rest of one, the file's size).", False),
]

SCHEMA = build_schema(NAME, VERSION, COLUMNS)
