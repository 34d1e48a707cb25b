"""`pretraining_shard` v1: the rows of a Parquet shard of the pretraining-corpus job.

Written by `beam_jobs.prepare_pretraining --output-format parquet`: one file per shard,
`shards/shard-NNNNN.parquet`, rows in the job's shuffled order.
"""
import pyarrow as pa

from ._columns import Column, build_schema

NAME = "pretraining_shard"
VERSION = 1

COLUMNS = [
    Column("doc_id", pa.string(), "The document's id; a piece of a document cut by "
           "--max-tokens or --split-sentences has '<doc id>#<piece index>'.", False),
    Column("text", pa.string(), "The normalised, filtered, deduplicated text.", False),
]

SCHEMA = build_schema(NAME, VERSION, COLUMNS)
