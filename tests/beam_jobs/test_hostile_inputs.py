"""Hostile inputs in one run (issue 11): deep nesting, lone surrogates, corrupt and truncated
compressed files, explicit ids equal to generated ones, UTF-16, CR-only line endings and a
file without line breaks, next to good files. The job must finish, annotate every good
record, dead-letter every bad record or file under a name that says which, reconcile its
counts exactly, and never write one doc_id twice."""
import bz2
import collections
import gzip
import json
import os
import zlib
from pathlib import Path

import pytest
import zstandard

from beam_jobs import annotate
from beam_jobs.duplicate_ids import later_positions as _later_positions

MAX_CHARS = 200
NESTED = "[" * 100_000 + "]" * 100_000


def _line(record) -> bytes:
    return json.dumps(record).encode("utf8")


def _good(prefix: str, n: int, with_ids: bool = True):
    return [({"id": f"{prefix}-{i}"} if with_ids and i % 2 else {})
            | {"text": f"Record {i} of {prefix} reads fine."} for i in range(n)]


def _positions(data: bytes):
    """(offset, line bytes) of each non-blank line of decompressed JSONL data."""
    out, offset = [], 0
    for piece in data.split(b"\n"):
        if piece.strip():
            out.append((offset, piece))
        offset += len(piece) + 1
    return out


class Corpus:
    """The files of the hostile run and what the job must make of each line."""

    def __init__(self, root: Path):
        self.root = root
        self.good = set()                        # (file name, offset) to be annotated
        self.bad = collections.Counter()         # (file name, error_type) -> letters
        self.cut = {}                            # file name -> its decompressed data
        self.n_read = 0

    def plain(self, name: str, lines, reasons):
        """A plain JSONL file; `reasons[i]` is line i's error_type, None for a good one."""
        data = b"\n".join(lines) + b"\n"
        (self.root / name).write_bytes(data)
        for (offset, _), reason in zip(_positions(data), reasons, strict=True):
            self._expect(name, offset, reason)

    def _expect(self, name, offset, reason):
        self.n_read += 1
        if reason is None:
            self.good.add((name, offset))
        else:
            self.bad[(name, reason)] += 1

    def broken(self, name: str, data: bytes, written: bytes, error_type: str):
        """A compressed file that breaks partway: `data` is what it decompresses from.
        Which of its records come before the break is read off the dead letter."""
        (self.root / name).write_bytes(written)
        self.cut[name] = data
        self.bad[(name, error_type)] += 1
        self.n_read += 1


def _jsonl(records) -> bytes:
    return b"".join(_line(r) + b"\n" for r in records)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    corpus = Corpus(root)
    good = _good("plain", 6)
    corpus.plain("good.jsonl", [_line(r) for r in good], [None] * 6)
    gz_records = _good("gz", 5)
    with gzip.open(root / "good.jsonl.gz", "wb") as file_:
        file_.write(_jsonl(gz_records[:3]))
    with open(root / "good.jsonl.gz", "ab") as file_:  # a second gzip member, as `cat` makes
        file_.write(gzip.compress(_jsonl(gz_records[3:])))
    data = _jsonl(gz_records)
    for offset, _ in _positions(data):
        corpus._expect("good.jsonl.gz", offset, None)

    # 1. deep nesting, in text and in meta, with and without an id (the id pass parses
    #    only lines that mention the id field)
    corpus.plain("nested.jsonl", [
        b'{"id": "deep-text", "text": ' + NESTED.encode() + b"}",
        b'{"text": "meta nests deeply", "meta": {"k": ' + NESTED.encode() + b"}}",
        b'{"id": "deep-meta", "text": "t", "meta": {"k": ' + NESTED.encode() + b"}}",
        _line({"id": "after-nesting", "text": "Still read."}),
    ], ["bad_json", "bad_json", "bad_json", None])

    # 2. lone surrogates in id, text and meta; a proper pair is fine
    corpus.plain("surrogates.jsonl", [
        b'{"id": "\\ud800", "text": "lone surrogate id"}',
        b'{"id": "lone-text", "text": "broken \\udc00 text"}',
        b'{"text": "meta too", "meta": {"k\\udfff": 1}}',
        b'{"id": "pair", "text": "a proper pair \\ud83d\\ude00 is fine"}',
    ], ["bad_unicode", "bad_unicode", "bad_unicode", None])

    # 3. corrupt compressed files: plain text named .gz, a flipped byte in bz2 and zstd,
    #    a gzip member whose checksum does not match
    (root / "plain-text.jsonl.gz").write_text('{"text": "I am not gzip"}\n')
    corpus.bad[("plain-text.jsonl.gz", "corrupt_file")] += 1
    corpus.n_read += 1
    data = _jsonl(_good("bz2", 300))
    packed = bytearray(bz2.compress(data))
    packed[len(packed) // 2] ^= 0xFF
    corpus.broken("flipped.jsonl.bz2", data, bytes(packed), "corrupt_file")
    data = _jsonl(_good("zst", 300))
    packed = bytearray(zstandard.ZstdCompressor().compress(data))
    packed[len(packed) // 2] ^= 0xFF
    corpus.broken("flipped.jsonl.zst", data, bytes(packed), "corrupt_file")
    data = _jsonl(_good("crc", 20))
    packed = bytearray(gzip.compress(data))
    packed[-8] ^= 0xFF  # the CRC-32 in the gzip trailer
    corpus.broken("bad-crc.jsonl.gz", data, bytes(packed), "corrupt_file")

    # 4. truncated gzip: cut mid-stream, and cut exactly at a flush point (the data before
    #    the cut decompresses cleanly; only the missing trailer tells)
    data = _jsonl(_good("cut", 3000))
    packed = gzip.compress(data)
    corpus.broken("cut-mid.jsonl.gz", data, packed[:len(packed) // 2], "truncated_file")
    head, tail = _jsonl(_good("flush", 40)), _jsonl(_good("after-flush", 40))
    deflater = zlib.compressobj(wbits=31)
    packed = deflater.compress(head) + deflater.flush(zlib.Z_FULL_FLUSH)
    corpus.broken("cut-flush.jsonl.gz", head + tail, packed, "truncated_file")

    # 5. explicit ids equal to generated ones, in either order: explicit ids win
    victim = str(root / "ids-a.jsonl")
    corpus.plain("ids-a.jsonl", [
        _line({"text": "No id: my generated id is taken by ids-b."}),
        _line({"id": str(root / "ids-b.jsonl") + "@0", "text": "I take ids-b's first id."}),
        _line({"id": victim + "@0", "text": "An id equal to an id-less record's."}),
    ], ["duplicate_id", None, None])
    corpus.plain("ids-b.jsonl", [
        _line({"text": "No id: ids-a takes my generated id."}),
        _line({"id": victim + "@0", "text": "A second explicit holder of ids-a's id."}),
        _line({"id": str(root / "ids-b.jsonl") + "@999", "text": "Names no record: fine."}),
    ], ["duplicate_id", "duplicate_id", None])

    # 14. UTF-16, CR-only line endings, and a line longer than any record can be
    records = _good("utf16", 3)
    utf16 = "\n".join(json.dumps(r) for r in records).encode("utf-16")
    (root / "utf16.jsonl").write_bytes(utf16)
    for _ in _positions(utf16):
        corpus.bad[("utf16.jsonl", "not_utf8")] += 1
        corpus.n_read += 1
    (root / "cr-only.jsonl").write_bytes(b"\r".join(_line(r) for r in _good("cr", 3)))
    corpus.bad[("cr-only.jsonl", "bad_json")] += 1
    corpus.n_read += 1
    endless = b'{"text": "' + b"x" * (12 * MAX_CHARS + (1 << 20)) + b'"}'
    corpus.plain("no-breaks.jsonl", [endless, _line({"text": "After the long line."})],
                 ["line_too_long", None])
    return corpus


def _letters_by_file(dead):
    return collections.Counter((os.path.basename(d["source"]), d["error_type"]) for d in dead)


def _check_run(corpus, output, summary, read_table):
    """The run's rows and letters are exactly what `corpus` expects; returns them."""
    counts = summary["counts"]
    _, rows = read_table(output, "annotations")
    _, dead = read_table(output, "dead_letter")
    assert summary["reconciled"]
    assert counts["read"] == counts["annotated"] + counts["dead_lettered"]
    assert counts["annotated"] == len(rows) and counts["dead_lettered"] == len(dead)
    expected_good = set(corpus.good)
    n_read = corpus.n_read
    # the files that break partway: the records before the letter's offset were read
    for letter in dead:
        name = os.path.basename(letter["source"])
        if name in corpus.cut:
            assert letter["source"] in letter["message"]
            before = [o for o, _ in _positions(corpus.cut[name]) if o < letter["offset"]]
            expected_good |= {(name, o) for o in before}
            n_read += len(before)
    assert counts["read"] == n_read
    assert _letters_by_file(dead) == corpus.bad
    assert {(os.path.basename(r["source"]), r["offset"]) for r in rows} == expected_good
    return rows, dead


def _run(corpus, output, *extra):
    return annotate.run(["--input", str(corpus.root / "*"), "--output", str(output),
                         "--model", "blank:en", "--max-chars", str(MAX_CHARS), "--keep-text",
                         "--runner=FnApiRunner", *extra])


def test_one_run_over_hostile_inputs(hostile, tmp_path, read_table):
    summary = _run(hostile, tmp_path / "out")
    rows, dead = _check_run(hostile, tmp_path / "out", summary, read_table)
    assert len({r["doc_id"] for r in rows}) == len(rows)
    # the cut files lost records, and said so: some before the cut were read, not all
    for letter in dead:
        name = os.path.basename(letter["source"])
        if name.startswith("cut-"):
            assert 0 < letter["offset"] < len(hostile.cut[name])
            assert "cut short" in letter["message"] and letter["line"] > 1
    flush = next(d for d in dead if d["source"].endswith("cut-flush.jsonl.gz"))
    assert flush["offset"] == len(_jsonl(_good("flush", 40)))
    by_type = {d["error_type"]: d for d in dead}
    not_gzip = next(d for d in dead if d["source"].endswith("plain-text.jsonl.gz"))
    assert not_gzip["offset"] == 0 and "not valid gzip data" in not_gzip["message"]
    assert "UTF-16" in by_type["not_utf8"]["message"]
    assert "CR-only" in next(d for d in dead if d["source"].endswith("cr-only.jsonl"))["message"]
    long_line = by_type["line_too_long"]
    assert long_line["raw_bytes"] > 12 * MAX_CHARS and len(long_line["raw"]) <= 8192
    # explicit ids took the generated ones; the records that would have had them say why
    taken = [d for d in dead if d["error_type"] == "duplicate_id"]
    assert {d["doc_id"] for d in taken} \
        == {str(hostile.root / "ids-a.jsonl") + "@0", str(hostile.root / "ids-b.jsonl") + "@0"}
    assert all("give this record an id" in d["message"] or "also used" in d["message"]
               for d in taken)
    # the kept text is the text as given (a proper surrogate pair decodes to one character)
    pair = next(r for r in rows if r["doc_id"] == "pair")
    assert pair["text"] == "a proper pair \U0001F600 is fine"


def test_allow_duplicate_ids_checks_no_ids(hostile, tmp_path, read_table):
    """--allow-duplicate-ids skips the id pass: a lone surrogate in an id is still a dead
    letter (not a crash), and ids are not kept unique, as schemas/README.md says."""
    summary = _run(hostile, tmp_path / "out", "--allow-duplicate-ids")
    counts = summary["counts"]
    assert summary["reconciled"] and "duplicate_id" not in counts["dead_letter_by_reason"]
    assert counts["dead_letter_by_reason"]["bad_unicode"] == 3
    _, rows = read_table(tmp_path / "out", "annotations")
    doc_ids = collections.Counter(r["doc_id"] for r in rows)
    assert doc_ids[str(hostile.root / "ids-a.jsonl") + "@0"] == 3


def test_an_explicit_id_takes_the_place_of_a_generated_one():
    sources = {"a.jsonl": True, "b.jsonl": True}
    entries = dict(_later_positions(("a.jsonl@0", [("b.jsonl", 7)]), sources))
    assert list(entries) == [(("a.jsonl", 0), "a.jsonl@0")]
    assert "b.jsonl@7" in entries[(("a.jsonl", 0), "a.jsonl@0")]
    # the holder sits at that very position: its id is its own, nothing to take
    assert list(_later_positions(("a.jsonl@0", [("a.jsonl", 0)]), sources)) == []
    # not a position in an input file, or not the form a generated id has
    for doc_id in ("c.jsonl@0", "a.jsonl@007", "a.jsonl@", "user@example.com", "a.jsonl@-1"):
        assert list(_later_positions((doc_id, [("b.jsonl", 7)]), sources)) == []
    # two explicit holders: the later one is a duplicate, the position still taken once
    entries = dict(_later_positions(("a.jsonl@0", [("b.jsonl", 9), ("b.jsonl", 7)]), sources))
    assert sorted(entries) == [(("a.jsonl", 0), "a.jsonl@0"), (("b.jsonl", 9), "a.jsonl@0")]
