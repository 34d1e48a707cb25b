"""Writing Arrow record batches to Parquet from Beam, with row groups sized for analytics.

Beam's own `WriteToParquetBatched` writes every incoming table as its own row group, and
`WriteToParquet` wants one Python dict per row. `ParquetBatchSink` takes `pyarrow.RecordBatch`
elements (built straight from Doc arrays) and buffers them until a row group holds about
`row_group_bytes` of Arrow data: engines such as DuckDB, Spark and Polars read row groups in
parallel and skip them by their statistics, which works best with groups of tens of MB.
Files are written per bundle and renamed into place when the job finishes, as every Beam
file sink does; the table's schema (with its name and version) is in each file's metadata.

A full row group is encoded and written on a writer thread while the caller goes on
(Parquet encoding and compression run in Arrow's C++ without the GIL, so they take a spare
core rather than the annotating thread's time); one row group at most is in flight, so a
writer holds at most two row groups' worth of batches, and a failed write raises in the
caller at its next flush or at close.
"""
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Dict, List, Optional

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filebasedsink import FileBasedSink
from apache_beam.io.filesystem import CompressionTypes


class _RowGroupWriter:
    """One open Parquet file: buffers batches, writes a row group per `row_group_bytes` (on
    its writer thread, one at a time; see the module docstring)."""

    def __init__(self, file_handle, schema: pa.Schema, row_group_bytes: int, compression: str,
                 writer_options: Dict[str, Any] | None = None):
        self._file = file_handle
        self._schema = schema
        self._row_group_bytes = row_group_bytes
        self._writer = pq.ParquetWriter(file_handle, schema, compression=compression,
                                        **(writer_options or {}))
        self._batches: List[pa.RecordBatch] = []
        self._buffered = 0
        self._thread: Optional[ThreadPoolExecutor] = None  # made at the first row group
        self._pending: Optional[Future] = None

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        self._batches.append(batch)
        self._buffered += batch.nbytes
        if self._buffered >= self._row_group_bytes:
            self.flush()

    def flush(self, *, wait: bool = False) -> None:
        """Write the buffered batches as one row group: on the writer thread, or on this
        one with `wait` (nothing is left to overlap it with)."""
        if not self._batches:
            return
        self._wait()
        table = pa.Table.from_batches(self._batches, schema=self._schema)
        self._batches = []
        self._buffered = 0
        if wait:
            self._write(table)
            return
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="parquet-writer")
        self._pending = self._thread.submit(self._write, table)

    def _write(self, table: pa.Table) -> None:
        self._writer.write_table(table, row_group_size=table.num_rows)

    def _wait(self) -> None:
        """Until the row group in flight is written (its error raised here)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        try:
            self._wait()
            self.flush(wait=True)
            self._writer.close()
            self._file.close()
        finally:
            if self._thread is not None:
                self._thread.shutdown(wait=True)
                self._thread = None


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
