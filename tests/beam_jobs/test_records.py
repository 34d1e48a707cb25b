"""Record checks: each rule of the input schema gives its own dead-letter reason; ids are
deterministic."""
import pytest

from beam_jobs.records import (
    CheckOptions,
    DeadLetter,
    RawItem,
    Record,
    check_docbin_doc,
    check_json_line,
    explicit_id,
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
