"""Record checks: each rule of the input schema gives its own dead-letter reason; ids are
deterministic."""
import json

import pytest

from beam_jobs.records import (
    CheckOptions,
    DeadLetter,
    RawItem,
    Record,
    check_docbin_doc,
    check_json_line,
    dead_letter,
    explicit_id,
    writable,
)
from nlp_core.tokens import Doc
from nlp_core.vocab import Vocab
from schemas.dead_letter import ERROR_TYPES, RAW_MAX_CHARS

OPTIONS = CheckOptions(max_chars=10)


def _check(payload, options=OPTIONS):
    return check_json_line("f.jsonl", RawItem(5, 2, payload), options)


@pytest.mark.parametrize("payload, error_type", [
    (b'{"text": "\xff"}', "not_utf8"),
    (b'{"text": ', "bad_json"),
    (b'"just a string"', "not_an_object"),
    (b'{"body": "x"}', "missing_text"),
    (b'{"text": ["x"]}', "text_not_string"),
    (b'{"text": ""}', "empty_text"),
    (b'{"text": " \\n\\t"}', "empty_text"),
    (b'{"text": "eleven char"}', "text_too_long"),
    (b'{"text": "ok", "id": ""}', "bad_id"),
    (b'{"text": "ok", "id": 1.5}', "bad_id"),
    (b'{"text": "ok", "id": {"a": 1}}', "bad_id"),
    (b'{"text": "ok", "meta": "m"}', "bad_meta"),
])
def test_each_rule_has_its_reason(payload, error_type):
    result = _check(payload)
    assert isinstance(result, DeadLetter) and result.error_type == error_type
    assert error_type in ERROR_TYPES
    assert (result.source, result.line, result.offset, result.raw_bytes) \
        == ("f.jsonl", 2, 5, len(payload))


def test_valid_records_and_their_ids():
    assert _check(b'{"text": "ok", "id": "a"}') \
        == Record("a", "f.jsonl", 5, 2, "ok", None, 2, 25, id_given=True)
    assert _check(b'{"text": "ok", "id": 12}').doc_id == "12"
    assert _check(b'{"text": "ok", "id": 12.0}').doc_id == "12"
    generated = _check(b'{"text": "ok"}')
    assert generated.doc_id == "f.jsonl@5" and not generated.id_given
    # an explicit id of the generated form is still explicit (the duplicate pass needs it)
    assert _check(b'{"text": "ok", "id": "f.jsonl@5"}').id_given
    custom = CheckOptions(text_field="body", id_field="key", max_chars=10)
    assert _check(b'{"body": "ok", "key": "k", "text": 1}', custom).doc_id == "k"


def test_raw_is_cut_and_keeps_bad_bytes_visible():
    long = b'{"text": ' + b"x" * (RAW_MAX_CHARS * 2) + b"\xff"
    result = _check(long)
    assert len(result.raw) == RAW_MAX_CHARS and result.raw_bytes == len(long)
    assert _check(b"\xff{").raw == "\\xff{"


def test_id_prefilter_never_misses_an_id():
    for payload in (b'{"id": 1, "text": "t"}', b'{"\\u0069d": 1, "text": "t"}'):
        assert explicit_id("jsonl", RawItem(0, 1, payload), OPTIONS)
    assert not explicit_id("jsonl", RawItem(0, 1, b'{"text": "no ids"}'), OPTIONS)


def test_docbin_docs_use_user_data_ids():
    vocab = Vocab()
    doc = Doc(vocab, words=["Hi", "there"], user_data={"id": "d1"})
    result = check_docbin_doc("f.spacy", RawItem(3, None, doc.to_bytes()), OPTIONS)
    assert isinstance(result, Record) and result.doc_id == "d1" and result.n_chars == 9
    assert result.doc_data["text"] == "Hi there "
    empty = Doc(vocab, words=[])
    result = check_docbin_doc("f.spacy", RawItem(4, None, empty.to_bytes()), OPTIONS)
    assert result.error_type == "empty_text" and result.doc_id == "f.spacy@4"


NESTED = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize("payload", [
    b'{"text": ' + NESTED + b"}",
    b'{"text": "ok", "meta": {"k": ' + NESTED + b"}}",
    b'{"id": ' + NESTED + b', "text": "ok"}',
])
def test_deep_nesting_is_bad_json_not_a_crash(payload):
    result = _check(payload)
    assert result.error_type == "bad_json" and "nested too deeply" in result.message


@pytest.mark.parametrize("payload, where", [
    (b'{"text": "ok", "id": "a\\ud800"}', "'id' at character 1"),
    (b'{"text": "lone \\udc00 low"}', "'text' at character 5"),
    (b'{"text": "ok", "meta": {"a": ["x", {"b": "\\udbff"}]}}', "'meta'"),
    (b'{"text": "ok", "meta": {"\\ud800": 1}}', "'meta'"),
    (b'{"text": "a high surrogate last \\ud83d", "id": 1}', "'text'"),
])
def test_lone_surrogates_are_bad_unicode(payload, where):
    result = _check(payload, CheckOptions(max_chars=100))
    assert result.error_type == "bad_unicode" and where in result.message
    for column in (result.raw, result.message, result.doc_id or ""):
        column.encode("utf8")  # the dead letter itself is writable


def test_surrogate_pairs_and_ignored_fields_are_fine():
    result = _check(b'{"text": "\\ud83d\\ude00 ok", "other": "\\ud800"}')
    assert isinstance(result, Record) and result.text == "\U0001F600 ok"


def test_dead_letters_never_carry_surrogates():
    letter = dead_letter("f", RawItem(0, 1, b"{}"), "bad_json", "bad \udc80",
                         doc_id="x\ud800", raw="raw\udfff")
    assert (letter.message, letter.doc_id, letter.raw) \
        == ("bad \\udc80", "x\\ud800", "raw\\udfff")
    assert writable("plain ✓") == "plain ✓"


def test_bad_id_reports_the_value_given():
    assert "got null" in _check(b'{"id": null, "text": "t"}').message
    assert "got true" in _check(b'{"id": true, "text": "t"}').message
    assert "got [1]" in _check(b'{"id": [1], "text": "t"}').message


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_lines_say_so(encoding):
    data = '{"text": "hello"}\n{"text": "world"}'.encode(encoding)
    for payload in data.split(b"\n"):
        result = _check(payload, CheckOptions(max_chars=100))
        assert result.error_type == "not_utf8" and "looks like UTF-16" in result.message


def test_cr_only_line_endings_say_so():
    result = _check(b'{"text": "a"}\r{"text": "b"}')
    assert result.error_type == "bad_json" and "CR-only line endings" in result.message
    assert "CR-only" not in _check(b'{"text": ').message
    # CR as JSON whitespace is fine
    assert isinstance(_check(b'{"text":\r"ok"}'), Record)


def test_the_line_bound_fits_any_record_within_max_chars():
    text = "\U0001F600" * 10
    line = json.dumps({"id": "x" * 1000, "text": text, "meta": {"k": "v"}}).encode()
    assert len(line) <= OPTIONS.max_line_bytes
    assert isinstance(_check(line), Record)
    assert CheckOptions(max_chars=1000).max_line_bytes == 12 * 1000 + (1 << 20)
