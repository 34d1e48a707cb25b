"""Input records: checking one raw JSONL line or .spacy doc, the record a valid one becomes,
and the dead letter an invalid one becomes.

The rules follow schemas/input_record.schema.json; the reasons are the `error_type` values
of schemas/dead_letter.py. Checking is a pure function of the raw bytes and the options, so
the duplicate-id pass and the main pass reach the same verdict on every record.
"""
import json
from typing import Any, Dict, NamedTuple, Optional, Union

import srsly

from schemas.dead_letter import RAW_MAX_CHARS

JSONL = "jsonl"
DOCBIN = "spacy"


class RawItem(NamedTuple):
    """One record as read: `payload` is the line without its line ending (JSONL) or a Doc
    as `Doc.to_bytes()` msgpack (.spacy)."""

    offset: int
    line: Optional[int]
    payload: bytes


class RawChunk(NamedTuple):
    """Consecutive records of one file, read together to keep per-element overhead low;
    `n_blank` counts the blank lines among them (not records)."""

    kind: str
    source: str
    items: list
    n_blank: int = 0


class Record(NamedTuple):
    """A valid record, ready to annotate. Exactly one of `text` / `doc_data` is set."""

    doc_id: str
    source: str
    offset: int
    line: Optional[int]
    text: Optional[str]
    doc_data: Optional[Dict[str, Any]]
    n_chars: int
    n_bytes: int


class DeadLetter(NamedTuple):
    """A rejected record: one `dead_letter` row."""

    source: str
    line: Optional[int]
    offset: int
    doc_id: Optional[str]
    error_type: str
    message: str
    raw: str
    raw_bytes: int


class CheckOptions(NamedTuple):
    text_field: str = "text"
    id_field: str = "id"
    max_chars: int = 1_000_000


def raw_text(payload: Union[bytes, str]) -> str:
    """A record as text for the dead-letter `raw` column, cut to RAW_MAX_CHARS."""
    if isinstance(payload, bytes):
        payload = payload[:RAW_MAX_CHARS * 4].decode("utf8", "backslashreplace")
    return payload[:RAW_MAX_CHARS]


def dead_letter(source: str, item: RawItem, error_type: str, message: str,
                doc_id: Optional[str] = None, raw: Optional[str] = None) -> DeadLetter:
    return DeadLetter(source, item.line, item.offset, doc_id, error_type, message,
                      raw_text(item.payload) if raw is None else raw_text(raw),
                      len(item.payload))


def doc_id_for(value: Any, source: str, offset: int) -> Union[str, None, bool]:
    """The doc id of a record: its id value as text, the position when it has none, or
    False when the value is not a usable id."""
    if value is None:
        return f"{source}@{offset}"
    if isinstance(value, float) and value.is_integer():  # JSON Schema's "integer" allows 1.0
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        return False
    return str(value)


def _check_text(text: Any, options: CheckOptions, present: bool) -> Optional[tuple]:
    if not present:
        return "missing_text", f"the record has no {options.text_field!r} field"
    if not isinstance(text, str):
        return "text_not_string", (f"{options.text_field!r} must be a string, got "
                                   f"{type(text).__name__}")
    if not text.strip():
        return "empty_text", f"{options.text_field!r} is empty or only whitespace"
    if len(text) > options.max_chars:
        return "text_too_long", (f"{options.text_field!r} has {len(text)} characters, more "
                                 f"than --max-chars={options.max_chars}")
    return None


def check_json_line(source: str, item: RawItem, options: CheckOptions
                    ) -> Union[Record, DeadLetter]:
    """A JSONL line -> Record, or DeadLetter with the first rule it breaks."""
    try:
        line = item.payload.decode("utf8")
    except UnicodeDecodeError as err:
        return dead_letter(source, item, "not_utf8", f"the line is not UTF-8: {err}")
    try:
        value = json.loads(line)
    except ValueError as err:
        return dead_letter(source, item, "bad_json", f"invalid JSON: {err}")
    if not isinstance(value, dict):
        return dead_letter(source, item, "not_an_object",
                           f"a record must be a JSON object, got {type(value).__name__}")
    raw_id = value.get(options.id_field)
    if options.id_field in value and raw_id is None:
        raw_id = False
    doc_id = doc_id_for(raw_id, source, item.offset)
    if doc_id is False:
        return dead_letter(source, item, "bad_id",
                           f"{options.id_field!r} must be a non-empty string or an integer, "
                           f"got {json.dumps(raw_id)[:80]}")
    text = value.get(options.text_field)
    problem = _check_text(text, options, options.text_field in value)
    if problem is not None:
        return dead_letter(source, item, *problem, doc_id=doc_id)
    if "meta" in value and not isinstance(value["meta"], dict):
        return dead_letter(source, item, "bad_meta",
                           f"'meta' must be an object, got {type(value['meta']).__name__}",
                           doc_id=doc_id)
    return Record(doc_id, source, item.offset, item.line, text, None, len(text),
                  len(item.payload))


def check_docbin_doc(source: str, item: RawItem, options: CheckOptions
                     ) -> Union[Record, DeadLetter]:
    """A doc of a .spacy file (msgpack from Doc.to_bytes) -> Record or DeadLetter. Its id is
    `doc.user_data[id_field]`, as the JSONL readers of nlp_core store it."""
    data = srsly.msgpack_loads(item.payload)
    text = data.get("text", "")
    user_data = {k: v for k, v in data.get("user_data", []) if isinstance(k, str)}
    raw_id = user_data.get(options.id_field)
    doc_id = doc_id_for(raw_id, source, item.offset)
    if doc_id is False:
        return dead_letter(source, item, "bad_id",
                           f"user_data[{options.id_field!r}] must be a non-empty string or "
                           f"an integer, got {raw_id!r:.80}", raw=text)
    problem = _check_text(text, options, True)
    if problem is not None:
        return dead_letter(source, item, *problem, doc_id=doc_id, raw=text)
    return Record(doc_id, source, item.offset, item.line, None, data, len(text),
                  len(item.payload))


def check(kind: str, source: str, item: RawItem, options: CheckOptions
          ) -> Union[Record, DeadLetter]:
    if kind == DOCBIN:
        return check_docbin_doc(source, item, options)
    return check_json_line(source, item, options)


def explicit_id(kind: str, item: RawItem, options: CheckOptions) -> bool:
    """Whether the record may carry an explicit id (cheap pre-filter of the duplicate-id
    pass: a JSONL line that does not contain the field name as a JSON key has none)."""
    if kind == DOCBIN:
        return True
    key = json.dumps(options.id_field).encode("utf8")
    return key in item.payload or b"\\u" in item.payload
