"""The Parquet sink: batches are gathered into row groups of about the configured size, the
schema (with its name and version) is in the file, and an empty shard is a valid file; row
groups are written on a writer thread, one at a time, and a failed write raises in the
caller."""
import threading
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beam_jobs.parquet import ParquetBatchSink, _RowGroupWriter
from schemas import build_schema, schema_identity
from schemas._columns import Column

SCHEMA = build_schema("numbers", 3, [Column("n", pa.int64(), "a number", False),
                                     Column("s", pa.string(), "a label")])


def _batch(start, size):
    return pa.RecordBatch.from_arrays(
        [pa.array(range(start, start + size), type=pa.int64()),
         pa.array([f"label-{i % 7}" for i in range(size)])], schema=SCHEMA)


@pytest.mark.parametrize("row_group_bytes, n_groups", [(1 << 30, 1), (20_000, 5)])
def test_batches_are_gathered_into_row_groups(tmp_path, row_group_bytes, n_groups):
    sink = ParquetBatchSink(str(tmp_path / "part"), SCHEMA, row_group_bytes=row_group_bytes)
    handle = sink.open(str(tmp_path / "file.parquet"))
    for k in range(50):
        sink.write_record(handle, _batch(k * 100, 100))
    sink.close(handle)
    metadata = pq.read_metadata(tmp_path / "file.parquet")
    assert metadata.num_rows == 5000
    assert metadata.num_row_groups == n_groups
    assert schema_identity(metadata.metadata) == ("numbers", 3)
    assert pq.read_table(tmp_path / "file.parquet").column("n").to_pylist() == list(range(5000))


def test_an_empty_file_has_the_schema(tmp_path):
    sink = ParquetBatchSink(str(tmp_path / "part"), SCHEMA)
    sink.close(sink.open(str(tmp_path / "empty.parquet")))
    table = pq.read_table(tmp_path / "empty.parquet")
    assert table.num_rows == 0 and table.schema.names == ["n", "s"]


def test_row_groups_are_written_off_the_callers_thread_one_at_a_time(tmp_path, monkeypatch):
    writes = []  # (thread, start, end) of each row group's write
    original = _RowGroupWriter._write

    def slow_write(self, table):
        start = time.perf_counter()
        time.sleep(0.05)
        original(self, table)
        writes.append((threading.current_thread(), start, time.perf_counter()))

    monkeypatch.setattr(_RowGroupWriter, "_write", slow_write)
    writer = _RowGroupWriter(open(tmp_path / "f.parquet", "wb"), SCHEMA, 20_000, "zstd")
    for k in range(50):
        writer.write(_batch(k * 100, 100))
    writer.close()
    assert len(writes) == 5
    # the last group, at close, has nothing to overlap with: written by the caller
    assert [thread is threading.current_thread() for thread, _, _ in writes] == \
        [False, False, False, False, True]
    # one in flight: each write starts after the one before it ended
    assert all(later[1] >= earlier[2] for earlier, later in zip(writes, writes[1:]))
    assert pq.read_table(tmp_path / "f.parquet").column("n").to_pylist() == list(range(5000))


def test_a_failed_row_group_write_raises_in_the_caller(tmp_path, monkeypatch):
    def full_disk(self, table):
        raise OSError("No space left on device")

    monkeypatch.setattr(_RowGroupWriter, "_write", full_disk)
    writer = _RowGroupWriter(open(tmp_path / "f.parquet", "wb"), SCHEMA, 20_000, "zstd")
    with pytest.raises(OSError, match="No space left"):
        for k in range(50):  # the first group's error comes at the second group's flush
            writer.write(_batch(k * 100, 100))
    with pytest.raises(OSError, match="No space left"):
        writer.close()  # the second group, still buffered when the first one's error came
