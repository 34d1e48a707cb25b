"""The vector-conversion job writes what `init vectors` writes, byte for byte, whatever
the split, the runner or the number of files; bad lines are dead-lettered and counted."""
import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from beam_jobs import convert_vectors
from beam_jobs.vector_rows import VectorLinesSource
from nlp_core.cli.init_vectors import init_vectors

SMALL = Path(__file__).resolve().parents[3] / "shared" / "data" / "interop" / "vectors-small.txt"
FILES = ["config.cfg", "meta.json", "tokenizer", "vocab/vectors", "vocab/key2row",
         "vocab/vectors.cfg", "vocab/strings.json"]
SMALL_BUNDLE = 20_000  # bytes: vectors-small.txt (~1 MB) is read in ~50 ranges


def _init(tmp_path: Path, path: Path, **options) -> Path:
    out = tmp_path / "init"
    init_vectors("en", str(path), out, progress=False, **options)
    return out


def _run(tmp_path: Path, pattern, *args, name="job", **kwargs):
    out = tmp_path / name
    summary = convert_vectors.run(["--input", str(pattern), "--output", str(out), *args],
                                  **kwargs)
    return out, summary


def _assert_same(job: Path, init: Path, *, report=False, report_source=True):
    for name in FILES:
        assert (job / name).read_bytes() == (init / name).read_bytes(), name
    if report:
        ours = json.loads((job / "prune_report.json").read_text())
        theirs = json.loads((init / "prune_report.json").read_text())
        if not report_source:
            ours.pop("source"), theirs.pop("source")
        assert ours == theirs
    else:
        assert not (job / "prune_report.json").exists()
    assert (job / "_SUCCESS").exists()


def _reconciles(summary):
    c = summary["counts"]
    assert summary["reconciled"]
    assert c["lines_read"] == (c["rows_kept"] + c["rows_remapped"] + c["dead_lettered"]
                               + c["duplicate_keys"] + c["truncated"])


def test_source_splits_the_file_into_ranges():
    source = VectorLinesSource(str(SMALL), [str(SMALL)], header=True, dims=50,
                               desired_bundle_size=SMALL_BUNDLE)
    assert len(list(source.split())) > 20


def test_plain_equals_init_vectors_in_many_ranges(tmp_path):
    init = _init(tmp_path, SMALL)
    out, summary = _run(tmp_path, SMALL, desired_bundle_size=SMALL_BUNDLE)
    _assert_same(out, init)
    _reconciles(summary)
    assert summary["counts"]["rows_kept"] == 2000
    assert summary["input_format"] == "word2vec-text"


def test_prune_500_equals_init_vectors_in_many_ranges(tmp_path):
    init = _init(tmp_path, SMALL, prune=500)
    out, summary = _run(tmp_path, SMALL, "--prune", "500", desired_bundle_size=SMALL_BUNDLE)
    _assert_same(out, init, report=True)
    _reconciles(summary)
    assert (summary["counts"]["rows_kept"], summary["counts"]["rows_remapped"]) == (500, 1500)


def test_truncate_equals_init_vectors(tmp_path):
    init = _init(tmp_path, SMALL, truncate=300, attr="LOWER", name="small")
    out, summary = _run(tmp_path, SMALL, "--truncate", "300", "--attr", "LOWER",
                        "--name", "small", desired_bundle_size=SMALL_BUNDLE)
    _assert_same(out, init)
    _reconciles(summary)
    assert summary["counts"]["truncated"] == 1700


def _glove_lines(n=600):
    lines = SMALL.read_bytes().split(b"\n")[1:n + 1]
    lines.insert(70, lines[20])  # a repeated word: the first occurrence wins
    lines.insert(400, lines[100].split(b" ", 1)[0] + b" " + lines[5].split(b" ", 1)[1])
    return lines


def test_glove_in_several_files_with_repeats_equals_one_file(tmp_path):
    lines = _glove_lines()
    whole = tmp_path / "glove.txt"
    whole.write_bytes(b"\n".join(lines) + b"\n")
    parts = tmp_path / "parts"
    parts.mkdir()
    for i, start in enumerate(range(0, len(lines), 250)):
        (parts / f"part-{i}.txt").write_bytes(b"\n".join(lines[start:start + 250]) + b"\n")
    init = _init(tmp_path, whole, prune=100)
    out, summary = _run(tmp_path, parts / "part-*.txt", "--prune", "100",
                        desired_bundle_size=SMALL_BUNDLE)
    _assert_same(out, init, report=True, report_source=False)
    _reconciles(summary)
    assert summary["input_format"] == "glove-text"
    assert summary["counts"]["duplicate_keys"] == 2


def test_gzip_input_is_read_whole(tmp_path):
    compressed = tmp_path / "small.txt.gz"
    compressed.write_bytes(gzip.compress(SMALL.read_bytes()))
    init = _init(tmp_path, SMALL, prune=200)
    out, summary = _run(tmp_path, compressed, "--prune", "200")
    _assert_same(out, init, report=True, report_source=False)
    _reconciles(summary)


BAD = {  # line number (1-based, after the header) -> (the line, its error_type)
    5: (b"short 0.1 0.2", "too_few_fields"),
    9: (b"nan_row " + b" ".join([b"nan"] * 50), "not_finite"),
    12: (b"word " + b" ".join([b"0.5"] * 49) + b" x1", "not_a_number"),
    300: (b"\xff\xfebad " + b" ".join([b"0.5"] * 50), "not_utf8"),
    1500: (b" " + b" ".join([b"0.5"] * 50), "no_word"),
}


def _with_bad_lines(tmp_path: Path) -> Path:
    lines = SMALL.read_bytes().split(b"\n")
    for number in sorted(BAD):
        lines.insert(number - 1, BAD[number][0])
    lines[0] = f"{2000 + len(BAD)} 50".encode()
    path = tmp_path / "bad.txt"
    path.write_bytes(b"\n".join(lines))
    return path


def test_bad_lines_are_dead_lettered_with_file_and_line(tmp_path):
    path = _with_bad_lines(tmp_path)
    init = _init(tmp_path, path, prune=500, skip_bad_lines=True)
    out, summary = _run(tmp_path, path, "--prune", "500", "--skip-bad-lines",
                        desired_bundle_size=SMALL_BUNDLE)
    _assert_same(out, init, report=True)
    _reconciles(summary)
    counts = summary["counts"]
    assert counts["dead_lettered"] == len(BAD)
    assert counts["lines_read"] == 2000 + len(BAD)
    rows = pq.read_table(out / "vector_dead_letter").to_pylist()
    found = {row["line"]: row["error_type"] for row in rows}
    assert found == {line: kind for line, (_, kind) in BAD.items()}
    assert {row["source"] for row in rows} == {str(path)}
    data = path.read_bytes()
    for row in rows:
        assert data[row["offset"]:].startswith(BAD[row["line"]][0])


def test_bad_lines_fail_the_run_without_skip_bad_lines(tmp_path):
    path = _with_bad_lines(tmp_path)
    with pytest.raises(ValueError, match=r"5 bad line\(s\).*line 5 .*--skip-bad-lines"):
        _run(tmp_path, path)
    assert not (tmp_path / "job").exists() or not any((tmp_path / "job").iterdir())


def test_an_output_with_a_run_needs_overwrite(tmp_path):
    out, _ = _run(tmp_path, SMALL, "--truncate", "100")
    with pytest.raises(ValueError, match="--overwrite"):
        _run(tmp_path, SMALL)
    assert json.loads((out / "meta.json").read_text())["vectors"]["vectors"] == 100
    _, summary = _run(tmp_path, SMALL, "--truncate", "200", "--overwrite")
    assert json.loads((out / "meta.json").read_text())["vectors"]["vectors"] == 200
    assert summary["counts"]["rows_kept"] == 200
    assert not list(tmp_path.glob("job.tmp-*"))


def test_options_are_checked_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="--prune must be at least 0"):
        _run(tmp_path, SMALL, "--prune", "-1")
    with pytest.raises(ValueError, match="Unknown option.*--bogus"):
        _run(tmp_path, SMALL, "--bogus=1")
    with pytest.raises(ValueError, match="matches no non-empty file"):
        _run(tmp_path, tmp_path / "missing-*.txt")
    assert not (tmp_path / "job").exists()


def test_main_help_and_errors(capsys, tmp_path):
    assert convert_vectors.main(["--help"]) == 0
    assert "--prune" in capsys.readouterr().out
    assert convert_vectors.main(["--input", str(tmp_path / "none.txt"),
                                 "--output", str(tmp_path / "o")]) == 2
    assert "--input" in capsys.readouterr().err


def test_ctrl_c_exits_130_with_one_line_and_no_debris(capsys, tmp_path, monkeypatch):
    def interrupted(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr(convert_vectors, "_run_staged", interrupted)
    assert convert_vectors.main(["--input", str(SMALL), "--output",
                                 str(tmp_path / "out")]) == 130
    assert capsys.readouterr().err.strip().count("\n") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no staging area, no lock


@pytest.mark.slow
def test_multi_processing_equals_init_vectors(tmp_path, worker_pythonpath):
    init = _init(tmp_path, SMALL, prune=500)
    out, summary = _run(tmp_path, SMALL, "--prune", "500",
                        "--direct_running_mode=multi_processing", "--direct_num_workers=2",
                        desired_bundle_size=SMALL_BUNDLE)
    _assert_same(out, init, report=True)
    _reconciles(summary)


@pytest.mark.slow
def test_glove_400k_prune_20000_equals_init_vectors(tmp_path, worker_pythonpath):
    from vector_files import glove_table, write_glove  # (tests/ helper; the package is big)

    words, table = glove_table()
    path = write_glove(tmp_path / "glove.txt", words, table)
    del words, table
    init = _init(tmp_path, path, prune=20000, attr="LOWER")
    for name, runner in (("memory", ["--runner=FnApiRunner"]),
                         ("mp2", ["--direct_running_mode=multi_processing",
                                  "--direct_num_workers=2"])):
        out, summary = _run(tmp_path, path, "--prune", "20000", "--attr", "LOWER", *runner,
                            name=name)
        _assert_same(out, init, report=True)
        _reconciles(summary)
        assert summary["counts"]["rows_remapped"] == 380_000
        assert summary["peak_rss_mb"]["launcher"] > 0 and summary["peak_rss_mb"]["workers"]
