"""`pretraining_removed` v1: one row per document the pretraining-corpus job removed.

Written by `beam_jobs.prepare_pretraining` with --write-removed: documents a quality filter
removed (with the filter's reason) and duplicates (with the id of the document kept in
their place). Its stats.json reconciles `documents read = written + filtered + duplicates
removed + dead-lettered`; this table holds the filtered and duplicate rows.
"""
import pyarrow as pa

from ._columns import Column, build_schema

NAME = "pretraining_removed"
VERSION = 1

COLUMNS = [
    Column("doc_id", pa.string(), "The document's id (its --id-field value, else "
           "'<source>@<position>').", False),
    Column("reason", pa.string(),
           "Why it was removed: exact_duplicate, near_duplicate, empty_after_cleaning, "
           "language (--lang) or a quality filter's reason (too_few_words, mean_word_length, duplicate_5gram, ...; "
           "see beam_jobs/pretraining_filters.py).", False),
    Column("kept_doc_id", pa.string(),
           "For a duplicate: the id of the document kept in its place; null for a filtered "
           "document."),
    Column("jaccard", pa.float64(),
           "For a near duplicate: the MinHash estimate of its word n-gram Jaccard similarity "
           "to a member of its cluster; 1.0 for an exact duplicate; null for a filtered "
           "document."),
    Column("text", pa.string(), "The document's text after normalisation.", False),
]

SCHEMA = build_schema(NAME, VERSION, COLUMNS)
