"""The Parquet sink: batches are gathered into row groups of about the configured size, the
schema (with its name and version) is in the file, and an empty shard is a valid file."""
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beam_jobs.parquet import ParquetBatchSink
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
