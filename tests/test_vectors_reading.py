"""Reading vector files: every format and compression gives back the table bit for bit,
bad rows name their line (or are counted with skip_bad_lines), headers are checked."""
import bz2
import functools
import gzip
import http.server
import threading

import numpy
import pytest
import zstandard
from vector_files import (
    glove_table,
    write_glove,
    write_word2vec_binary,
    write_word2vec_text,
)

from nlp_core.vectors_reading import VectorFileError, VectorFileReader

N = 300


@pytest.fixture(scope="module")
def glove():
    return glove_table(N)


def read_all(path, **kwargs):
    with VectorFileReader(str(path), **kwargs) as reader:
        batches = list(reader.batches())
        words = [w for b in batches for w in b.words.to_pylist()]
        lines = [n for b in batches for n in b.lines.tolist()]
        table = numpy.concatenate([b.vectors for b in batches])
        return reader.info, reader.stats, words, table, lines


@pytest.mark.parametrize("writer,fmt,first_line", [
    (write_glove, "glove-text", 1),
    (write_word2vec_text, "word2vec-text", 2),
    (lambda p, w, t: write_word2vec_text(p, w, t, trailing_space=True), "word2vec-text", 2),
    (write_word2vec_binary, "word2vec-binary", 1),
    (lambda p, w, t: write_word2vec_binary(p, w, t, newlines=False), "word2vec-binary", 1),
], ids=["glove", "word2vec-text", "fasttext-vec", "word2vec-binary", "binary-no-newlines"])
def test_each_format_reads_back_the_table_exactly(tmp_path, glove, writer, fmt, first_line):
    words, table = glove
    path = writer(tmp_path / "vectors.data", words, table)
    info, stats, got_words, got, lines = read_all(path, batch_rows=64)
    assert info.format == fmt and info.dims == 50
    assert info.rows == (None if fmt == "glove-text" else N)
    assert got_words == words
    assert numpy.array_equal(got, table)
    assert lines[:2] == [first_line, first_line + 1] and stats.rows == N and stats.bad == 0


@pytest.mark.parametrize("suffix,compress", [
    (".gz", gzip.compress), (".bz2", bz2.compress),
    (".zst", lambda data: zstandard.ZstdCompressor().compress(data))])
def test_compressed_files_are_read_by_extension(tmp_path, glove, suffix, compress):
    words, table = glove
    plain = write_word2vec_text(tmp_path / "v.txt", words, table)
    packed = tmp_path / f"v.txt{suffix}"
    packed.write_bytes(compress(plain.read_bytes()))
    _, _, got_words, got, _ = read_all(packed)
    assert got_words == words and numpy.array_equal(got, table)


def test_compressed_binary_file(tmp_path, glove):
    words, table = glove
    plain = write_word2vec_binary(tmp_path / "v.bin", words, table)
    packed = tmp_path / "v.bin.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    info, _, got_words, got, _ = read_all(packed)
    assert info.format == "word2vec-binary"
    assert got_words == words and numpy.array_equal(got, table)


def test_words_may_contain_spaces_numbers_are_the_last_fields(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("3 2\na b 1 2\n. . . 3 4\nc 5 6\n", encoding="utf8")
    _, _, words, table, _ = read_all(path)
    assert words == ["a b", ". . .", "c"]
    assert table.tolist() == [[1, 2], [3, 4], [5, 6]]


def _file_with_bad_rows(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"5 3\n"
                     b"good 1 2 3\n"
                     b"short 1 2\n"           # line 3: too few fields
                     b"word 1 x 3\n"          # line 4: not a number
                     b"\xff\xfe 1 2 3\n"      # line 5: not UTF-8
                     b"inf 1 inf 3\n"         # line 6: not finite
                     b"last 4 5 6\n")
    return path


@pytest.mark.parametrize("line,fragment", [(3, "3 fields"), (4, "not a number: 'x'"),
                                           (5, "not UTF-8"), (6, "not finite")])
def test_a_bad_row_is_an_error_naming_file_and_line(tmp_path, line, fragment):
    path = _file_with_bad_rows(tmp_path)
    lines = path.read_bytes().split(b"\n")
    keep = [lines[0], lines[1], lines[line - 1], lines[6]]
    path.write_bytes(b"\n".join(keep) + b"\n")
    with pytest.raises(VectorFileError) as err:
        read_all(path)
    message = str(err.value)
    assert "[E080]" in message and str(path) in message and "line 3" in message
    assert fragment in message and "--skip-bad-lines" in message


def test_skip_bad_lines_counts_and_skips(tmp_path):
    path = _file_with_bad_rows(tmp_path)
    _, stats, words, table, lines = read_all(path, skip_bad_lines=True)
    assert words == ["good", "last"] and lines == [2, 7]
    assert table.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert stats.bad == 4 and sorted(line for line, _ in stats.bad_examples) == [3, 4, 5, 6]


def test_bad_binary_word_is_reported_by_record(tmp_path, glove):
    words, table = glove
    words = list(words[:5])
    path = write_word2vec_binary(tmp_path / "v.bin", words, table[:5])
    data = path.read_bytes().replace(b"\n" + words[2].encode() + b" ", b"\n\xff\xff ", 1)
    path.write_bytes(data)
    with pytest.raises(VectorFileError, match=r"record 3: the word is not UTF-8"):
        read_all(path)
    _, stats, got, _, _ = read_all(path, skip_bad_lines=True)
    assert got == words[:2] + words[3:] and stats.bad == 1


def test_a_cut_binary_file_is_an_error(tmp_path, glove):
    words, table = glove
    path = write_word2vec_binary(tmp_path / "v.bin", words[:5], table[:5])
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(VectorFileError, match=r"\[E085\].*cut short at record 5"):
        read_all(path)


def test_floret_text_needs_floret_mode_and_back(tmp_path):
    path = tmp_path / "v.floret"
    path.write_text("3 2 4 5 2 2166136261 < >\n0 1 2\n1 3 4\n2 5 6\n", encoding="utf8")
    with pytest.raises(VectorFileError, match=r"\[E083\].*--mode floret"):
        read_all(path)
    info, _, words, table, _ = read_all(path, mode="floret")
    assert info.format == "floret-text" and info.rows == 3 and info.dims == 2
    assert info.floret == {"minn": 4, "maxn": 5, "hash_count": 2, "hash_seed": 2166136261,
                           "bow": "<", "eow": ">"}
    assert words == ["0", "1", "2"] and table.tolist() == [[1, 2], [3, 4], [5, 6]]
    other = tmp_path / "v.txt"
    other.write_text("2 2\na 1 2\nb 3 4\n", encoding="utf8")
    with pytest.raises(VectorFileError, match=r"\[E083\].*no floret header"):
        read_all(other, mode="floret")


def test_floret_rows_must_come_in_bucket_order(tmp_path):
    path = tmp_path / "v.floret"
    path.write_text("2 1 4 5 1 0 < >\n1 1\n0 2\n", encoding="utf8")
    with pytest.raises(VectorFileError, match=r"line 2: bucket index '1', expected 0"):
        read_all(path, mode="floret")


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(VectorFileError, match=r"\[E082\]"):
        read_all(empty)
    with pytest.raises(VectorFileError, match=r"\[E081\].*missing.txt"):
        read_all(tmp_path / "missing.txt")


def test_remote_files_are_read_through_smart_open(tmp_path, glove):
    words, table = glove
    plain = write_word2vec_text(tmp_path / "v.txt", words, table)
    (tmp_path / "v.txt.gz").write_bytes(gzip.compress(plain.read_bytes()))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/v.txt.gz"
            _, _, got_words, got, _ = read_all(url)
        finally:
            server.shutdown()
    assert got_words == words and numpy.array_equal(got, table)


# --- the block parser (Arrow) and the line-by-line path give float32(float(text)) --------

TRICKY = ["0.1", "-0.41242", "1e-5", "-3.4E+2", "123456789", "3.4028235e38",
          "1.4e-45", "-0", "0.000000000000000000000000000000000000000001",
          # just above a float32 midpoint: float32(float(x)) rounds twice, to 1.0, where
          # one correct rounding to float32 gives 1.0000001
          "1.00000005960464477539062500001", "0.333333333333333333333"]


def _tricky_rows(n_rows, dims=10, seed=0):
    rng = numpy.random.default_rng(seed)
    rows = []
    for i in range(n_rows):
        values = [TRICKY[(i + j) % len(TRICKY)] if j % 3 == 0 else
                  repr(float(rng.standard_normal() * 10.0 ** rng.integers(-8, 8)))
                  for j in range(dims)]
        rows.append((f"w{i}", values))
    return rows


@pytest.mark.parametrize("blank_line", [False, True], ids=["blocks", "line-by-line"])
def test_every_value_is_float32_of_the_python_float(tmp_path, blank_line):
    rows = _tricky_rows(3000)
    text = "".join(f"{w} {' '.join(v)}\n" for w, v in rows)
    if blank_line:  # Arrow skips blank lines, so their block is read line by line
        first, rest = text.split("\n", 1)
        text = first + "\n\n" + rest
    path = tmp_path / "tricky.txt"
    path.write_text(text, encoding="utf8")
    _, _, words, table, lines = read_all(path)
    expected = numpy.array([[numpy.float32(float(x)) for x in v] for _, v in rows])
    assert words == [w for w, _ in rows]
    assert table.dtype == numpy.float32
    assert numpy.array_equal(table.view(numpy.uint32), expected.view(numpy.uint32))
    assert lines == [1] + list(range(2 + blank_line, len(rows) + 1 + blank_line))


def test_a_bad_row_deep_in_a_large_file_is_found_by_its_line(tmp_path):
    words, table = glove_table(6000)   # ~2.5 MB: several blocks
    path = write_glove(tmp_path / "glove.txt", words, table)
    lines = path.read_bytes().split(b"\n")
    lines[4321] = lines[4321].replace(b" ", b" x", 1)    # line 4322: a field "x0.123"
    lines[5000] = b"two words " + lines[5000]             # line 5001: a word with a space
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(VectorFileError) as err:
        read_all(path)
    assert "line 4322" in str(err.value)
    _, stats, got_words, got, got_lines = read_all(path, skip_bad_lines=True)
    assert stats.bad == 1 and stats.bad_examples[0][0] == 4322
    keep = [i for i in range(6000) if i != 4321]
    assert got_words[4321] == words[4322] and got_words[4999] == "two words " + words[5000]
    assert got_lines == [i + 1 for i in keep]
    assert numpy.array_equal(got, table[keep])
