"""The vector-conversion job on word2vec binary and floret files, and its header checks:
the same output (or the same error) as `init vectors` on the same file."""
import struct
from pathlib import Path

import numpy
import pyarrow.parquet as pq
import pytest
from shared_data import shared_path
from vector_files import glove_table, write_word2vec_binary

from beam_jobs import convert_vectors
from nlp_core.cli.init_vectors import init_vectors
from nlp_core.vectors_reading import VectorFileError

FILES = ["config.cfg", "meta.json", "tokenizer", "vocab/vectors", "vocab/key2row",
         "vocab/vectors.cfg", "vocab/strings.json"]


def _init(tmp_path: Path, path: Path, **options) -> Path:
    out = tmp_path / "init"
    init_vectors("en", str(path), out, progress=False, **options)
    return out


def _run(tmp_path: Path, pattern, *args, name="job", **kwargs):
    out = tmp_path / name
    summary = convert_vectors.run(["--input", str(pattern), "--output", str(out), *args],
                                  **kwargs)
    return out, summary


def _assert_same(job: Path, init: Path, files=FILES):
    for name in files:
        assert (job / name).read_bytes() == (init / name).read_bytes(), name
    assert (job / "_SUCCESS").exists()


def _reconciles(summary):
    c = summary["counts"]
    assert summary["reconciled"]
    assert c["lines_read"] == (c["rows_kept"] + c["rows_remapped"] + c["dead_lettered"]
                               + c["duplicate_keys"] + c["truncated"])


def _binary(tmp_path: Path, n: int = 3000, name: str = "glove.bin", **kwargs) -> Path:
    words, table = glove_table(n)
    return write_word2vec_binary(tmp_path / name, words, table, **kwargs)


# --- word2vec binary ----------------------------------------------------------------------

@pytest.mark.parametrize("prune", [0, 400])
def test_word2vec_binary_equals_init_vectors(tmp_path, prune):
    path = _binary(tmp_path)
    options = {"prune": prune} if prune else {}
    init = _init(tmp_path, path, **options)
    out, summary = _run(tmp_path, path, *(["--prune", str(prune)] if prune else []))
    _assert_same(out, init)
    if prune:
        assert (out / "prune_report.json").read_bytes() == \
            (init / "prune_report.json").read_bytes()
    _reconciles(summary)
    assert summary["input_format"] == "word2vec-binary"
    assert summary["counts"]["rows_kept"] == (prune or 3000)
    assert summary["header_rows"] == [{"source": str(path), "declared": 3000,
                                       "lines_read": 3000}]


def test_word2vec_binary_without_newlines_and_in_two_files(tmp_path):
    words, table = glove_table(1000)
    whole = write_word2vec_binary(tmp_path / "whole.bin", words, table, newlines=False)
    parts = tmp_path / "parts"
    parts.mkdir()
    write_word2vec_binary(parts / "a.bin", words[:600], table[:600], newlines=False)
    write_word2vec_binary(parts / "b.bin", words[600:], table[600:], newlines=False)
    init = _init(tmp_path, whole, prune=100)
    out, summary = _run(tmp_path, parts / "*.bin", "--prune", "100")
    _assert_same(out, init)
    assert summary["input_files"] == 2 and summary["counts"]["rows_remapped"] == 900


def _bad_binary(tmp_path: Path) -> tuple:
    """A binary file with bad records planted: {record number: error_type}."""
    words, table = glove_table(500)
    row = struct.Struct("<50f")
    records, bad = [], {}
    for i, (word, vector) in enumerate(zip(words, table)):
        records.append(word.encode() + b" " + row.pack(*vector.tolist()) + b"\n")
        if i in (10, 200):
            records.append(b"\xff\xfe" + b" " + row.pack(*vector.tolist()) + b"\n")
            bad[len(records)] = "not_utf8"
        if i == 300:
            records.append(b"nanword " + row.pack(*([float("nan")] * 50)) + b"\n")
            bad[len(records)] = "not_finite"
    path = tmp_path / "bad.bin"
    path.write_bytes(f"{len(records)} 50\n".encode() + b"".join(records))
    return path, bad, records


def test_bad_binary_records_are_dead_lettered_with_record_and_offset(tmp_path):
    path, bad, records = _bad_binary(tmp_path)
    init = _init(tmp_path, path, prune=100, skip_bad_lines=True)
    out, summary = _run(tmp_path, path, "--prune", "100", "--skip-bad-lines")
    _assert_same(out, init)
    _reconciles(summary)
    assert summary["counts"]["lines_read"] == len(records)
    assert summary["counts"]["dead_lettered"] == len(bad)
    rows = pq.read_table(out / "vector_dead_letter").to_pylist()
    assert {row["line"]: row["error_type"] for row in rows} == bad
    data = path.read_bytes()
    for row in rows:
        assert data[row["offset"]:].startswith(records[row["line"] - 1])


def test_bad_binary_records_fail_the_run_without_skip_bad_lines(tmp_path):
    path, _, _ = _bad_binary(tmp_path)
    with pytest.raises(ValueError, match=r"3 bad line\(s\).*record 12.*--skip-bad-lines"):
        _run(tmp_path, path)


def test_a_binary_file_cut_short_keeps_the_records_before_it(tmp_path):
    path = _binary(tmp_path, 300)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - 100])  # the last record loses 100 of its bytes
    with pytest.raises(VectorFileError, match="E085"):
        _init(tmp_path, path)
    with pytest.raises(ValueError, match="1 bad line.*cut short"):
        _run(tmp_path, path)
    out, summary = _run(tmp_path, path, "--skip-bad-lines", "--truncate", "299",
                        name="skipped")
    # the header's 300 rows are not checked once --truncate stops the table
    _reconciles(summary)
    assert summary["counts"]["rows_kept"] == 299
    assert summary["counts"]["dead_letter_by_reason"] == {"truncated_file": 1}
    letter = pq.read_table(out / "vector_dead_letter").to_pylist()[0]
    words, _ = glove_table(299)  # the 300th record starts after the header and 299 more
    assert letter["offset"] == len(b"300 50\n") + sum(len(w.encode()) + 202 for w in words)


# --- header row counts (E086) ---------------------------------------------------------------

@pytest.mark.parametrize("declared", [1990, 2010])
def test_a_header_row_count_that_disagrees_fails_as_in_init_vectors(tmp_path, declared):
    lines = shared_path("interop", "vectors-small.txt").read_bytes().split(b"\n")
    lines[0] = f"{declared} 50".encode()
    path = tmp_path / "wrong.txt"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(VectorFileError) as expected:
        _init(tmp_path, path)
    assert "[E086]" in str(expected.value)
    with pytest.raises(ValueError) as got:
        _run(tmp_path, path, desired_bundle_size=20_000)
    assert str(got.value).startswith(str(expected.value))
    assert "--output was left as it was" in str(got.value)
    assert not (tmp_path / "job" / "vocab").exists()
    # --truncate stops reading before the end: no check, as in init vectors
    init = _init(tmp_path, path, truncate=100)
    out, _ = _run(tmp_path, path, "--truncate", "100", name="truncated")
    _assert_same(out, init)


def test_a_binary_header_row_count_that_disagrees_fails(tmp_path):
    path = _binary(tmp_path, 200)
    data = path.read_bytes()
    path.write_bytes(b"201" + data[3:])
    with pytest.raises(ValueError, match=r"\[E086\].*says 201 rows but 200 follow"):
        _run(tmp_path, path)


# --- floret ---------------------------------------------------------------------------------

def _floret(tmp_path: Path, rows: int = 3000, dims: int = 20, lines=None) -> Path:
    rng = numpy.random.default_rng(0)
    table = rng.normal(size=(rows, dims)).astype(numpy.float32)
    body = lines if lines is not None else [
        f"{i} " + " ".join(f"{v:.6g}" for v in row) for i, row in enumerate(table)]
    path = tmp_path / "table.floret"
    path.write_text(f"{len(body)} {dims} 4 5 2 2166136261 < >\n" + "\n".join(body) + "\n",
                    encoding="utf8")
    return path


def test_floret_equals_init_vectors_in_many_ranges(tmp_path):
    path = _floret(tmp_path)
    init = _init(tmp_path, path, mode="floret")
    out, summary = _run(tmp_path, path, "--mode", "floret", desired_bundle_size=20_000)
    _assert_same(out, init)
    _reconciles(summary)
    assert summary["input_format"] == "floret-text"
    assert (summary["counts"]["rows_kept"], summary["counts"]["keys"]) == (3000, 0)


def test_floret_rows_out_of_order_fail_as_in_init_vectors(tmp_path):
    lines = [f"{i} 0.5 0.25" for i in range(50)]
    lines[20], lines[21] = lines[21], lines[20]
    path = _floret(tmp_path, dims=2, lines=lines)
    with pytest.raises(VectorFileError, match=r"line 22: bucket index '21', expected 20"):
        _init(tmp_path, path, mode="floret")
    with pytest.raises(ValueError, match=r"\[E080\].*row 21: bucket index '21', expected 20"):
        _run(tmp_path, path, "--mode", "floret")


@pytest.mark.parametrize("option", [("--prune", "2"), ("--truncate", "2"),
                                    ("--skip-bad-lines",)])
def test_row_options_do_not_apply_in_floret_mode(tmp_path, option):
    path = _floret(tmp_path, rows=10)
    with pytest.raises(ValueError, match=r"\[E084\].*does not apply in floret mode"):
        _run(tmp_path, path, "--mode", "floret", *option)
    assert not (tmp_path / "job").exists()


def test_a_floret_file_needs_floret_mode_and_the_other_way_round(tmp_path):
    path = _floret(tmp_path, rows=10)
    with pytest.raises(ValueError, match=r"\[E083\].*--mode floret"):
        _run(tmp_path, path)
    plain = shared_path("interop", "vectors-small.txt")
    with pytest.raises(ValueError, match=r"\[E083\].*no floret header"):
        _run(tmp_path, plain, "--mode", "floret")


# --- GloVe 400k as word2vec binary (slow) ---------------------------------------------------

@pytest.mark.slow  # GloVe 400k written as binary, converted by init vectors and twice here
def test_glove_400k_word2vec_binary_equals_init_vectors(tmp_path, worker_pythonpath):
    words, table = glove_table()
    path = write_word2vec_binary(tmp_path / "glove.bin", words, table)
    del words, table
    init = _init(tmp_path, path, prune=20000, attr="LOWER")
    for name, runner in (("memory", ["--runner=FnApiRunner"]),
                         ("mp2", ["--direct_running_mode=multi_processing",
                                  "--direct_num_workers=2"])):
        out, summary = _run(tmp_path, path, "--prune", "20000", "--attr", "LOWER", *runner,
                            name=name)
        _assert_same(out, init, FILES + ["prune_report.json"])
        _reconciles(summary)
        assert summary["counts"]["rows_remapped"] == 380_000
        assert summary["peak_rss_mb"]["workers"]


# --- planted bad lines of every kind -----------------------------------------------------------

def test_every_planted_bad_line_is_dead_lettered_and_the_counts_reconcile(tmp_path):
    """Short rows, non-numbers (invalid UTF-8 among the numbers too), invalid UTF-8 words,
    a line longer than any row and blank lines, spread over a file read in many ranges."""
    lines = shared_path("interop", "vectors-small.txt").read_bytes().split(b"\n")[1:2001]
    planted = {  # index in the final list -> error_type
        1: (b"short 0.1", "too_few_fields"),
        333: (b"x " + b" ".join([b"0.5"] * 49) + b" \xff\xfe", "not_a_number"),
        700: (b"\xc3\x28word " + b" ".join([b"0.5"] * 50), "not_utf8"),
        1200: (b"long " + b"1" * 70_000, "line_too_long"),
        1500: (b"word " + b" ".join([b"abc"] * 50), "not_a_number"),
        2004: (b"tail", "too_few_fields"),
    }
    for index in sorted(planted):
        lines.insert(index, planted[index][0])
    lines.insert(900, b"")  # blank: neither a row nor a bad line
    path = tmp_path / "planted.txt"
    path.write_bytes(b"\n".join(lines) + b"\n")
    init = _init(tmp_path, path, prune=300, skip_bad_lines=True)
    out, summary = _run(tmp_path, path, "--prune", "300", "--skip-bad-lines",
                        desired_bundle_size=20_000)
    _assert_same(out, init)
    _reconciles(summary)
    counts = summary["counts"]
    assert (counts["lines_read"], counts["dead_lettered"], counts["blank_lines"]) == (
        2000 + len(planted), len(planted), 1)
    rows = pq.read_table(out / "vector_dead_letter").to_pylist()
    data = path.read_bytes()
    found = sorted((row["offset"], row["error_type"]) for row in rows)
    expected = sorted((data.index(b"\n" + line[:40]) + 1, kind)
                      for line, kind in planted.values())
    assert found == expected


def test_a_file_of_bad_lines_only_fails_naming_it(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"3 2\nw nan nan\nc\nd 1\n")  # word2vec text of width 2, every row bad
    with pytest.raises(ValueError, match=r"\[E082\].*none of its 3 lines is a good row"):
        _run(tmp_path, path, "--skip-bad-lines")
    assert not (tmp_path / "job" / "vocab").exists()
