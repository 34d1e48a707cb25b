"""--max-line-bytes: a JSONL line longer than the limit is dead-lettered as line_too_long
without ever being held in memory whole (a 200 MB line costs the reader a few MB, and the
whole job no more peak memory than a small input)."""
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from apache_beam.io.range_trackers import OffsetRangeTracker

from beam_jobs import annotate
from beam_jobs.io import JsonlSource
from beam_jobs.records import CheckOptions

REPO_ROOT = Path(__file__).resolve().parents[2]
LINE_MB = 200


def _write_long_line_file(path: Path, n_bytes: int) -> None:
    """{"text": "xxx...x"} of n_bytes bytes between two good records."""
    with open(path, "wb") as file_:
        file_.write(b'{"id": "a", "text": "before"}\n{"id": "long", "text": "')
        block = b"x" * (1 << 20)
        for _ in range(n_bytes >> 20):
            file_.write(block)
        file_.write(b'"}\n{"id": "b", "text": "after"}\n')


def test_the_flag_sets_the_limit_and_the_default_follows_max_chars():
    assert CheckOptions(max_chars=1000).max_line_bytes == 12 * 1000 + (1 << 20)
    assert CheckOptions(max_chars=1000, line_limit=5000).max_line_bytes == 5000
    with pytest.raises(ValueError, match="--max-line-bytes must be at least 1"):
        annotate.plan(["--input", "x", "--output", "y", "--model", "blank:en",
                       "--max-line-bytes", "0"])


def test_a_line_over_max_line_bytes_is_a_dead_letter(tmp_path, read_table):
    long_text = "word " * 1000
    records = [{"id": "short", "text": "A short one."}, {"id": "long", "text": long_text}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    argv = ["--input", str(tmp_path / "in.jsonl"), "--model", "blank:en",
            "--runner=FnApiRunner"]
    summary = annotate.run(argv + ["--output", str(tmp_path / "capped"),
                                   "--max-line-bytes", "1000"])
    assert summary["counts"]["dead_letter_by_reason"] == {"line_too_long": 1}
    assert summary["options"]["max_line_bytes"] == 1000
    _, dead = read_table(tmp_path / "capped", "dead_letter")
    assert dead[0]["line"] == 2 and "--max-line-bytes=1000" in dead[0]["message"]
    assert dead[0]["raw_bytes"] == len(json.dumps(records[1])) + 1
    # without the flag the limit is what --max-chars implies: the line is read and checked
    summary = annotate.run(argv + ["--output", str(tmp_path / "default"), "--max-chars",
                                   "4000"])
    assert summary["counts"]["dead_letter_by_reason"] == {"text_too_long": 1}


def test_a_200_mb_line_is_never_held_whole(tmp_path):
    path = tmp_path / "long.jsonl"
    _write_long_line_file(path, LINE_MB << 20)
    source = JsonlSource(str(path), CheckOptions(line_limit=1 << 20).max_line_bytes)
    tracker = OffsetRangeTracker(0, path.stat().st_size)
    tracemalloc.start()
    try:
        chunks = list(source.read_records(str(path), tracker))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    letters = [item for c in chunks if c.kind == "dead" for item in c.items]
    ids = [json.loads(item.payload)["id"] for c in chunks if c.kind == "jsonl"
           for item in c.items]
    assert ids == ["a", "b"]
    assert [d.error_type for d in letters] == ["line_too_long"]
    assert letters[0].raw_bytes > LINE_MB << 20
    assert peak < 8 << 20, f"reading a {LINE_MB} MB line peaked at {peak >> 20} MiB"


def _job_peak_rss_kib(argv) -> int:
    """Peak RSS of one run of the job in a process of its own (wait4: this child's alone)."""
    process = subprocess.Popen([sys.executable, "-m", "beam_jobs.annotate", *argv],
                               cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    out, err = process.communicate()
    assert process.returncode == 0, err.decode()[-2000:]
    return usage.ru_maxrss


@pytest.mark.slow  # two runs of the job in subprocesses: about 15 s
def test_the_job_reads_a_200_mb_line_in_bounded_memory(tmp_path):
    _write_long_line_file(tmp_path / "long.jsonl", LINE_MB << 20)
    (tmp_path / "small.jsonl").write_text('{"text": "before"}\n{"text": "after"}\n')
    common = ["--model", "blank:en", "--runner=FnApiRunner", "--max-line-bytes", "1000000"]
    small = _job_peak_rss_kib(["--input", str(tmp_path / "small.jsonl"), "--output",
                               str(tmp_path / "out_small"), *common])
    long = _job_peak_rss_kib(["--input", str(tmp_path / "long.jsonl"), "--output",
                              str(tmp_path / "out_long"), *common])
    assert long - small < 64 << 10, f"peak RSS {small} KiB -> {long} KiB with a 200 MB line"
