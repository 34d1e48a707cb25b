"""Checking records, finding duplicate ids, and batching the valid records by length.

Duplicate ids need a look at the whole corpus before any record is accepted. A first, cheap
pass (`FindDuplicateIds`) reads only the records that can carry an id and groups
(id -> positions); every position but the first in (source, offset) order becomes a
side-input entry. The main pass (`CheckAndBatch`) dead-letters those. Reading twice keeps the
main pass one fused stage that never holds the corpus in memory, on every runner; the first
pass moves one short (id, position) pair per record with an id, and is skipped with
--allow-duplicate-ids.
"""
from typing import Dict, Iterable, Iterator, List, Tuple

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms import window
from apache_beam.utils.windowed_value import WindowedValue

from .io import DEAD
from .records import CheckOptions, DeadLetter, RawChunk, Record, check, dead_letter, explicit_id

# the batcher sorts this many batches' worth of records by length before cutting batches
POOL_BATCHES = 8
Position = Tuple[str, int]


def _ids_with_positions(chunk: RawChunk, options: CheckOptions
                        ) -> Iterator[Tuple[str, Position]]:
    if chunk.kind == DEAD:
        return
    for item in chunk.items:
        if not explicit_id(chunk.kind, item, options):
            continue
        record = check(chunk.kind, chunk.source, item, options)
        if isinstance(record, Record) and record.doc_id != f"{record.source}@{record.offset}":
            yield record.doc_id, (record.source, record.offset)


def _later_positions(group: Tuple[str, Iterable[Position]]) -> Iterator[Tuple[Position, str]]:
    doc_id, positions = group
    positions = sorted(positions)
    if len(positions) > 1:
        source, offset = positions[0]
        for position in positions[1:]:
            yield position, f"id {doc_id!r} is also used by the record at {source}@{offset}"


class FindDuplicateIds(beam.PTransform):
    """RawChunks -> ((source, offset), message) for every record whose id an earlier
    record (in (source, offset) order) already has."""

    def __init__(self, options: CheckOptions):
        super().__init__()
        self.options = options

    def expand(self, chunks):
        return (chunks
                | "IdPositions" >> beam.FlatMap(_ids_with_positions, self.options)
                | "GroupById" >> beam.GroupByKey()
                | "LaterPositions" >> beam.FlatMap(_later_positions))


class CheckAndBatch(beam.DoFn):
    """RawChunks -> batches (lists) of valid Records, sorted by length within a pool so that
    each batch holds documents of similar size; bad records go to the "dead" output and
    (records read, blank lines) per chunk to the "counts" output.

    Args:
        options: the record rules.
        batch_size: at most this many documents per batch.
        batch_chars: at most this many characters per batch (a longer document gets a batch
            of its own).
    """

    DEAD = "dead"
    COUNTS = "counts"

    def __init__(self, options: CheckOptions, batch_size: int, batch_chars: int):
        self.options = options
        self.batch_size = batch_size
        self.batch_chars = batch_chars
        self.pool_size = batch_size * POOL_BATCHES

    def setup(self):
        self._pool: List[Record] = []
        self._dead = {}

    def start_bundle(self):
        self._pool = []

    def process(self, chunk: RawChunk, duplicates: Dict[Position, str]):
        yield beam.pvalue.TaggedOutput(self.COUNTS, (len(chunk.items), chunk.n_blank))
        for item in chunk.items:
            if chunk.kind == DEAD:
                yield self._dead_letter(item)
                continue
            result = check(chunk.kind, chunk.source, item, self.options)
            if isinstance(result, Record) and duplicates:
                message = duplicates.get((result.source, result.offset))
                if message is not None:
                    text = None if result.doc_data is None else result.doc_data["text"]
                    result = dead_letter(result.source, item, "duplicate_id", message,
                                         doc_id=result.doc_id, raw=text)
            if isinstance(result, DeadLetter):
                yield self._dead_letter(result)
                continue
            self._pool.append(result)
            if len(self._pool) >= self.pool_size:
                yield from self._batches()

    def finish_bundle(self):
        for batch in self._batches():
            yield WindowedValue(batch, window.GlobalWindow().max_timestamp(),
                                (window.GlobalWindow(),))

    def _dead_letter(self, letter: DeadLetter):
        counter = self._dead.get(letter.error_type)
        if counter is None:
            counter = self._dead[letter.error_type] = Metrics.counter(
                "annotate", f"dead_letters_{letter.error_type}")
        counter.inc()
        return beam.pvalue.TaggedOutput(self.DEAD, letter)

    def _batches(self) -> Iterator[List[Record]]:
        pool, self._pool = sorted(self._pool, key=lambda r: r.n_chars), []
        batch: List[Record] = []
        chars = 0
        for record in pool:
            if batch and (len(batch) >= self.batch_size
                          or chars + record.n_chars > self.batch_chars):
                yield batch
                batch, chars = [], 0
            batch.append(record)
            chars += record.n_chars
        if batch:
            yield batch
