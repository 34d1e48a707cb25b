"""The job's Parquet read by pyarrow, DuckDB and Polars: each sees the documented schema
(the schema name and version in the file metadata, every column with the type
schemas/annotations.py and dead_letter.py give it), and the README's queries
(examples/queries.py) give the same answers in DuckDB and Polars."""
import importlib.util

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beam_jobs import annotate
from schemas import SCHEMA_NAME_KEY, SCHEMA_VERSION_KEY, annotations, dead_letter

from .conftest import REPO_ROOT

ANNOTATED_SPACY = REPO_ROOT.parent / "shared" / "data" / "interop" / "ewt-dev-sm.spacy"


def _queries():
    spec = importlib.util.spec_from_file_location("example_queries",
                                                  REPO_ROOT / "examples" / "queries.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def outputs(corpus, tmp_path_factory):
    """Two runs: the JSONL corpus with bad records (dead letters), and a .spacy file with
    en_core_web_sm tags, parses and entities (every annotation column filled)."""
    jsonl = tmp_path_factory.mktemp("engines_jsonl")
    annotate.run(["--input", corpus["glob"], "--output", str(jsonl), "--model", "blank:en",
                  "--max-chars", str(corpus["max_chars"]), "--runner=FnApiRunner"])
    spacy = tmp_path_factory.mktemp("engines_spacy")
    annotate.run(["--input", str(ANNOTATED_SPACY), "--output", str(spacy), "--model",
                  "blank:en", "--keep-text", "--runner=FnApiRunner"])
    return {"dead_letter": jsonl, "annotations": spacy}


def _duckdb_type(t: pa.DataType) -> str:
    if pa.types.is_dictionary(t):
        return _duckdb_type(t.value_type)
    if pa.types.is_list(t):
        return _duckdb_type(t.value_type) + "[]"
    if pa.types.is_struct(t):
        return "STRUCT(" + ", ".join(f"{f.name} {_duckdb_type(f.type)}" for f in t) + ")"
    return {pa.string(): "VARCHAR", pa.int32(): "INTEGER", pa.int64(): "BIGINT",
            pa.bool_(): "BOOLEAN"}[t]


def _polars_type(t: pa.DataType) -> pl.DataType:
    if pa.types.is_dictionary(t):
        return pl.Categorical()
    if pa.types.is_list(t):
        return pl.List(_polars_type(t.value_type))
    if pa.types.is_struct(t):
        return pl.Struct({f.name: _polars_type(f.type) for f in t})
    return {pa.string(): pl.String(), pa.int32(): pl.Int32(), pa.int64(): pl.Int64(),
            pa.bool_(): pl.Boolean()}[t]


TABLES = [("annotations", annotations), ("dead_letter", dead_letter)]
IDENTITY = {SCHEMA_NAME_KEY, SCHEMA_VERSION_KEY}


@pytest.mark.parametrize("table, module", TABLES)
def test_pyarrow_reads_the_documented_schema(outputs, table, module):
    for path in sorted((outputs[table] / table).glob("part-*.parquet")):
        read = pq.read_table(path)
        assert read.schema.metadata[SCHEMA_NAME_KEY.encode()] == module.NAME.encode()
        assert read.schema.metadata[SCHEMA_VERSION_KEY.encode()] == str(module.VERSION).encode()
        assert [(f.name, f.type) for f in read.schema] == \
            [(f.name, f.type) for f in module.SCHEMA]
        assert read.num_rows > 0


@pytest.mark.parametrize("table, module", TABLES)
def test_duckdb_reads_the_documented_schema(outputs, table, module):
    files = f"{outputs[table]}/{table}/*.parquet"
    metadata = dict(duckdb.sql(f"SELECT key, value FROM parquet_kv_metadata('{files}')")
                    .fetchall())
    assert metadata[SCHEMA_NAME_KEY.encode()] == module.NAME.encode()
    assert metadata[SCHEMA_VERSION_KEY.encode()] == str(module.VERSION).encode()
    described = duckdb.sql(f"DESCRIBE SELECT * FROM '{files}'").fetchall()
    assert [(name, kind.replace('"', "")) for name, kind, *_ in described] == \
        [(f.name, _duckdb_type(f.type)) for f in module.SCHEMA]


@pytest.mark.parametrize("table, module", TABLES)
def test_polars_reads_the_documented_schema(outputs, table, module):
    for path in sorted((outputs[table] / table).glob("part-*.parquet")):
        metadata = pl.read_parquet_metadata(path)
        assert (metadata[SCHEMA_NAME_KEY], metadata[SCHEMA_VERSION_KEY]) == \
            (module.NAME, str(module.VERSION))
        assert dict(pl.read_parquet_schema(path)) == \
            {f.name: _polars_type(f.type) for f in module.SCHEMA}
        assert pl.read_parquet(path).height > 0


def test_readme_queries_agree_across_engines(outputs):
    queries = _queries()
    output = str(outputs["annotations"])
    entities = queries.duckdb_entities(output)
    assert entities and entities == [tuple(r) for r in queries.polars_entities(output).rows()]
    assert {"PERSON", "ORG", "GPE"} <= {label for label, _ in entities}
    pairs = queries.duckdb_verb_objects(output)
    assert len(pairs) == 10
    assert pairs == [tuple(r) for r in queries.polars_verb_objects(output).rows()]
