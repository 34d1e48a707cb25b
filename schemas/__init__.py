"""Versioned schemas of every table the Beam jobs write, and of their input records.

    from schemas import annotations, dead_letter
    annotations.SCHEMA      # pyarrow.Schema, tagged with name and version in its metadata

`SCHEMAS` maps a table name to its current module; `schema_identity(metadata)` reads the
(name, version) back from a Parquet file's metadata. Column docs: schemas/README.md.
"""
from . import (
    annotations,
    dead_letter,
    input_record,
    pretraining_removed,
    pretraining_shard,
    tensors,
    vector_dead_letter,
)
from ._columns import SCHEMA_NAME_KEY, SCHEMA_VERSION_KEY, Column, build_schema, schema_identity

SCHEMAS = {annotations.NAME: annotations, dead_letter.NAME: dead_letter,
           tensors.NAME: tensors, vector_dead_letter.NAME: vector_dead_letter,
           pretraining_removed.NAME: pretraining_removed,
           pretraining_shard.NAME: pretraining_shard}

__all__ = ["SCHEMAS", "SCHEMA_NAME_KEY", "SCHEMA_VERSION_KEY", "Column", "annotations",
           "build_schema", "dead_letter", "input_record", "pretraining_removed", "pretraining_shard",
           "schema_identity", "tensors",
           "vector_dead_letter"]
