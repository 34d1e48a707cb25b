"""The schemas: every column documented, name and version in the metadata, and the input
record JSON schema agreeing with the checks the annotate job applies."""
import json
from pathlib import Path

import jsonschema
import pytest

import schemas
from beam_jobs.records import CheckOptions, RawItem, Record, check_json_line
from schemas import (
    annotations,
    dead_letter,
    input_record,
    pretraining_removed,
    pretraining_shard,
    schema_identity,
    vector_dead_letter,
)

README = Path(schemas.__file__).with_name("README.md")


@pytest.mark.parametrize("module", [annotations, dead_letter, vector_dead_letter,
                                    pretraining_removed, pretraining_shard])
def test_tables_are_versioned_and_documented(module):
    schema = module.SCHEMA
    assert schema_identity(schema.metadata) == (module.NAME, module.VERSION)
    assert schemas.SCHEMAS[module.NAME] is module
    readme = README.read_text(encoding="utf8")
    assert f"`{module.NAME}` v{module.VERSION}" in readme
    for field in schema:
        assert field.metadata[b"description"].decode().strip()
        assert f"`{field.name}`" in readme, f"{field.name} is not in schemas/README.md"


def test_untagged_metadata_has_no_identity():
    assert schema_identity(None) is None
    assert schema_identity({b"other": b"x"}) is None


def test_dead_letter_reasons_are_listed():
    readme = README.read_text(encoding="utf8")
    for reason in [*dead_letter.ERROR_TYPES, *vector_dead_letter.ERROR_TYPES]:
        assert f"`{reason}`" in readme


RECORDS = [
    {"text": "ok"}, {"text": "ok", "id": "a", "meta": {"k": [1]}}, {"text": "ok", "id": 3},
    {"text": "ok", "other": None}, {"id": "a"}, {"text": 1}, {"text": ""}, {"text": " \t"},
    {"text": "ok", "id": ""}, {"text": "ok", "id": 2.5}, {"text": "ok", "id": 2.0}, {"text": "ok", "id": None},
    {"text": "ok", "id": True}, {"text": "ok", "meta": []}, [1], "text",
]


@pytest.mark.parametrize("record", RECORDS, ids=[json.dumps(r) for r in RECORDS])
def test_input_json_schema_agrees_with_the_job(record):
    valid_by_schema = jsonschema.Draft202012Validator(input_record.json_schema()).is_valid(record)
    checked = check_json_line("f", RawItem(0, 1, json.dumps(record).encode()), CheckOptions())
    assert valid_by_schema == isinstance(checked, Record)
