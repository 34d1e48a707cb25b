"""Fixtures for the Beam job tests: a small corpus with every kind of bad record, and a
helper that runs the annotate job and reads its outputs back."""
import gzip
import json
import os
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# beam_jobs is a top-level package beside nlp_core; make sure it (not this test folder of the
# same name) is what `import beam_jobs` finds, here and in worker processes Beam starts.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

MAX_CHARS = 200

GOOD_PLAIN = [
    {"id": "doc-1", "text": "Hello world. This is a test."},
    {"text": "Mr. Smith didn't pay $3.50 for https://example.com :)"},
    {"id": 42, "text": "Integer ids become strings.", "meta": {"k": 1}},
    {"text": "Zoë's café — naïve 😀 emoji\u2028and a line separator."},
]
GOOD_GZ = [
    {"text": "From a gzip file.", "extra": [1, 2]},
    {"id": "doc-2", "text": "Second  doc   with  odd\tspacing "},
]
# (raw line, error_type); each line is written as given (bytes where not UTF-8)
BAD_PLAIN = [
    (b'{"text": "bad \xff bytes"}', "not_utf8"),
    (b"{not json", "bad_json"),
    (b"[1, 2]", "not_an_object"),
    (b'{"id": "x1"}', "missing_text"),
    (b'{"text": 5}', "text_not_string"),
    (b'{"text": "   "}', "empty_text"),
    (json.dumps({"text": "a" * (MAX_CHARS + 1)}).encode(), "text_too_long"),
    (b'{"id": true, "text": "t"}', "bad_id"),
    (b'{"id": null, "text": "t"}', "bad_id"),
    (b'{"text": "t", "meta": [1]}', "bad_meta"),
]
BAD_GZ = [
    (json.dumps({"id": "doc-1", "text": "A second record with id doc-1."}).encode(),
     "duplicate_id"),
]


def _jsonl_lines(records):
    return [json.dumps(r, ensure_ascii=False).encode("utf8") for r in records]


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """Two JSONL files (plain with CRLF and blank lines, gzip) -> dict with the glob and what
    the job must make of them."""
    root = tmp_path_factory.mktemp("corpus")
    plain = _jsonl_lines(GOOD_PLAIN[:2]) + [b""] + [raw for raw, _ in BAD_PLAIN] \
        + _jsonl_lines(GOOD_PLAIN[2:])
    (root / "a.jsonl").write_bytes(b"\r\n".join(plain[:3]) + b"\r\n" + b"\n".join(plain[3:]))
    with gzip.open(root / "b.jsonl.gz", "wb") as file_:
        file_.write(b"\n".join(_jsonl_lines(GOOD_GZ) + [raw for raw, _ in BAD_GZ]) + b"\n\n")
    return {
        "glob": str(root / "*.jsonl*"),
        "texts": [r["text"] for r in GOOD_PLAIN + GOOD_GZ],
        "bad": sorted(t for _, t in BAD_PLAIN + BAD_GZ),
        "n_read": len(GOOD_PLAIN) + len(GOOD_GZ) + len(BAD_PLAIN) + len(BAD_GZ),
        "root": root,
        "max_chars": MAX_CHARS,
    }


def _read_table(output: Path, table: str):
    files = sorted((output / table).glob("part-*.parquet"))
    assert files, f"no {table} files in {output}"
    rows = [row for f in files for row in pq.read_table(f).to_pylist()]
    return files, sorted(rows, key=lambda r: (r["source"], r["offset"]))


@pytest.fixture(scope="session")
def read_table():
    """read_table(output_dir, table) -> (Parquet files, rows sorted by (source, offset))."""
    return _read_table


@pytest.fixture
def job_args(corpus):
    def make(output, *extra):
        return ["--input", corpus["glob"], "--output", str(output), "--model", "blank:en",
                "--max-chars", str(MAX_CHARS), "--runner=FnApiRunner", *extra]

    return make


@pytest.fixture
def worker_pythonpath(monkeypatch):
    """Worker processes Beam starts must import beam_jobs from this checkout."""
    path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
    monkeypatch.setenv("PYTHONPATH", path)
