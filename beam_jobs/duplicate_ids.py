"""The duplicate-id pass: records whose id an earlier record already has.

Duplicate ids need a look at the whole corpus before any record is accepted. This first
pass reads the records that can carry an id (a line without the id field's name is skipped
unparsed, `records.explicit_id`), checks them as the main pass will (only a valid record's
id counts) and groups (id -> positions); every position but the first in (source, offset)
order becomes a side-input entry, which the main pass (`checking.CheckAndBatch`)
dead-letters. Reading twice keeps the main pass one fused stage that never holds the corpus
in memory, on every runner.

What the pass costs is mostly Beam's per-element work, not the reading: an element per
record through a GroupByKey took ~20 us a record. So a chunk of records sends one element
per id bucket (a stable hash of the id, `bucket_of`), holding that chunk's (id, position)
pairs, and each bucket's pairs are grouped in one place: `id_buckets` sizes the buckets
from the input's bytes so that one holds about BUCKET_BYTES of input (its dict of ids
stays small) while a small corpus has few buckets and so few elements.

A record without an id gets `<source>@<offset>`, which another record may carry as its id.
Explicit ids win: an id of that form names the position whose generated id it takes, and the
id-less record found there is dead-lettered as a duplicate. The side input is keyed by
(position, doc id), so the entry only hits the record there when that record's id is the
generated one.
"""
import re
import time
import zlib
from collections import defaultdict
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

import apache_beam as beam

from .io import DEAD
from .records import CheckOptions, RawChunk, Record, check, explicit_id, generated_id
from .stage_times import StageClock

Position = Tuple[str, int]
# side-input key: the position of a record to dead-letter and the doc id it would have
DuplicateKey = Tuple[Position, str]
_GENERATED = re.compile(r"(.+)@(0|[1-9][0-9]*)", re.DOTALL)
# input bytes per id bucket (about 50,000 records of ~300 bytes: a few MB of ids in memory)
BUCKET_BYTES = 16 << 20
MAX_BUCKETS = 1 << 16
DEFAULT_BUCKETS = 64


def id_buckets(input_bytes: int) -> int:
    """How many id buckets for an input of `input_bytes` (see the module docstring)."""
    return max(1, min(MAX_BUCKETS, -(-input_bytes // BUCKET_BYTES)))


def bucket_of(doc_id: str, n_buckets: int) -> int:
    """A hash of the id that is the same in every process (str's hash() is not)."""
    return zlib.crc32(doc_id.encode("utf8", "surrogatepass")) % n_buckets


def ids_with_positions(chunk: RawChunk, options: CheckOptions
                       ) -> Iterator[Tuple[str, Position]]:
    """(doc id, position) of every valid record of the chunk with an explicit id."""
    if chunk.kind == DEAD:
        return
    for item in chunk.items:
        if not explicit_id(chunk.kind, item, options):
            continue
        record = check(chunk.kind, chunk.source, item, options)
        if isinstance(record, Record) and record.id_given:
            yield record.doc_id, (record.source, record.offset)


class BucketIds(beam.DoFn):
    """A RawChunk -> (bucket, [(doc id, position), ...]) for each bucket its ids fall in."""

    def __init__(self, options: CheckOptions, n_buckets: int):
        self.options = options
        self.n_buckets = n_buckets

    def setup(self):
        self._stages = StageClock()

    def process(self, chunk: RawChunk):
        start = time.perf_counter()
        buckets: Dict[int, List[Tuple[str, Position]]] = defaultdict(list)
        for doc_id, position in ids_with_positions(chunk, self.options):
            buckets[bucket_of(doc_id, self.n_buckets)].append((doc_id, position))
        self._stages.add("duplicate_ids", time.perf_counter() - start)
        yield from buckets.items()


def _generated_position(doc_id: str) -> Optional[Position]:
    """The position whose generated id `doc_id` would be, or None when it has another form."""
    match = _GENERATED.fullmatch(doc_id)
    return None if match is None else (match.group(1), int(match.group(2)))


def later_positions(group: Tuple[str, Iterable[Position]], sources: Dict[str, bool]
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


def bucket_entries(bucket: Tuple[int, Iterable[List[Tuple[str, Position]]]],
                   sources: Dict[str, bool]) -> Iterator[Tuple[DuplicateKey, str]]:
    """The side-input entries of one bucket's ids (`later_positions` for each id)."""
    positions: Dict[str, List[Position]] = defaultdict(list)
    for pairs in bucket[1]:
        for doc_id, position in pairs:
            positions[doc_id].append(position)
    for doc_id, held in positions.items():
        if len(held) > 1 or _GENERATED.fullmatch(doc_id) is not None:
            yield from later_positions((doc_id, held), sources)


class FindDuplicateIds(beam.PTransform):
    """RawChunks -> (((source, offset), doc_id), message) for every record whose id an
    earlier record (in (source, offset) order) already has, and for the position of every
    generated id that some record carries as its explicit id.

    Args:
        options: the record rules (the id field, and what makes a record valid).
        n_buckets: id buckets (`id_buckets` of the input's size).
    """

    def __init__(self, options: CheckOptions, n_buckets: int = DEFAULT_BUCKETS):
        super().__init__()
        self.options = options
        self.n_buckets = max(1, n_buckets)

    def expand(self, chunks):
        # the files read: only an id naming a position in one of them can take a generated id
        sources = (chunks
                   | "Sources" >> beam.Map(lambda chunk: (chunk.source, True))
                   | "DistinctSources" >> beam.Distinct())
        return (chunks
                | "IdsByBucket" >> beam.ParDo(BucketIds(self.options, self.n_buckets))
                | "GroupByBucket" >> beam.GroupByKey()
                | "LaterPositions" >> beam.FlatMap(bucket_entries,
                                                   beam.pvalue.AsDict(sources)))
