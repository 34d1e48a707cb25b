"""Building a versioned Arrow schema from documented columns.

Each schema module lists its columns once, as `Column(name, type, doc, nullable)`; the Arrow
schema carries each doc as field metadata ("description") and the table's name and version
as schema metadata, so both travel inside every Parquet file written with it.
"""
from typing import Dict, NamedTuple, Sequence

import pyarrow as pa

# Keys of the Parquet / Arrow schema metadata that identify a table.
SCHEMA_NAME_KEY = "nlp_core.schema"
SCHEMA_VERSION_KEY = "nlp_core.schema_version"


class Column(NamedTuple):
    """One documented column: `doc` says what a value means and when it is null."""

    name: str
    type: pa.DataType
    doc: str
    nullable: bool = True


def build_schema(name: str, version: int, columns: Sequence[Column]) -> pa.Schema:
    """The Arrow schema of `columns`, tagged with the table `name` and `version`."""
    fields = [pa.field(c.name, c.type, nullable=c.nullable,
                       metadata={"description": c.doc}) for c in columns]
    return pa.schema(fields, metadata={SCHEMA_NAME_KEY: name, SCHEMA_VERSION_KEY: str(version)})


def schema_identity(metadata: Dict[bytes, bytes] | None) -> tuple[str, int] | None:
    """(name, version) from Parquet file or Arrow schema metadata; None when untagged."""
    if not metadata:
        return None
    name = metadata.get(SCHEMA_NAME_KEY.encode())
    version = metadata.get(SCHEMA_VERSION_KEY.encode())
    if name is None or version is None:
        return None
    return name.decode(), int(version)
