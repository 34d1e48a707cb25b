"""JSONL: text and pre-tokenized records, gzip, bad records (raise / skip / dead letter)."""
import gzip
import json

import pytest
from formats.doc_fields import assert_docs_equal

from nlp_core.formats import BadRecord, read_conllu, read_jsonl, write_jsonl
from nlp_core.tokens import Doc
from nlp_core.vocab import Vocab


def whitespace_make_doc(vocab):
    """A stand-in tokenizer (the real one lives in nlp_core.tokenizer)."""

    def make_doc(text: str) -> Doc:
        words = text.split(" ")
        return Doc(vocab, words=words, spaces=[True] * (len(words) - 1) + [False])

    return make_doc


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return path


def test_text_records_use_make_doc_and_keep_id_and_meta(tmp_path, vocab):
    path = _write(tmp_path / "in.jsonl", [
        json.dumps({"text": "Hello big world", "id": "a", "meta": {"src": "web"}}),
        "",
        json.dumps({"text": "Bye", "cats": {"POS": 1.0}}),
    ])
    docs = list(read_jsonl(path, whitespace_make_doc(vocab)))
    assert [d.text for d in docs] == ["Hello big world", "Bye"]
    assert docs[0].user_data == {"id": "a", "meta": {"src": "web"}}
    assert docs[1].cats == {"POS": 1.0}
    (_, context), _ = read_jsonl(path, whitespace_make_doc(vocab), as_tuples=True)
    assert context == {"path": str(path), "line": 1, "id": "a", "meta": {"src": "web"}}


def test_make_doc_may_be_an_nlp_like_object(tmp_path, vocab):
    class FakeNLP:
        def __init__(self):
            self.vocab = vocab
            self.make_doc = whitespace_make_doc(vocab)

    path = _write(tmp_path / "in.jsonl", [json.dumps({"text": "a b"})])
    (doc,) = read_jsonl(path, FakeNLP())
    assert doc.vocab is vocab and len(doc) == 2


def test_pretokenized_records(tmp_path):
    path = _write(tmp_path / "in.jsonl", [
        json.dumps({"tokens": ["Hi", "there", "!"], "spaces": [True, False, False]}),
        json.dumps({"text": "Hi there!", "tokens": ["Hi", "there", "!"]}),
        json.dumps({"tokens": ["no", "spaces"]}),
    ])
    docs = list(read_jsonl(path))
    assert [d.text for d in docs] == ["Hi there!", "Hi there!", "no spaces "]


def test_write_then_read_keeps_annotations(tmp_path):
    from shared_data import shared_path

    vocab = Vocab()
    docs = list(read_conllu(shared_path("ud_english_ewt", "en_ewt-ud-dev.conllu"), vocab=vocab,
                            n_sents=5))[:40]
    docs[0].user_data["id"] = "first"
    docs[1].ents = [("ORG", 0, 2)]
    path = tmp_path / "out.jsonl.gz"
    assert write_jsonl(docs, path) == 40
    back = list(read_jsonl(path, vocab=vocab))
    assert len(back) == 40
    for a, b in zip(back, docs):
        assert_docs_equal(a, b)
    assert back[0].user_data["id"] == "first"
    assert [(e.start, e.end, e.label_) for e in back[1].ents] == [(0, 2, "ORG")]


def test_reads_gzip_by_content(tmp_path):
    path = tmp_path / "in.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"tokens": ["a"], "spaces": [false]}\n'))
    assert [d.text for d in read_jsonl(path)] == ["a"]


BAD_LINES = [
    ('{"text": "ok"', "invalid JSON"),
    ('["text"]', "must be a JSON object"),
    ('{"id": 3}', "neither 'text' nor 'tokens'"),
    ('{"text": 42}', "'text' must be a string, got int"),
    ('{"tokens": ["a", ""]}', "non-empty strings"),
    ('{"tokens": ["a"], "spaces": [true, true]}', "list of 1 booleans"),
    ('{"text": "a b", "tokens": ["a", "c"]}', "do not spell out"),
    ('{"tokens": ["a"], "tags": ["X", "Y"]}', "'tags' must be a list of 1"),
    ('{"tokens": ["a"], "heads": [5]}', "Head index 5"),
]


@pytest.mark.parametrize("line,reason", BAD_LINES)
def test_bad_record_raises_with_file_and_line(tmp_path, line, reason):
    path = _write(tmp_path / "in.jsonl", ['{"tokens": ["fine"]}', line])
    with pytest.raises(ValueError, match=reason) as err:
        list(read_jsonl(path))
    assert str(err.value).startswith(f"[E159] {path}:2:")


def test_text_record_without_make_doc_is_a_bad_record(tmp_path):
    path = _write(tmp_path / "in.jsonl", ['{"text": "needs a tokenizer"}'])
    with pytest.raises(ValueError, match="make_doc"):
        list(read_jsonl(path))


def test_skip_counts_and_warns(tmp_path):
    lines = ['{"tokens": ["fine"]}'] + [line for line, _ in BAD_LINES] + ['{"tokens": ["ok"]}']
    path = _write(tmp_path / "in.jsonl", lines)
    with pytest.warns(UserWarning, match=f"Skipped {len(BAD_LINES)} bad records"):
        docs = list(read_jsonl(path, on_error="skip"))
    assert [d.text for d in docs] == ["fine ", "ok "]


def test_callable_receives_path_line_raw_line_and_reason(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"tokens": ["fine"]}\n{"text": 42}\n\xff\xfe not utf8\n')
    dead_letters = []
    docs = list(read_jsonl(path, on_error=dead_letters.append))
    assert len(docs) == 1
    assert [(r.path, r.line_number, r.raw_line) for r in dead_letters] == [
        (str(path), 2, '{"text": 42}'), (str(path), 3, "\ufffd\ufffd not utf8")]
    assert isinstance(dead_letters[0], BadRecord)
    assert "'text' must be a string" in dead_letters[0].reason
    assert "not UTF-8" in dead_letters[1].reason


def test_invalid_on_error_is_rejected(tmp_path):
    path = _write(tmp_path / "in.jsonl", ['{"tokens": ["a"]}'])
    with pytest.raises(ValueError, match="on_error must be"):
        list(read_jsonl(path, on_error="ignore"))


def test_line_numbers_count_only_newlines(tmp_path):
    # U+2028 inside a JSON string is not a line break for JSONL
    path = _write(tmp_path / "in.jsonl", ['{"tokens": ["a\u2028b"]}', '{"text": 1}'])
    with pytest.raises(ValueError, match=r":2: "):
        list(read_jsonl(path))
