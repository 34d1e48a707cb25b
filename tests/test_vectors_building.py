"""Building a table from arrays: key2row and strings.json written without a dict or a
StringStore are byte for byte what those would write; repeats keep their first row."""
import numpy
import pyarrow
import pytest
import srsly
from shared_data import shared_path

from nlp_core.cli.init_vectors import init_vectors
from nlp_core.loading import blank
from nlp_core.strings import StringStore, get_string_id
from nlp_core.vectors_building import _SeenKeys, word_keys, write_strings_json
from nlp_core.vectors_disk import pack_key2row


@pytest.mark.parametrize("n", [0, 3, 15, 16, 300, 70000])
def test_pack_key2row_is_srslys_msgpack_of_the_dict(n):
    rng = numpy.random.default_rng(n)
    # every msgpack uint form: fixint, 0xcc, 0xcd, 0xce, 0xcf
    edges = numpy.array([0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32,
                         2**63, 2**64 - 1], dtype=numpy.uint64)
    keys = numpy.unique(numpy.concatenate([edges, rng.integers(0, 2**64 - 1, n + 20,
                                                                 dtype=numpy.uint64)]))
    keys = rng.permutation(keys)[:n]
    rows = rng.integers(0, 2**20, n)
    rows[:min(n, 6)] = [0, 127, 128, 255, 256, 65536][:min(n, 6)]
    expected = srsly.msgpack_dumps(dict(zip(keys.tolist(), rows.tolist())))
    assert pack_key2row(keys, rows) == expected
    assert srsly.msgpack_loads(pack_key2row(keys, rows)) == dict(zip(keys.tolist(),
                                                                     rows.tolist()))


def test_seen_keys_first_occurrence_wins_within_and_across_batches():
    seen = _SeenKeys()
    first = numpy.array([5, 3, 5, 9, 3, 1], dtype=numpy.uint64)
    assert seen.first_seen(first).tolist() == [True, True, False, True, False, True]
    second = numpy.array([9, 2, 2, 7, 1, 8], dtype=numpy.uint64)
    assert seen.first_seen(second).tolist() == [False, True, False, True, False, True]
    assert numpy.union1d(seen.sorted, seen.recent).tolist() == [1, 2, 3, 5, 7, 8, 9]


def test_seen_keys_across_merges_matches_a_set():
    rng = numpy.random.default_rng(0)
    seen, reference = _SeenKeys(), set()
    for _ in range(60):
        keys = rng.integers(0, 30000, 2000).astype(numpy.uint64)
        expected = []
        for key in keys.tolist():
            expected.append(key not in reference)
            reference.add(key)
        assert seen.first_seen(keys).tolist() == expected


def test_word_keys_are_get_string_id_symbols_included():
    words = ["the", "root", "ORTH", "nsubj", "Zürich", "日本", "a b"]
    assert word_keys(pyarrow.array(words)).tolist() == [get_string_id(w) for w in words]


def test_strings_json_is_the_string_stores_bytes(tmp_path):
    words = ["b", "é", "a", "root", "Zürich", "日本", "x\"y", "\\", "😀", "B"]
    strings = StringStore(["a", "extra", "ORTH"])
    chunked = pyarrow.array(words, type=pyarrow.large_string())
    keys = word_keys(chunked)
    write_strings_json(tmp_path / "s.json", chunked, keys, strings, chunk=3)
    expected = StringStore(list(strings) + words)
    assert (tmp_path / "s.json").read_bytes() == expected.to_bytes()


@pytest.mark.parametrize("prune", [0, 500])
def test_output_equals_the_dict_and_string_store_build(tmp_path, prune):
    """The previous implementation added every word to the pipeline's StringStore and the
    keys to a key -> row dict in the order read (first occurrence wins): the files must
    be the same bytes."""
    source = shared_path("interop", "vectors-small.txt")
    out = tmp_path / "out"
    built = init_vectors("en", str(source), out, prune=prune, progress=False)
    lines = source.read_text(encoding="utf8").splitlines()[1:]
    words = [line.rsplit(" ", 50)[0] for line in lines]
    strings = StringStore(list(blank("en").vocab.strings))
    key2row = {}
    for word in words:
        key = strings.add(word)
        key2row.setdefault(key, len(key2row))
    if prune:
        found = srsly.read_msgpack(out / "vocab" / "key2row")
        key2row = {k: (r if r < prune else found[k]) for k, r in key2row.items()}
    assert (out / "vocab" / "key2row").read_bytes() == srsly.msgpack_dumps(key2row)
    assert (out / "vocab" / "strings.json").read_bytes() == strings.to_bytes()
    table = built.table()
    assert table.key2row == key2row and len(table.strings) == len(strings)
