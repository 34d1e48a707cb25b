"""`vector_dead_letter` v1: one row per line of a vector file that is not a good row.

Written by the vector-conversion job (`beam_jobs.convert_vectors`) with --skip-bad-lines;
its run_summary.json reconciles `lines read = rows kept + rows remapped + dead-lettered +
duplicate keys (+ rows past --truncate)`.
"""
import pyarrow as pa

from ._columns import Column, build_schema

NAME = "vector_dead_letter"
VERSION = 1

# `raw` keeps at most this many characters of a line; `raw_bytes` gives the full size.
RAW_MAX_CHARS = 1024

ERROR_TYPES = {
    "too_few_fields": "the line has fewer than a word and the table's width of numbers, "
                      "separated by single spaces",
    "no_word": "the line starts with a space: there is no word before the numbers",
    "not_utf8": "the word is not valid UTF-8",
    "not_a_number": "one of the last width fields is not a number",
    "not_finite": "a number is nan or inf",
    "line_too_long": "the line is longer than any row of the table's width can be; it is "
                     "skipped unread",
    "corrupt_file": "a compressed (or binary) file holds data its format rejects: one dead "
                    "letter at the offset where reading stopped; the lines before it were "
                    "read",
    "truncated_file": "a compressed file ends inside its stream, or a word2vec binary file "
                      "inside a record (cut short): one dead letter at the offset where "
                      "reading stopped; the lines before it were read",
}

COLUMNS = [
    Column("source", pa.string(), "The input file, as the --input pattern matched it.", False),
    Column("line", pa.int64(),
           "1-based line number in the (decompressed) file, header included (word2vec binary: the record number); null for lines "
           "read from a file piece starting more than 64 MiB into a plain file (use `offset` "
           "there)."),
    Column("offset", pa.int64(),
           "Byte offset of the line (binary: the record) in the (decompressed) file.", False),
    Column("error_type", pa.string(), "Why the line was rejected: one of "
           + ", ".join(ERROR_TYPES) + " (see schemas/README.md).", False),
    Column("message", pa.string(), "The reason in words, with the detail of the error.", False),
    Column("raw", pa.string(),
           f"The line as text (bytes that are not UTF-8 as \\xNN escapes), cut to its first "
           f"{RAW_MAX_CHARS} characters.", False),
    Column("raw_bytes", pa.int64(), "Size of the whole line in bytes (for a letter about "
           "the rest of a file, the file's size).", False),
]

SCHEMA = build_schema(NAME, VERSION, COLUMNS)
