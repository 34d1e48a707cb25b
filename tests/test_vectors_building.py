"""Building a table from arrays: key2row and strings.json written without a dict or a
StringStore are byte for byte what those would write; repeats keep their first row; a
table that keeps every row is written to its .npy file as it is read, never held."""
import numpy
import pyarrow
import pytest
import srsly
from shared_data import shared_path

from nlp_core.cli.init_vectors import init_vectors
from nlp_core.loading import blank
from nlp_core.strings import StringStore, get_string_id
from nlp_core.vectors_building import _SeenKeys, build_vectors, word_keys, write_strings_json
from nlp_core.vectors_disk import NpyRows, pack_key2row


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


# --- the table written as it is read -----------------------------------------------------

@pytest.mark.parametrize("rows,width,blocks", [(0, 50, []), (1, 3, [1]), (7, 50, [3, 0, 4]),
                                               (20000, 300, [8192, 8192, 3616])])
def test_npy_rows_are_the_bytes_numpy_save_writes(tmp_path, rows, width, blocks):
    table = numpy.random.default_rng(rows).standard_normal((rows, width)).astype("float32")
    writer = NpyRows(tmp_path / "t.npy", width)
    start = 0
    for n in blocks:
        writer.append(table[start:start + n])
        start += n
    data = writer.finish()
    numpy.save(tmp_path / "expected.npy", table, allow_pickle=False)
    assert (tmp_path / "t.npy").read_bytes() == (tmp_path / "expected.npy").read_bytes()
    assert numpy.array_equal(data, table)
    if rows:  # mapped from the file, not a copy in memory
        assert isinstance(data, numpy.memmap) and not data.flags.writeable


def test_npy_rows_refuse_rows_of_another_width(tmp_path):
    writer = NpyRows(tmp_path / "t.npy", 4)
    with pytest.raises(ValueError, match="E062"):
        writer.append(numpy.zeros((2, 5), dtype="float32"))
    writer.close()


FLORET = "4 3 3 5 2 2166136261 < >\n0 1 2 3\n1 4 5 6\n2 7 8 9\n3 1 0 1\n"


@pytest.mark.parametrize("options", [{}, {"truncate": 700}, {"prune": 300},
                                     {"mode": "floret"}])
def test_a_table_that_keeps_every_row_is_streamed_to_its_file(tmp_path, options):
    """Without --prune (and in floret mode) the rows go to `table_path` as they are read
    and the table is a read-only map of that file; with --prune the kept rows are needed
    for the search, so the table is built in memory and the file is never made. Either
    way the table is the one built in memory."""
    if options.get("mode") == "floret":
        source = tmp_path / "v.floret"
        source.write_text(FLORET, encoding="utf8")
    else:
        source = shared_path("interop", "vectors-small.txt")
    target = tmp_path / "table.npy"
    streamed = build_vectors(str(source), StringStore(), progress=False, table_path=target,
                             **options)
    in_memory = build_vectors(str(source), StringStore(), progress=False, **options)
    assert in_memory.table_file is None
    assert numpy.array_equal(streamed.vectors.data, in_memory.vectors.data)
    assert numpy.array_equal(streamed.keys, in_memory.keys)
    if options.get("prune"):
        assert streamed.table_file is None and not target.exists()
        assert not isinstance(streamed.vectors.data, numpy.memmap)
    else:
        assert streamed.table_file == target
        assert isinstance(streamed.vectors.data, numpy.memmap)
        assert numpy.array_equal(numpy.load(target), in_memory.vectors.data)
