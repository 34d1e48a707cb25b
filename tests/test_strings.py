import json

import pytest
from native.hashing import hash_string, hash_strings
from shared_data import shared_path

from nlp_core.strings import StringStore


def _interop_rows():
    lines = shared_path("interop", "strings-and-hashes.tsv").read_text("utf8").split("\n")
    header = lines[0].split("\t")
    assert header[:3] == ["string_json", "stringstore_add", "hash_string"]
    return [line.split("\t") for line in lines[1:] if line]


def test_every_interop_row_hashes_like_spacy():
    rows = _interop_rows()
    assert len(rows) == 2000
    store = StringStore()
    for string_json, added, raw_hash, *_ in rows:
        text = json.loads(string_json)
        assert hash_string(text) == int(raw_hash), text
        assert store.add(text) == int(added), text


def test_batch_hash_matches_single():
    texts = [json.loads(r[0]) for r in _interop_rows()]
    assert hash_strings(texts).tolist() == [hash_string(t) for t in texts]


def test_symbols_keep_fixed_ids_and_round_trip():
    store = StringStore()
    assert store.add("ORTH") == 65
    assert store.add("NOUN") == 92
    assert store.add("") == 0
    assert store[92] == "NOUN"
    assert "NOUN" in store
    key = store.add("unicorn")
    assert key > 1000 and store[key] == "unicorn" and store["unicorn"] == key
    assert "unicorn" in store and key in store


def test_unknown_key_error_names_the_key():
    with pytest.raises(KeyError, match="12345678901"):
        StringStore()[12345678901]


def test_non_string_add_is_a_type_error():
    with pytest.raises(TypeError, match="int"):
        StringStore().add(5)


def test_serialisation_round_trip(tmp_path):
    store = StringStore(["a", "bé", "☃", "NOUN"])
    store.to_disk(tmp_path / "strings.json")
    loaded = StringStore().from_disk(tmp_path / "strings.json")
    assert sorted(loaded) == sorted(store) == sorted(["a", "bé", "☃"])
    assert loaded["☃"] == store["☃"]


def test_bulk_update_stores_what_add_would():
    texts = [json.loads(r[0]) for r in _interop_rows()] + ["NOUN", "", "ORTH", "plain", "plain"]
    one_by_one = StringStore()
    for text in texts:
        one_by_one.add(text)
    bulk = StringStore()
    bulk.update(iter(texts))  # any iterable, not only lists
    assert list(bulk) == list(one_by_one)
    assert "NOUN" not in list(bulk) and "" not in list(bulk)
    merged = StringStore(["kept from before ⁂"])
    merged.update(bulk)  # a store merges by its hashes
    assert sorted(merged) == sorted(["kept from before ⁂", *one_by_one])


def test_bulk_update_names_a_non_string():
    store = StringStore()
    with pytest.raises(TypeError, match="bytes"):
        store.update(["fine", b"raw bytes"])
    with pytest.raises(TypeError, match="int"):
        StringStore().from_bytes(b'["a", 3]')
