"""`input_record` v1: the JSON schema of one JSONL input line (input_record.schema.json).

The annotate job checks records with hand-written code that follows this schema (see
beam_jobs/records.py); the schema file is the contract to hand to producers of corpora.
"""
import json
from pathlib import Path
from typing import Any, Dict

NAME = "input_record"
VERSION = 1
PATH = Path(__file__).with_name("input_record.schema.json")


def json_schema() -> Dict[str, Any]:
    """The JSON schema (draft 2020-12) as a dict."""
    return json.loads(PATH.read_text(encoding="utf8"))
