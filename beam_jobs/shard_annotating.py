"""The annotate job's work on one input shard, start to commit, in one DoFn call.

A shard is read (io.py's readers over its byte range or file), its records checked and
batched (checking.CheckAndBatch), annotated (annotating.AnnotateBatches) and its rows
streamed into Parquet files under temporary names in the partial area; then the files are
renamed into place and the shard's manifest written last (shards.py). Doing it all inside
one call is what lets a shard commit while the job runs, on every runner: a crash loses
only the shards in flight, and a retried bundle writes the same files again.

The element's outputs are the shard's manifest (main), and, for tests that assert on them,
its `annotations` RecordBatches ("rows") and DeadLetters ("dead").
"""
import time
from collections import Counter
from typing import Any, Callable, Dict, Iterator, List, Optional

import apache_beam as beam
import pyarrow as pa
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.range_trackers import OffsetRangeTracker

from schemas import dead_letter, tensors

from .annotating import AnnotateBatches
from .arrow import dead_letters_to_record_batch
from .checking import CheckAndBatch
from .io import JsonlSource, ReadDocBinFn
from .records import DOCBIN, CheckOptions, DeadLetter, RawChunk
from .shards import PartialRun, Shard, TableFile
from .stage_times import StageClock
from .tensors import PARQUET_OPTIONS as TENSOR_PARQUET_OPTIONS

DEAD_LETTER_BATCH = 1000
TABLES = ("annotations", "dead_letter")


def read_shard(shard: Shard, rules: CheckOptions) -> Iterator[RawChunk]:
    """The shard's records as RawChunks (dead letters of unreadable parts included)."""
    if shard.kind == DOCBIN:
        metadata = FileSystems.match([shard.path])[0].metadata_list[0]
        yield from ReadDocBinFn(rules.max_decompressed_mb << 20).process(
            fileio.ReadableFile(metadata))
        return
    end = OffsetRangeTracker.OFFSET_INFINITY if shard.end is None else shard.end
    source = JsonlSource(shard.path, rules.max_line_bytes)
    yield from source.read_records(shard.path, OffsetRangeTracker(shard.start, end))


class AnnotateShards(beam.DoFn):
    """Shards -> their committed manifests (see the module docstring).

    Args:
        output: --output (the shards go to its partial area, `PartialRun(output)`).
        rules, batch_size, batch_chars, batch_tokens: as for CheckAndBatch.
        annotate: the AnnotateBatches DoFn to run on each batch.
        row_group_bytes: Arrow bytes per Parquet row group.
        tensor_dtype: the tensors table's element type, None without --tensors.
    """

    ROWS = "rows"
    DEAD = "dead"

    def __init__(self, output: str, rules: CheckOptions, batch_size: int, batch_chars: int,
                 annotate: AnnotateBatches, row_group_bytes: int,
                 tensor_dtype: Optional[str] = None, batch_tokens: int = 0):
        self.output = output
        self.batch_tokens = batch_tokens
        self.rules = rules
        self.batch_size = batch_size
        self.batch_chars = batch_chars
        self.annotate = annotate
        self.row_group_bytes = row_group_bytes
        self.tensor_dtype = tensor_dtype

    def setup(self):
        self.annotate.setup()
        self.partial = PartialRun(self.output)
        self._stages = StageClock()

    def process(self, shard: Shard, duplicates: Dict):
        start = time.perf_counter()
        files = {"annotations": TableFile(self.partial.table_file("annotations", shard),
                                           self.annotate.annotations_schema,
                                           self.row_group_bytes),
                 "dead_letter": TableFile(self.partial.table_file("dead_letter", shard),
                                           dead_letter.SCHEMA, self.row_group_bytes)}
        if self.tensor_dtype is not None:
            files["tensors"] = TableFile(self.partial.table_file("tensors", shard),
                                          tensors.schema(self.tensor_dtype),
                                          self.row_group_bytes, TENSOR_PARQUET_OPTIONS)
        work = _ShardWork(files)
        # time in `work.take` (annotating, Arrow, writing: their own stages); the rest of
        # the shard's time is reading, checking and batching
        taking = 0.0
        try:
            checker = CheckAndBatch(self.rules, self.batch_size, self.batch_chars,
                                    self.batch_tokens)
            work.observe = checker.observe
            checker.setup()
            checker.start_bundle()
            for chunk in read_shard(shard, self.rules):
                for out in checker.process(chunk, duplicates):
                    began = time.perf_counter()
                    yield from work.take(out, self.annotate)
                    taking += time.perf_counter() - began
            began = time.perf_counter()
            for value in checker.finish_bundle():
                yield from work.take(value.value, self.annotate)
            yield from work.flush_dead()
            work.commit()
            taking += time.perf_counter() - began
        except BaseException:
            for table_file in files.values():
                table_file.abandon()
            raise
        manifest = {"counts": work.counts(), "files": {t: f.path for t, f in files.items()},
                    "shard_seconds": round(time.perf_counter() - start, 3)}
        began = time.perf_counter()
        self.partial.commit_shard(shard, manifest)
        ended = time.perf_counter()
        self._stages.add("write", work.write_seconds + ended - began)
        self._stages.add("read_check", ended - start - taking - (ended - began))
        yield manifest


class _ShardWork:
    """What one shard has produced so far: counts, dead letters waiting to be written."""

    def __init__(self, files: Dict[str, TableFile]):
        self.files = files
        self.read = self.blank = 0
        self.stats = [0, 0, 0, 0.0]
        self.by_reason: Counter = Counter()
        self.dead: List[DeadLetter] = []
        self.write_seconds = 0.0  # in the tables' writes and commits
        # (chars, tokens) of each annotated batch -> the batcher's token estimate
        self.observe: Callable[[int, int], None] = lambda n_chars, n_tokens: None

    def write(self, table: str, batch: pa.RecordBatch) -> None:
        began = time.perf_counter()
        self.files[table].write(batch)
        self.write_seconds += time.perf_counter() - began

    def commit(self) -> None:
        began = time.perf_counter()
        for table_file in self.files.values():
            table_file.commit()
        self.write_seconds += time.perf_counter() - began

    def take(self, out, annotate: AnnotateBatches) -> Iterator:
        """Route one output of CheckAndBatch (a batch is annotated here)."""
        if isinstance(out, list):  # a batch of Records
            for result in annotate.process(out):
                yield from self._annotated(result)
            return
        tag, value = out.tag, out.value
        if tag == CheckAndBatch.COUNTS:
            self.read += value[0]
            self.blank += value[1]
        elif tag == CheckAndBatch.DEAD:
            yield from self._letter(value)

    def _annotated(self, result) -> Iterator:
        if isinstance(result, pa.RecordBatch):
            self.write("annotations", result)
            yield beam.pvalue.TaggedOutput(AnnotateShards.ROWS, result)
            return
        tag, value = result.tag, result.value
        if tag == AnnotateBatches.DEAD:
            yield from self._letter(value)
        elif tag == AnnotateBatches.STATS:
            for i, amount in enumerate(value):
                self.stats[i] += amount
            self.observe(value[2], value[1])
        elif tag == AnnotateBatches.TENSORS:
            self.write("tensors", value)

    def _letter(self, letter: DeadLetter) -> Iterator:
        self.by_reason[letter.error_type] += 1
        self.dead.append(letter)
        yield beam.pvalue.TaggedOutput(AnnotateShards.DEAD, letter)
        if len(self.dead) >= DEAD_LETTER_BATCH:
            yield from self.flush_dead()

    def flush_dead(self) -> Iterator:
        if self.dead:
            self.write("dead_letter", dead_letters_to_record_batch(self.dead))
            self.dead = []
        return iter(())

    def counts(self) -> Dict[str, Any]:
        docs, tokens, chars, seconds = self.stats
        return {"read": self.read, "blank_lines": self.blank, "annotated": docs,
                "tokens": tokens, "chars": chars, "annotate_seconds": seconds,
                "dead_letter_by_reason": dict(sorted(self.by_reason.items()))}
