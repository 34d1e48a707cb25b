"""Input records: checking one raw JSONL line or .spacy doc, the record a valid one becomes,
and the dead letter an invalid one becomes.

The rules follow schemas/input_record.schema.json; the reasons are the `error_type` values
of schemas/dead_letter.py. Checking is a pure function of the raw bytes and the options, so
the duplicate-id pass and the main pass reach the same verdict on every record.

The checks are written out here rather than run by a JSON Schema validator: they run on every
record in each pass, and parsing plus checking takes ~3 us a record where `json.loads`
and jsonschema's validator take ~26 us; a validator also reports the schema's first failing
keyword, not the `error_type` and actionable message each dead letter carries.
tests/schemas/test_schemas.py cross-checks the two (same verdict as jsonschema on every kind of
record).
"""
import json
import re
from typing import Any, Dict, NamedTuple, Optional, Union

import srsly

from schemas.dead_letter import RAW_MAX_CHARS

JSONL = "jsonl"
DOCBIN = "spacy"
# A JSON string escape that can produce a lone surrogate (a cheap pre-filter: only lines
# holding one need their strings searched).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# The longest JSON form of one character: an astral character as a \uXXXX\uXXXX pair.
MAX_BYTES_PER_CHAR = 12
# room for the id, meta and other fields of a record whose text is at the --max-chars limit
LINE_SLACK_BYTES = 1 << 20
UTF16_HINT = ("the line looks like UTF-16 (a byte-order mark, or NUL bytes between the "
              "characters): convert the file to UTF-8, e.g. `iconv -f UTF-16 -t UTF-8`")
CR_HINT = ("the line holds CR (\\r) characters: if the file uses CR-only line endings, "
           "convert them to LF, e.g. `tr '\\r' '\\n'`")


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
    # whether `doc_id` came from the record's id field (not made from its position)
    id_given: bool = False


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
    """The rules every record is checked against, and the reading limits they imply."""

    text_field: str = "text"
    id_field: str = "id"
    max_chars: int = 1_000_000
    max_decompressed_mb: int = 512
    # --max-line-bytes; 0: derived from max_chars (see `max_line_bytes`)
    line_limit: int = 0

    @property
    def max_line_bytes(self) -> int:
        """The longest JSONL line read: --max-line-bytes when given, else the most a record
        whose text has --max-chars characters can take, plus LINE_SLACK_BYTES. A longer line
        is never held in memory whole (it may be a file without line breaks): it is
        skipped, read in bounded blocks, as `line_too_long`."""
        if self.line_limit > 0:
            return self.line_limit
        return MAX_BYTES_PER_CHAR * self.max_chars + LINE_SLACK_BYTES


def writable(text: str) -> str:
    """`text` with any lone surrogate written as a \\uXXXX escape: Arrow (UTF-8) refuses
    lone surrogates, and a dead letter must always be writable."""
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf8", "backslashreplace").decode("utf8")


def raw_text(payload: Union[bytes, str]) -> str:
    """A record as text for the dead-letter `raw` column, cut to RAW_MAX_CHARS."""
    if isinstance(payload, bytes):
        payload = payload[:RAW_MAX_CHARS * 4].decode("utf8", "backslashreplace")
    return writable(payload[:RAW_MAX_CHARS])


def dead_letter(source: str, item: RawItem, error_type: str, message: str,
                doc_id: Optional[str] = None, raw: Optional[str] = None) -> DeadLetter:
    return DeadLetter(source, item.line, item.offset,
                      None if doc_id is None else writable(doc_id), error_type,
                      writable(message), raw_text(item.payload if raw is None else raw),
                      len(item.payload))


def generated_id(source: str, offset: int) -> str:
    """The doc id of a record without one: its position."""
    return f"{source}@{offset}"


def doc_id_for(value: Any, source: str, offset: int) -> Union[str, None, bool]:
    """The doc id of a record: its id value as text, the position when it has none (None),
    or False when the value is not a usable id."""
    if value is None:
        return generated_id(source, offset)
    if isinstance(value, float) and value.is_integer():  # JSON Schema's "integer" allows 1.0
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        return False
    return str(value)


def _preview(value: Any) -> str:
    """A short JSON rendering of a rejected value for a message (`null` for None)."""
    try:
        return json.dumps(value)[:80]
    except (RecursionError, ValueError):  # nested too deeply for the encoder, or NaN-like
        return type(value).__name__


def _looks_like_utf16(payload: bytes) -> bool:
    """A byte-order mark, or NUL bytes making up a quarter of the line or more (ASCII text in
    UTF-16 has one in every two bytes; UTF-8 JSON never holds one)."""
    return (payload[:2] in (b"\xff\xfe", b"\xfe\xff")
            or payload.count(b"\0") * 4 >= len(payload))


def _lone_surrogate(value: Any, options: CheckOptions) -> Optional[str]:
    """Where the record holds a lone surrogate in its text, id or meta ("'text' at character
    5"), or None. JSON allows escapes such as "\\ud800" that decode to one; such a string is
    not Unicode text and cannot be written as UTF-8."""
    fields = [(repr(options.text_field), value.get(options.text_field)),
              (repr(options.id_field), value.get(options.id_field))]
    stack = [("'meta'", value.get("meta"))]
    while stack:  # meta may nest deeply: walked without recursion
        name, item = stack.pop()
        if isinstance(item, dict):
            stack += [(name, key) for key in item]
            stack += [(name, v) for v in item.values()]
        elif isinstance(item, list):
            stack += [(name, v) for v in item]
        elif isinstance(item, str):
            fields.append((name, item))
    for name, text in fields:
        if isinstance(text, str):
            found = _SURROGATE.search(text)
            if found is not None:
                return f"{name} at character {found.start()}"
    return None


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
    payload = item.payload
    try:
        line = payload.decode("utf8")
    except UnicodeDecodeError as err:
        hint = f"; {UTF16_HINT}" if _looks_like_utf16(payload) else ""
        return dead_letter(source, item, "not_utf8", f"the line is not UTF-8: {err}{hint}")
    if b"\0" in payload and _looks_like_utf16(payload):  # valid UTF-8, but not text
        return dead_letter(source, item, "not_utf8", UTF16_HINT)
    try:
        value = json.loads(line)
    except ValueError as err:
        hint = f"; {CR_HINT}" if b"\r" in payload else ""
        return dead_letter(source, item, "bad_json", f"invalid JSON: {err}{hint}")
    except RecursionError:  # the C decoder recurses once per nesting level
        return dead_letter(source, item, "bad_json",
                           "invalid JSON: arrays or objects nested too deeply to decode")
    if not isinstance(value, dict):
        return dead_letter(source, item, "not_an_object",
                           f"a record must be a JSON object, got {type(value).__name__}")
    if _SURROGATE_ESCAPE.search(payload) is not None:
        where = _lone_surrogate(value, options)
        if where is not None:
            return dead_letter(source, item, "bad_unicode",
                               f"{where} holds a lone surrogate (a \\uD800-\\uDFFF escape "
                               "that is not half of a pair), which is not text: fix the "
                               "escapes where the file was written")
    if options.id_field in value and value[options.id_field] is None:
        return dead_letter(source, item, "bad_id",
                           f"{options.id_field!r} must be a non-empty string or an integer, "
                           "got null (leave the field out for an id made from the position)")
    raw_id = value.get(options.id_field)
    doc_id = doc_id_for(raw_id, source, item.offset)
    if doc_id is False:
        return dead_letter(source, item, "bad_id",
                           f"{options.id_field!r} must be a non-empty string or an integer, "
                           f"got {_preview(raw_id)}")
    text = value.get(options.text_field)
    problem = _check_text(text, options, options.text_field in value)
    if problem is not None:
        return dead_letter(source, item, *problem, doc_id=doc_id)
    if "meta" in value and not isinstance(value["meta"], dict):
        return dead_letter(source, item, "bad_meta",
                           f"'meta' must be an object, got {type(value['meta']).__name__}",
                           doc_id=doc_id)
    return Record(doc_id, source, item.offset, item.line, text, None, len(text),
                  len(item.payload), raw_id is not None)


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
                  len(item.payload), raw_id is not None)


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
