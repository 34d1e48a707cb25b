"""Writing Arrow record batches to Parquet from Beam, with row groups sized for analytics.

Beam's own `WriteToParquetBatched` writes every incoming table as its own row group, and
`WriteToParquet` wants one Python dict per row. `ParquetBatchSink` takes `pyarrow.RecordBatch`
elements (built straight from Doc arrays) and buffers them until a row group holds about
`row_group_bytes` of Arrow data: engines such as DuckDB, Spark and Polars read row groups in
parallel and skip them by their statistics, which works best with groups of tens of MB.
Files are written per bundle and renamed into place when the job finishes, as every Beam
file sink does; the table's schema (with its name and version) is in each file's metadata.
"""
from typing import Any, Dict, List

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filebasedsink import FileBasedSink
from apache_beam.io.filesystem import CompressionTypes


class _RowGroupWriter:
    """One open Parquet file: buffers batches, writes a row group per `row_group_bytes`."""

    def __init__(self, file_handle, schema: pa.Schema, row_group_bytes: int, compression: str,
                 writer_options: Dict[str, Any] | None = None):
        self._file = file_handle
        self._schema = schema
        self._row_group_bytes = row_group_bytes
        self._writer = pq.ParquetWriter(file_handle, schema, compression=compression,
                                        **(writer_options or {}))
        self._batches: List[pa.RecordBatch] = []
        self._buffered = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        self._batches.append(batch)
        self._buffered += batch.nbytes
        if self._buffered >= self._row_group_bytes:
            self.flush()

    def flush(self) -> None:
        if not self._batches:
            return
        table = pa.Table.from_batches(self._batches, schema=self._schema)
        self._writer.write_table(table, row_group_size=table.num_rows)
        self._batches = []
        self._buffered = 0

    def close(self) -> None:
        self.flush()
        self._writer.close()
        self._file.close()


class ParquetBatchSink(FileBasedSink):
    """A Beam file sink of `pyarrow.RecordBatch` elements that all have `schema`.

    Args:
        file_path_prefix: e.g. "out/annotations/part"; files are
            "<prefix>-SSSSS-of-NNNNN.parquet".
        schema: the Arrow schema of every batch (its metadata goes into each file).
        row_group_bytes: Arrow bytes buffered per row group (the Parquet bytes are fewer:
            columns are compressed).
        compression: Parquet column compression codec.
        writer_options: more `pyarrow.parquet.ParquetWriter` settings (e.g. which columns
            get dictionaries and statistics).
    """

    def __init__(self, file_path_prefix: str, schema: pa.Schema, *,
                 row_group_bytes: int = 64 << 20, compression: str = "zstd",
                 writer_options: Dict[str, Any] | None = None):
        super().__init__(file_path_prefix, coder=None, file_name_suffix=".parquet",
                         mime_type="application/vnd.apache.parquet",
                         compression_type=CompressionTypes.UNCOMPRESSED)
        self._schema = schema
        self._row_group_bytes = row_group_bytes
        self._compression = compression
        self._writer_options = writer_options

    def open(self, temp_path: str) -> _RowGroupWriter:
        return _RowGroupWriter(super().open(temp_path), self._schema, self._row_group_bytes,
                               self._compression, self._writer_options)

    def write_record(self, file_handle: _RowGroupWriter, value: pa.RecordBatch) -> None:
        file_handle.write(value)

    def close(self, file_handle: _RowGroupWriter) -> None:
        file_handle.close()


class WriteParquet(beam.PTransform):
    """RecordBatches -> Parquet files; outputs the final file names once they are in place.
    An empty input still writes one file with the schema and no rows."""

    def __init__(self, file_path_prefix: str, schema: pa.Schema, *,
                 row_group_bytes: int = 64 << 20, writer_options: Dict[str, Any] | None = None):
        super().__init__()
        self._sink = ParquetBatchSink(file_path_prefix, schema, row_group_bytes=row_group_bytes,
                                      writer_options=writer_options)

    def expand(self, pcoll):
        return pcoll | beam.io.Write(self._sink)
