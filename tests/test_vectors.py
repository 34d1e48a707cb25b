"""The Vectors table: keys and rows, lookups, most_similar, and its directory in spaCy's
layout (spaCy's own directories in ../shared/data/interop/ load with identical vectors)."""
import json

import msgpack
import numpy
import pytest

from nlp_core.strings import get_string_id
from nlp_core.vectors import Vectors
from nlp_core.vocab import Vocab
from tests.shared_data import SHARED_DATA, shared_path

INTEROP = SHARED_DATA / "interop"
SPACY_DIR = INTEROP / "vectors-small-spacy"
SPACY_PRUNED = INTEROP / "vectors-small-spacy-prune500"


def read_word2vec_text(path):
    """(words, float32 (n, width)) of a word2vec text file with a header line."""
    lines = path.read_text(encoding="utf8").splitlines()
    n_rows, width = (int(x) for x in lines[0].split())
    words, rows = [], []
    for line in lines[1:]:
        fields = line.rstrip(" ").split(" ")
        words.append(fields[0])
        rows.append([float(x) for x in fields[1:]])
    table = numpy.asarray(rows, dtype=numpy.float32)
    assert table.shape == (n_rows, width)
    return words, table


@pytest.fixture(scope="module")
def small_text():
    return read_word2vec_text(shared_path("interop", "vectors-small.txt"))


# --- spaCy's directories -----------------------------------------------------------------


def test_spacy_directory_loads_identical_vectors(small_text):
    words, table = small_text
    vectors = Vectors().from_disk(SPACY_DIR / "vocab")
    assert vectors.shape == (2000, 50) and vectors.n_keys == 2000
    assert vectors.mode == "default" and vectors.attr_ == "ORTH"  # spaCy's cfg has no attr
    numpy.testing.assert_array_equal(vectors.get_batch(words), table)
    for word, row in zip(words, table):
        numpy.testing.assert_array_equal(vectors[word], row)
    assert vectors.strings["the"] == get_string_id("the")


def test_spacy_pruned_directory_maps_every_key_to_a_kept_row(small_text):
    words, table = small_text
    vectors = Vectors().from_disk(SPACY_PRUNED / "vocab")
    assert vectors.shape == (500, 50) and vectors.n_keys == 2000
    rows = vectors.find(keys=words)
    # the first 500 words (frequency order) keep their rows, unchanged
    numpy.testing.assert_array_equal(rows[:500], numpy.arange(500))
    numpy.testing.assert_array_equal(vectors.data, table[:500])
    # every other key points at the kept row spaCy chose: the nearest by cosine (ours agrees)
    assert (rows[500:] >= 0).all()
    numpy.testing.assert_array_equal(vectors.get_batch(words), table[:500][rows])
    _, best, _ = vectors.most_similar(table[500:], n=1)
    numpy.testing.assert_array_equal(best[:, 0], rows[500:])


def test_vocab_reads_spacy_vocab_directory(small_text):
    words, table = small_text
    vocab = Vocab().from_disk(SPACY_DIR / "vocab")
    assert vocab.vectors.shape == (2000, 50)
    assert vocab.vectors.strings is vocab.strings
    numpy.testing.assert_array_equal(vocab.get_vector(words[5]), table[5])


# --- our directory -------------------------------------------------------------------------


def _table(rows=6, width=4, seed=0):
    rng = numpy.random.default_rng(seed)
    return rng.normal(size=(rows, width)).astype(numpy.float32)


def test_to_disk_writes_spacys_files_in_readable_formats(tmp_path):
    data = _table()
    vectors = Vectors(data=data, keys=["a", "b", "c", "d", "e", "f"], name="test.vectors")
    vectors.add("alias", row=2)
    vectors.to_disk(tmp_path, exclude=("strings",))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key2row", "vectors", "vectors.cfg"]
    spacy_names = {p.name for p in shared_path("interop", "vectors-small-spacy",
                                                 "vocab").iterdir()}
    assert {"key2row", "vectors", "vectors.cfg"} <= spacy_names
    with (tmp_path / "vectors").open("rb") as file_:
        assert numpy.lib.format.read_magic(file_) == (1, 0)
        shape, fortran, dtype = numpy.lib.format.read_array_header_1_0(file_)
    assert shape == (6, 4) and not fortran and dtype == numpy.dtype("<f4")
    numpy.testing.assert_array_equal(numpy.load(tmp_path / "vectors", allow_pickle=False), data)
    key2row = msgpack.unpackb((tmp_path / "key2row").read_bytes(), strict_map_key=False)
    assert key2row == {get_string_id(w): i for i, w in enumerate("abcdef")} | {
        get_string_id("alias"): 2}
    cfg = json.loads((tmp_path / "vectors.cfg").read_text())
    assert cfg == {"mode": "default", "attr": 65, "name": "test.vectors"}


def test_attr_is_written_as_spacys_int_and_a_name_is_read_too(tmp_path):
    Vectors(data=_table(), keys=list("abcdef"), attr="LOWER").to_disk(tmp_path)
    assert json.loads((tmp_path / "vectors.cfg").read_text())["attr"] == 66  # spaCy's LOWER
    assert Vectors().from_disk(tmp_path).attr_ == "LOWER"
    (tmp_path / "vectors.cfg").write_text('{"mode": "default", "attr": "NORM"}')
    assert Vectors().from_disk(tmp_path).attr_ == "NORM"


def test_round_trip_keeps_keys_attr_and_name(tmp_path):
    vectors = Vectors(data=_table(), keys=["a", "b", "c", "d", "e", "f"], attr="LOWER",
                      name="x")
    vectors.add("shared", row=0)
    vectors.to_disk(tmp_path)
    loaded = Vectors().from_disk(tmp_path)
    assert loaded.key2row == vectors.key2row and loaded.attr_ == "LOWER" and loaded.name == "x"
    numpy.testing.assert_array_equal(loaded.data, vectors.data)
    assert loaded.strings["shared"] == get_string_id("shared")  # strings.json came along


def test_mmap_loading_returns_a_read_only_memmap(tmp_path):
    vectors = Vectors(data=_table(50, 8), keys=[f"w{i}" for i in range(50)])
    vectors.to_disk(tmp_path)
    mapped = Vectors().from_disk(tmp_path, mmap_mode="r")
    assert isinstance(mapped.data, numpy.memmap)
    numpy.testing.assert_array_equal(mapped.get_batch(["w3", "w7", "nope"]),
                                     numpy.vstack([vectors.data[[3, 7]], numpy.zeros((1, 8))]))
    with pytest.raises(ValueError, match="E069.*mmap_mode"):
        mapped.add("w3", vector=numpy.ones(8))
    copy_on_write = Vectors().from_disk(tmp_path, mmap_mode="c")
    copy_on_write.add("w3", vector=numpy.ones(8))
    numpy.testing.assert_array_equal(Vectors().from_disk(tmp_path).data, vectors.data)


def _write(tmp_path):
    Vectors(data=_table(), keys=list("abcdef")).to_disk(tmp_path)
    return tmp_path


@pytest.mark.parametrize("damage, match", [
    (lambda d: (d / "vectors").unlink(), r"E070.*no file `vectors`"),
    (lambda d: (d / "key2row").unlink(), r"E070.*no `key2row`"),
    (lambda d: (d / "vectors").write_bytes(b"not an array"), r"E070.*vectors.*\.npy"),
    (lambda d: (d / "vectors").write_bytes((d / "vectors").read_bytes()[:150]),
     r"E070.*vectors.*\.npy"),
    (lambda d: numpy.save(d / "vectors.npy", numpy.array([{"a": 1}], dtype=object))
     or (d / "vectors.npy").rename(d / "vectors"), r"E070.*vectors"),
    (lambda d: (d / "vectors").open("wb").write(b"") or numpy.save(
        (d / "vectors").open("wb"), numpy.zeros(3, dtype="f4")), r"E070.*2-d float32"),
    (lambda d: (d / "key2row").write_bytes(msgpack.packb({1: 99})), r"E070.*row 99.*6 rows"),
    (lambda d: (d / "key2row").write_bytes(b"\xc1garbage"), r"E231.*key2row"),
    (lambda d: (d / "vectors.cfg").write_text('{"mode": "fancy"}'), r"E070.*vectors.cfg.*fancy"),
    (lambda d: (d / "vectors.cfg").write_text('{"mode": "default", "attr": "TAG"}'),
     r"E070.*vectors.cfg.*ORTH, LOWER or NORM"),
])
def test_bad_directories_name_the_file(tmp_path, damage, match):
    directory = _write(tmp_path)
    damage(directory)
    with pytest.raises((OSError, ValueError), match=match):
        Vectors().from_disk(directory)


def test_missing_directory(tmp_path):
    with pytest.raises(OSError, match="E070.*not a directory"):
        Vectors().from_disk(tmp_path / "nope")


# --- keys and rows -------------------------------------------------------------------------


def test_add_find_and_shared_rows():
    vectors = Vectors(shape=(3, 2))
    assert vectors.add("dog", vector=[1, 2]) == 0
    assert vectors.add("cat", vector=[3, 4]) == 1
    assert vectors.add("puppy", row=0) == 0
    assert vectors.n_keys == 3 and len(vectors) == 3 and not vectors.is_full
    numpy.testing.assert_array_equal(vectors.find(keys=["puppy", "cat", "cow"]), [0, 1, -1])
    assert vectors.find(key="cow") == -1 and vectors.find(row=0) == get_string_id("dog")
    numpy.testing.assert_array_equal(vectors["puppy"], [1, 2])
    assert "puppy" in vectors and get_string_id("cat") in vectors and "cow" not in vectors
    keys = numpy.asarray([get_string_id(w) for w in ["dog", "cow"] * 40], dtype=numpy.uint64)
    numpy.testing.assert_array_equal(vectors.find(keys=keys), [0, -1] * 40)  # sorted index
    assert vectors.add("cow") == 2 and vectors.is_full
    with pytest.raises(ValueError, match="E065"):
        vectors.add("emu")
    with pytest.raises(ValueError, match="E064"):
        vectors.add("emu", row=3)
    with pytest.raises(ValueError, match="E066"):
        vectors.add("dog", vector=[1, 2, 3])
    with pytest.raises(KeyError, match="E063"):
        vectors["emu"]
    with pytest.raises(ValueError, match="E068"):
        vectors.find(key="dog", keys=["dog"])


def test_resize_removes_cut_keys_and_frees_new_rows():
    vectors = Vectors(data=_table(4, 3), keys=list("abcd"))
    removed = vectors.resize((2, 3))
    assert sorted(removed) == sorted([(get_string_id("c"), 2), (get_string_id("d"), 3)])
    assert vectors.shape == (2, 3) and vectors.n_keys == 2
    vectors.resize((5, 4))
    assert vectors.shape == (5, 4) and vectors.add("e") == 2


def test_constructor_checks():
    with pytest.raises(ValueError, match="E060"):
        Vectors(mode="fancy")
    with pytest.raises(ValueError, match="E072"):
        Vectors(attr="TAG")
    with pytest.raises(ValueError, match="E061"):
        Vectors(mode="floret", data=_table(), minn=3, maxn=2, hash_count=1)
    with pytest.raises(ValueError, match="E062"):
        Vectors(data=numpy.zeros(3))
    assert Vectors(data=numpy.ones((2, 2), dtype=numpy.float64)).data.dtype == numpy.float32


# --- most_similar --------------------------------------------------------------------------


def _brute_force(data, filled, queries, n):
    def unit(m):
        norms = numpy.linalg.norm(m, axis=1, keepdims=True)
        return m / numpy.where(norms == 0, 1, norms)

    sims = unit(queries) @ unit(data[filled]).T
    # best first; ties by lower row (filled is sorted, so by lower column)
    order = numpy.lexsort((numpy.broadcast_to(numpy.arange(len(filled)), sims.shape), -sims),
                          axis=1)[:, :n]
    return filled[order], numpy.take_along_axis(sims, order, axis=1)


@pytest.mark.parametrize("n, batch_size", [(1, 7), (3, 1024), (5, 16)])
def test_most_similar_matches_brute_force(n, batch_size):
    rng = numpy.random.default_rng(n)
    data = rng.normal(size=(80, 6)).astype(numpy.float32)
    data[40] = data[3]            # a tie: row 3 must win over 40
    data[41] = data[3] * 2        # same direction, same cosine
    data[50] = 0                  # a zero row is a candidate with similarity 0
    vectors = Vectors(data=data, keys=[f"w{i}" for i in range(70)])  # rows 70.. have no key
    queries = rng.normal(size=(60, 6)).astype(numpy.float32)
    queries[:5] = data[3]
    keys, rows, scores = vectors.most_similar(queries, n=n, batch_size=batch_size)
    expected_rows, expected_scores = _brute_force(data, numpy.arange(70), queries, n)
    numpy.testing.assert_array_equal(rows, expected_rows)
    numpy.testing.assert_allclose(scores, expected_scores, atol=1e-5)
    assert rows.max() < 70 and (rows[:5, 0] == 3).all()
    if n >= 3:
        assert (rows[:5, :3] == [3, 40, 41]).all()
    assert keys[0, 0] == get_string_id("w3")
    assert (numpy.diff(scores, axis=1) <= 1e-6).all()


def test_most_similar_returns_each_rows_first_key_and_checks_n():
    vectors = Vectors(data=numpy.eye(3, dtype=numpy.float32), keys=["a", "b", "c"])
    vectors.add("a2", row=0)
    keys, rows, scores = vectors.most_similar(numpy.array([1.0, 0.1, 0.0]))
    assert keys[0, 0] == get_string_id("a") and rows[0, 0] == 0 and scores[0, 0] > 0.99
    with pytest.raises(ValueError, match="E071"):
        vectors.most_similar(numpy.eye(3), n=4)
