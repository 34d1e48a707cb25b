"""Reading JSONL by byte ranges: however a file is split, every record is read exactly once,
at the byte offset where its line starts, with its line number; compressed files are read
whole; formats are chosen by extension."""
import bz2
import gzip

import pytest

from beam_jobs import io
from beam_jobs.io import JsonlSource, resolve_format

LINES = [b'{"text": "one"}', b"", b'{"text": "two \xc3\xa9"}', b"   ", b'{"text": "three"}',
         b'{"text": "' + b"x" * 50 + b'"}', b'{"text": "last, no newline"}']


def _file_bytes(endings=b"\n"):
    return io.UTF8_BOM + endings.join(LINES)


def _expected(data, endings=b"\n"):
    """(offset, line, payload) of each non-blank line, computed from the bytes."""
    out, offset = [], 0
    for number, line in enumerate(LINES, start=1):
        if line.strip():
            out.append((offset, number, line))
        offset += len(line) + len(endings) + (len(io.UTF8_BOM) if number == 1 else 0)
    return out


def _read(source, desired_bundle_size):
    items, blank = [], 0
    for bundle in source.split(desired_bundle_size):
        tracker = bundle.source.get_range_tracker(bundle.start_position, bundle.stop_position)
        for chunk in bundle.source.read(tracker):
            items += [tuple(item) for item in chunk.items]
            blank += chunk.n_blank
    return items, blank


@pytest.mark.parametrize("endings", [b"\n", b"\r\n"])
@pytest.mark.parametrize("bundle_size", [1, 7, 16, 33, 1 << 20])
def test_any_split_reads_each_record_once_with_offset_and_line(tmp_path, endings, bundle_size):
    path = tmp_path / "c.jsonl"
    path.write_bytes(_file_bytes(endings))
    items, blank = _read(JsonlSource(str(path)), bundle_size)
    assert sorted(items) == _expected(path.read_bytes(), endings)
    assert blank == 2


def test_line_numbers_are_left_out_far_into_big_files(tmp_path, monkeypatch):
    monkeypatch.setattr(io, "LINE_COUNT_LIMIT", 40)
    path = tmp_path / "c.jsonl"
    path.write_bytes(_file_bytes())
    items, _ = _read(JsonlSource(str(path)), 45)
    expected = _expected(path.read_bytes())
    assert sorted((offset, payload) for offset, _, payload in items) \
        == [(offset, payload) for offset, _, payload in expected]
    lines = {offset: line for offset, line, _ in items}
    assert all(lines[o] == n for o, n, _ in expected if o < 45)
    assert any(lines[o] is None for o, _, _ in expected if o >= 45)


@pytest.mark.parametrize("suffix, opener", [(".jsonl.gz", gzip.open), (".jsonl.bz2", bz2.open)])
def test_compressed_files_are_read_whole(tmp_path, suffix, opener):
    path = tmp_path / f"c{suffix}"
    data = _file_bytes()
    with opener(path, "wb") as file_:
        file_.write(data)
    items, blank = _read(JsonlSource(str(path)), 8)
    assert sorted(items) == _expected(data) and blank == 2


def test_format_by_extension():
    assert resolve_format("auto", ["a.jsonl", "b.jsonl.gz", "c.txt"]) == "jsonl"
    assert resolve_format("auto", ["a.spacy", "B.SPACY"]) == "spacy"
    assert resolve_format("jsonl", ["a.spacy"]) == "jsonl"
    with pytest.raises(ValueError, match="both .spacy files"):
        resolve_format("auto", ["a.spacy", "b.jsonl"])


def test_a_dynamic_split_while_reading_loses_and_repeats_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(io, "CHUNK_LINES", 1)
    path = tmp_path / "c.jsonl"
    path.write_bytes(_file_bytes())
    source = JsonlSource(str(path))
    (bundle,) = list(source.split(1 << 20))
    tracker = bundle.source.get_range_tracker(bundle.start_position, bundle.stop_position)
    reader = bundle.source.read(tracker)
    items = [tuple(i) for i in next(reader).items]  # the first record; then the runner splits
    split_at = items[0][0] + 30
    assert tracker.try_split(split_at) is not None
    items += [tuple(i) for chunk in reader for i in chunk.items]
    rest = bundle.source.get_range_tracker(split_at, bundle.stop_position)
    items += [tuple(i) for chunk in bundle.source.read(rest) for i in chunk.items]
    assert sorted(items) == _expected(path.read_bytes())
