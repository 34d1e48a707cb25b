"""Cutting a stream of checked records into batches for the pipeline, by estimated tokens.

What a batch costs the pipeline grows with its tokens, not its documents: 256 tweets are a
few thousand tokens, 256 web pages can be millions. So (`--batch-tokens N`, the default)
a batch is cut by an estimate of its tokens, `characters / mean characters per token`,
where the mean is measured on what this worker has annotated so far (`TokenEstimate`:
the pipeline's own token counts, starting from a prior for English), so that a corpus of
Chinese or of source code gets batches of the same pipeline cost as one of English prose.

Records go into length buckets (estimated tokens in [2^(k/2), 2^((k+1)/2)): two a
doubling), and each bucket is cut into batches on its own (`TokenBatcher`): documents in a
batch differ in length by less than a factor of 1.42, so a transformer's batch padded to
its longest document is less than 42% padding, and the parser's batch does not shrink to
a few states stepping through a long tail. A bucket leaves as a batch as soon as one more
record would take it past N tokens (counted padded: documents x the longest), past
--batch-size documents or past --batch-chars characters; a record of N tokens or more
leaves at once as a batch of its own (and is annotated in pieces, pieces.py), so one 1.7
MB document never holds up the short ones read with it, nor waits for them. Between
records the batcher holds less than one batch per bucket (2 x log2(--batch-tokens) of
them), so its memory is bounded whatever the input; the records left at the end of a
shard leave as one batch per bucket.

`--batch-tokens 0` keeps the batching of earlier versions (`SortedPoolBatcher`): pools of
8 x --batch-size documents (and 8 x --batch-chars characters), sorted by length, cut every
--batch-size documents or --batch-chars characters.

Which batch a document lands in changes only how fast it is annotated, never its
annotations: the pipeline's components treat the documents of a batch independently (the
tests check that both batchings give the same rows).
"""
import math
from typing import Dict, Iterator, List, Protocol

from .records import Record

# --batch-tokens' default: en_ewt_sm ran fastest on calls of 10-20k tokens
# (benchmarks/README.md, mixed_lengths.py)
BATCH_TOKENS = 16_000
# English prose is 4-5 characters a token with its whitespace (UD EWT: 4.9; en_ewt_sm's
# tokenizer on web text); a worker starts from this and moves to what it measures
PRIOR_CHARS_PER_TOKEN = 4.5
# the prior counts as this many tokens of measurement: a few batches outweigh it
PRIOR_TOKENS = 2_000
# the sorted-pool batcher (--batch-tokens 0) sorts this many batches' worth of records
POOL_BATCHES = 8
# length buckets per doubling of the estimated tokens: 2 keeps padding under 42% with
# about 28 buckets below 16k tokens (on the mixed corpus, benchmarks/mixed_lengths.py,
# the short documents' padding: 1.59 with 1 a doubling, see benchmarks/README.md)
BUCKETS_PER_DOUBLING = 2


class TokenEstimate:
    """Mean characters per token of the documents annotated so far (with a prior), and the
    token estimate of a text from it."""

    def __init__(self, prior: float = PRIOR_CHARS_PER_TOKEN, prior_tokens: int = PRIOR_TOKENS):
        self.chars = prior * prior_tokens
        self.tokens = float(prior_tokens)

    @property
    def chars_per_token(self) -> float:
        return self.chars / self.tokens

    def observe(self, n_chars: int, n_tokens: int) -> None:
        """Count `n_chars` characters that the pipeline made into `n_tokens` tokens."""
        if n_chars > 0 and n_tokens > 0:
            self.chars += n_chars
            self.tokens += n_tokens

    def __call__(self, n_chars: int) -> int:
        """The estimated tokens of a text of `n_chars` characters (at least 1)."""
        return max(1, math.ceil(n_chars / self.chars_per_token))


class Batcher(Protocol):
    def add(self, record: Record) -> Iterator[List[Record]]: ...

    def flush(self) -> Iterator[List[Record]]: ...

    def observe(self, n_chars: int, n_tokens: int) -> None: ...


class _Bucket:
    __slots__ = ("records", "chars", "longest")

    def __init__(self):
        self.records: List[Record] = []
        self.chars = 0
        self.longest = 0


class TokenBatcher:
    """Records -> batches cut by estimated tokens within length buckets (module docstring).

    Args:
        batch_tokens: estimated tokens per batch at most, counted padded (documents x the
            longest document's tokens); a longer document is a batch of its own.
        batch_size: documents per batch at most.
        batch_chars: characters per batch at most.
        estimate: the token estimate (fed by `observe`).
    """

    def __init__(self, batch_tokens: int, batch_size: int, batch_chars: int,
                 estimate: TokenEstimate = None):
        self.batch_tokens = batch_tokens
        self.batch_size = batch_size
        self.batch_chars = batch_chars
        self.estimate = estimate if estimate is not None else TokenEstimate()
        self._buckets: Dict[int, _Bucket] = {}

    @property
    def held_chars(self) -> int:
        """Characters of the records waiting in buckets."""
        return sum(bucket.chars for bucket in self._buckets.values())

    def observe(self, n_chars: int, n_tokens: int) -> None:
        self.estimate.observe(n_chars, n_tokens)

    def add(self, record: Record) -> Iterator[List[Record]]:
        """Take `record`; yields the batches it completes (none, one, or two)."""
        tokens = self.estimate(record.n_chars)
        if tokens >= self.batch_tokens or record.n_chars >= self.batch_chars:
            yield [record]
            return
        key = int(math.log2(tokens) * BUCKETS_PER_DOUBLING)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket()
        # the bucket's estimates were made earlier; the longest is re-estimated with today's
        longest = max(bucket.longest, record.n_chars)
        if bucket.records and (len(bucket.records) >= self.batch_size
                               or bucket.chars + record.n_chars > self.batch_chars
                               or (len(bucket.records) + 1) * self.estimate(longest)
                               > self.batch_tokens):
            yield self._take(key)
            bucket = self._buckets[key] = _Bucket()
            longest = record.n_chars
        bucket.records.append(record)
        bucket.chars += record.n_chars
        bucket.longest = longest

    def flush(self) -> Iterator[List[Record]]:
        """The records still waiting, one batch per bucket, shortest bucket first."""
        for key in sorted(self._buckets):
            if self._buckets[key].records:
                yield self._take(key)
        self._buckets = {}

    def _take(self, key: int) -> List[Record]:
        bucket = self._buckets.pop(key)
        return sorted(bucket.records, key=lambda r: r.n_chars)


class SortedPoolBatcher:
    """--batch-tokens 0, the batching of earlier versions: records pooled (at most
    POOL_BATCHES x batch_size documents and POOL_BATCHES x batch_chars characters), the pool
    sorted by length and cut every `batch_size` documents or `batch_chars` characters (a
    longer document gets a batch of its own)."""

    def __init__(self, batch_size: int, batch_chars: int):
        self.batch_size = batch_size
        self.batch_chars = batch_chars
        self.pool_size = batch_size * POOL_BATCHES
        # the pool's text is bounded too: 2,048 records of up to --max-chars each could
        # otherwise hold gigabytes before the pool is cut into batches
        self.pool_chars = batch_chars * POOL_BATCHES
        self._pool: List[Record] = []
        self.held_chars = 0

    def observe(self, n_chars: int, n_tokens: int) -> None:
        """(Batches by characters: nothing to learn.)"""

    def add(self, record: Record) -> Iterator[List[Record]]:
        self._pool.append(record)
        self.held_chars += record.n_chars
        if len(self._pool) >= self.pool_size or self.held_chars >= self.pool_chars:
            yield from self.flush()

    def flush(self) -> Iterator[List[Record]]:
        pool, self._pool = sorted(self._pool, key=lambda r: r.n_chars), []
        self.held_chars = 0
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


def make_batcher(batch_size: int, batch_chars: int, batch_tokens: int) -> Batcher:
    """The batcher for the job's flags: by tokens, or the sorted pool with
    --batch-tokens 0."""
    if batch_tokens > 0:
        return TokenBatcher(batch_tokens, batch_size, batch_chars)
    return SortedPoolBatcher(batch_size, batch_chars)
