"""Checking records and batching the valid ones (batching.py), with the duplicate ids found
by the first pass (duplicate_ids.py) dead-lettered.

Duplicate ids need a look at the whole corpus before any record is accepted: a first pass
(`FindDuplicateIds`, duplicate_ids.py) finds every position but the first of each id (and
the id-less records whose generated id another record took) and hands them to
`CheckAndBatch` as a side input keyed by (position, doc id). Reading twice keeps the main
pass one fused stage that never holds the corpus in memory, on every runner; the first pass
is skipped with --allow-duplicate-ids.
"""
from typing import Dict

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms import window
from apache_beam.utils.windowed_value import WindowedValue

from .batching import POOL_BATCHES, Batcher, make_batcher  # noqa: F401 (POOL_BATCHES: re-exported)
from .duplicate_ids import DuplicateKey, FindDuplicateIds  # noqa: F401 (re-exported)
from .io import DEAD
from .records import CheckOptions, DeadLetter, RawChunk, Record, check, dead_letter


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
