"""Checking records, finding duplicate ids, and batching the valid records (batching.py).

Duplicate ids need a look at the whole corpus before any record is accepted. A first, cheap
pass (`FindDuplicateIds`) reads only the records that can carry an id and groups
(id -> positions); every position but the first in (source, offset) order becomes a
side-input entry. The main pass (`CheckAndBatch`) dead-letters those. Reading twice keeps the
main pass one fused stage that never holds the corpus in memory, on every runner; the first
pass moves one short (id, position) pair per record with an id, and is skipped with
--allow-duplicate-ids.

A record without an id gets `<source>@<offset>`, which another record may carry as its id.
Explicit ids win: an id of that form names the position whose generated id it takes, and the
id-less record found there is dead-lettered as a duplicate. The side input is keyed by
(position, doc id), so the entry only hits the record there when that record's id is the
generated one.
"""
import re
from typing import Dict, Iterable, Iterator, Optional, Tuple

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms import window
from apache_beam.utils.windowed_value import WindowedValue

from .batching import POOL_BATCHES, Batcher, make_batcher  # noqa: F401 (POOL_BATCHES: re-exported)
from .io import DEAD
from .records import (
    CheckOptions,
    DeadLetter,
    RawChunk,
    Record,
    check,
    dead_letter,
    explicit_id,
    generated_id,
)

Position = Tuple[str, int]
# side-input key: the position of a record to dead-letter and the doc id it would have
DuplicateKey = Tuple[Position, str]
_GENERATED = re.compile(r"(.+)@(0|[1-9][0-9]*)", re.DOTALL)


def _ids_with_positions(chunk: RawChunk, options: CheckOptions
                        ) -> Iterator[Tuple[str, Position]]:
    if chunk.kind == DEAD:
        return
    for item in chunk.items:
        if not explicit_id(chunk.kind, item, options):
            continue
        record = check(chunk.kind, chunk.source, item, options)
        if isinstance(record, Record) and record.id_given:
            yield record.doc_id, (record.source, record.offset)


def _generated_position(doc_id: str) -> Optional[Position]:
    """The position whose generated id `doc_id` would be, or None when it has another form."""
    match = _GENERATED.fullmatch(doc_id)
    return None if match is None else (match.group(1), int(match.group(2)))


def _later_positions(group: Tuple[str, Iterable[Position]], sources: Dict[str, bool]
                     ) -> Iterator[Tuple[DuplicateKey, str]]:
    """The entries for one id: every holder but the first, and the position whose generated
    id it is when that is in an input file (`sources`)."""
    doc_id, positions = group
    positions = sorted(positions)
    source, offset = positions[0]
    for position in positions[1:]:
        yield (position, doc_id), (f"id {doc_id!r} is also used by the record at "
                                   f"{generated_id(source, offset)}")
    taken = _generated_position(doc_id)
    if taken is not None and taken[0] in sources and taken not in positions:
        yield (taken, doc_id), (f"this record has no id, and the id it would get, {doc_id!r}, "
                                "is the explicit id of the record at "
                                f"{generated_id(source, offset)}: give this record an id")


class FindDuplicateIds(beam.PTransform):
    """RawChunks -> (((source, offset), doc_id), message) for every record whose id an
    earlier record (in (source, offset) order) already has, and for the position of every
    generated id that some record carries as its explicit id."""

    def __init__(self, options: CheckOptions):
        super().__init__()
        self.options = options

    def expand(self, chunks):
        # the files read: only an id naming a position in one of them can take a generated id
        sources = (chunks
                   | "Sources" >> beam.Map(lambda chunk: (chunk.source, True))
                   | "DistinctSources" >> beam.Distinct())
        return (chunks
                | "IdPositions" >> beam.FlatMap(_ids_with_positions, self.options)
                | "GroupById" >> beam.GroupByKey()
                | "LaterPositions" >> beam.FlatMap(_later_positions,
                                                   beam.pvalue.AsDict(sources)))


class CheckAndBatch(beam.DoFn):
    """RawChunks -> batches (lists) of valid Records, cut by estimated tokens in length
    buckets, or (batch_tokens 0) from pools sorted by length (batching.py); bad records go
    to the "dead" output and (records read, blank lines) per chunk to the "counts" output.

    Args:
        options: the record rules.
        batch_size: at most this many documents per batch.
        batch_chars: at most this many characters per batch (a longer document gets a batch
            of its own).
        batch_tokens: at most this many estimated tokens per batch (counted padded), 0 for
            the sorted pools of earlier versions.
    """

    DEAD = "dead"
    COUNTS = "counts"

    def __init__(self, options: CheckOptions, batch_size: int, batch_chars: int,
                 batch_tokens: int = 0):
        self.options = options
        self.batch_size = batch_size
        self.batch_chars = batch_chars
        self.batch_tokens = batch_tokens

    def setup(self):
        self._batcher: Batcher = make_batcher(self.batch_size, self.batch_chars,
                                              self.batch_tokens)
        self._dead = {}

    def start_bundle(self):
        self._batcher = make_batcher(self.batch_size, self.batch_chars, self.batch_tokens)

    def observe(self, n_chars: int, n_tokens: int) -> None:
        """Count what the pipeline made of a batch, for the token estimate."""
        self._batcher.observe(n_chars, n_tokens)

    def process(self, chunk: RawChunk, duplicates: Dict[DuplicateKey, str]):
        yield beam.pvalue.TaggedOutput(self.COUNTS, (len(chunk.items), chunk.n_blank))
        for item in chunk.items:
            if chunk.kind == DEAD:
                yield self._dead_letter(item)
                continue
            result = check(chunk.kind, chunk.source, item, self.options)
            if isinstance(result, Record) and duplicates:
                message = duplicates.get(((result.source, result.offset),
                                          result.doc_id))
                if message is not None:
                    text = None if result.doc_data is None else result.doc_data["text"]
                    result = dead_letter(result.source, item, "duplicate_id", message,
                                         doc_id=result.doc_id, raw=text)
            if isinstance(result, DeadLetter):
                yield self._dead_letter(result)
                continue
            yield from self._batcher.add(result)

    def finish_bundle(self):
        for batch in self._batcher.flush():
            yield WindowedValue(batch, window.GlobalWindow().max_timestamp(),
                                (window.GlobalWindow(),))

    def _dead_letter(self, letter: DeadLetter):
        counter = self._dead.get(letter.error_type)
        if counter is None:
            counter = self._dead[letter.error_type] = Metrics.counter(
                "annotate", f"dead_letters_{letter.error_type}")
        counter.inc()
        return beam.pvalue.TaggedOutput(self.DEAD, letter)
