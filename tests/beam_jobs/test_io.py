"""Reading JSONL by byte ranges: however a file is split, every record is read exactly once,
at the byte offset where its line starts, with its line number; compressed files are read
whole, and one that is corrupt or cut short becomes a dead letter where reading stopped;
no line is held longer than the bound; formats are chosen by extension."""
import bz2
import gzip
import lzma
import os
import tracemalloc
import zlib

import pytest
import zstandard

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


def _read_all(source, desired_bundle_size=1 << 30):
    """(records as (offset, line, payload), dead letters) from every bundle."""
    items, letters = [], []
    for bundle in source.split(desired_bundle_size):
        tracker = bundle.source.get_range_tracker(bundle.start_position, bundle.stop_position)
        for chunk in bundle.source.read(tracker):
            if chunk.kind == io.DEAD:
                letters += chunk.items
            else:
                items += [tuple(item) for item in chunk.items]
    return sorted(items), letters


RECORDS = b"".join(b'{"text": "record %d of a compressed file"}\n' % i for i in range(20000))


def _zlib_stream(data):
    packer = zlib.compressobj()  # zlib-wrapped deflate, as Beam writes .deflate
    return packer.compress(data) + packer.flush()


COMPRESSORS = {
    # bzip2 with 100 kB blocks, so that a cut leaves whole blocks before it
    ".gz": gzip.compress, ".bz2": lambda data: bz2.compress(data, 1), ".xz": lzma.compress,
    ".zst": zstandard.ZstdCompressor(write_checksum=True).compress, ".deflate": _zlib_stream,
}


def _line_starts(data):
    starts, offset = [], 0
    for line in data.split(b"\n")[:-1]:
        starts.append(offset)
        offset += len(line) + 1
    return starts


@pytest.mark.parametrize("suffix", COMPRESSORS)
def test_a_truncated_file_is_reported_where_it_was_cut(tmp_path, suffix):
    packed = COMPRESSORS[suffix](RECORDS)
    path = tmp_path / f"c.jsonl{suffix}"
    path.write_bytes(packed[:len(packed) * 2 // 3])
    items, letters = _read_all(JsonlSource(str(path)))
    (letter,) = letters
    assert letter.error_type == "truncated_file" and str(path) in letter.message
    starts = _line_starts(RECORDS)
    # the records before the cut were read, in order, and the letter starts at the next one
    assert [offset for offset, _, _ in items] == starts[:len(items)]
    assert 0 < len(items) < len(starts) and letter.offset == starts[len(items)]
    assert letter.line == len(items) + 1 and letter.raw_bytes == path.stat().st_size


def test_a_gzip_cut_at_a_flush_point_is_still_truncated(tmp_path):
    packer = zlib.compressobj(wbits=31)
    head = RECORDS[:_line_starts(RECORDS)[100]]
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(packer.compress(head) + packer.flush(zlib.Z_SYNC_FLUSH))
    items, (letter,) = _read_all(JsonlSource(str(path)))
    assert len(items) == 100 and letter.error_type == "truncated_file"
    assert letter.offset == len(head) and "cut short" in letter.message


@pytest.mark.parametrize("suffix", COMPRESSORS)
def test_corrupt_data_is_reported_naming_the_file(tmp_path, suffix):
    packed = bytearray(COMPRESSORS[suffix](RECORDS))
    packed[len(packed) // 2] ^= 0x55
    path = tmp_path / f"c.jsonl{suffix}"
    path.write_bytes(bytes(packed))
    items, letters = _read_all(JsonlSource(str(path)))
    (letter,) = letters
    assert letter.error_type == "corrupt_file" and str(path) in letter.message
    assert [offset for offset, _, _ in items] == _line_starts(RECORDS)[:len(items)]
    assert letter.offset == (_line_starts(RECORDS) + [len(RECORDS)])[len(items)]


def test_plain_text_named_gz_is_one_corrupt_file_letter(tmp_path):
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(b'{"text": "plain"}\n' * 10)
    items, (letter,) = _read_all(JsonlSource(str(path)))
    assert items == [] and (letter.offset, letter.line) == (0, 1)
    assert letter.error_type == "corrupt_file" and "not valid gzip data" in letter.message


def test_concatenated_gzip_members_and_padding_are_read_whole(tmp_path):
    starts = _line_starts(RECORDS)
    half = starts[len(starts) // 2]
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(gzip.compress(RECORDS[:half]) + gzip.compress(RECORDS[half:])
                     + b"\0" * 512)
    items, letters = _read_all(JsonlSource(str(path)))
    assert letters == [] and [offset for offset, _, _ in items] == starts


def test_a_compressed_file_without_line_breaks_is_read_in_bounded_memory(tmp_path):
    path = tmp_path / "bomb.jsonl.gz"
    packer = zlib.compressobj(1, wbits=31)
    with open(path, "wb") as file_:
        file_.write(packer.compress(b'{"text": "'))
        block = b"x" * (1 << 20)
        for _ in range(200):  # 200 MiB inflated, ~0.2 MiB on disk
            file_.write(packer.compress(block))
        file_.write(packer.compress(b'"}\n{"text": "next"}\n') + packer.flush())
    tracemalloc.start()
    try:
        items, (letter,) = _read_all(JsonlSource(str(path), max_line_bytes=1000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert letter.error_type == "line_too_long" and letter.raw_bytes == 200 * (1 << 20) + 13
    assert items == [(letter.raw_bytes, 2, b'{"text": "next"}')]
    assert peak < 16 << 20


@pytest.mark.parametrize("bundle_size", [1, 7, 40, 1 << 20])
def test_a_long_line_is_skipped_once_however_the_file_is_split(tmp_path, bundle_size):
    long = b'{"text": "' + b"y" * 300 + b'"}'
    lines = [b'{"text": "one"}', long, b'{"text": "two"}', b'{"a": 1}\r{"b": 2}' * 20,
             b'{"text": "three"}']
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    items, letters = _read_all(JsonlSource(str(path), max_line_bytes=100), bundle_size)
    starts = _line_starts(path.read_bytes())
    assert [(o, n) for o, n, _ in items] == [(starts[0], 1), (starts[2], 3), (starts[4], 5)]
    assert sorted((d.offset, d.line, d.raw_bytes) for d in letters) \
        == [(starts[1], 2, len(long) + 1), (starts[3], 4, len(lines[3]) + 1)]
    assert all(d.error_type == "line_too_long" for d in letters)
    assert ["CR-only" in d.message for d in sorted(letters)] == [False, True]


def test_a_file_name_that_is_not_utf8_is_refused_before_the_run(tmp_path):
    (tmp_path / "fine.jsonl").write_text('{"text": "ok"}\n')
    with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9.jsonl"), "wb") as file_:
        file_.write(b'{"text": "ok"}\n')
    with pytest.raises(ValueError, match=r"not UTF-8 \(b'.*caf\\xe9.jsonl'\): rename it"):
        io.match_inputs(str(tmp_path / "*.jsonl"))
