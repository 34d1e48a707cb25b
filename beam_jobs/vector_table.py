"""The steps of the vector-conversion job between reading and writing: rows bucketed by
position, the first occurrence of each key, each row's place in the table, pruning.

    SplitBuckets / GroupBuckets   rows -> (bucket, RowBlock sorted by position); a bucket
                                  is BUCKET_BYTES of one file, so a bucket's rows and
                                  their order never depend on how the file was read
    SelectRows (one worker)       every bucket's keys, in position order -> `Selection`:
                                  for each bucket its first rank (distinct rows before it),
                                  its repeated keys and, with --truncate, where it stops;
                                  about 8 bytes a row, never a vector
    RankRows                      each bucket's distinct rows with their rank (their row in
                                  the table before pruning); ranks under --prune (or all)
                                  are the kept table, the rest are remapped
    NearestRows                   the kept table (a side input, once per worker) and a
                                  batch of other rows -> nearest kept row by cosine
                                  (nlp_core.vectors_pruning.NearestKept: float32 products,
                                  float64 re-score of near ties, lower row wins)
"""
from typing import Dict, Iterable, Iterator, List, NamedTuple, Optional, Tuple

import apache_beam as beam
import numpy

from nlp_core.training.loop import single_blas_thread
from nlp_core.vectors_pruning import NearestKept

from .vector_memory import note_peak_rss
from .vector_rows import FILE_SHIFT, RowBlock, concat_blocks

BUCKET_SHIFT = 22  # 4 MiB of a file per bucket
assert BUCKET_SHIFT < FILE_SHIFT


class Selection(NamedTuple):
    """Which rows make the table. `buckets` maps a bucket to (rank of its first distinct
    row, int64 local indices of its repeated keys, local index where --truncate stops it
    or -1)."""

    buckets: Dict[int, Tuple[int, numpy.ndarray, int]]
    n_distinct: int   # distinct rows kept or remapped (after --truncate)
    duplicates: int   # repeated keys before the --truncate cut
    truncated: int    # rows after the cut


class Ranked(NamedTuple):
    """Distinct rows with their rank (row in the unpruned table)."""

    ranks: numpy.ndarray
    keys: numpy.ndarray
    words: List[str]
    vectors: Optional[numpy.ndarray]  # None once remapped
    rows: Optional[numpy.ndarray] = None    # remapped: the kept row
    scores: Optional[numpy.ndarray] = None  # remapped: its cosine


def bucket_of(positions: numpy.ndarray) -> numpy.ndarray:
    return positions >> BUCKET_SHIFT


def split_buckets(block: RowBlock) -> Iterator[Tuple[int, RowBlock]]:
    """(bucket, the rows of `block` in it)."""
    if not len(block.positions):
        return
    buckets = bucket_of(block.positions)
    for bucket in numpy.unique(buckets).tolist():
        yield bucket, block.take(numpy.flatnonzero(buckets == bucket))


def merge_bucket(item: Tuple[int, Iterable[RowBlock]], dims: int) -> Tuple[int, RowBlock]:
    bucket, blocks = item
    block = concat_blocks(list(blocks), dims)
    return bucket, block.take(numpy.argsort(block.positions, kind="stable"))


def bucket_keys(item: Tuple[int, RowBlock]) -> Tuple[int, numpy.ndarray]:
    return item[0], item[1].keys


def select_rows(index: List[Tuple[int, numpy.ndarray]], truncate: int) -> Selection:
    """The `Selection` from every bucket's keys (in position order within the bucket):
    the first occurrence of a key wins; with `truncate`, rows after the truncate-th
    distinct row are cut (as `init vectors --truncate` stops reading there)."""
    index = sorted(index, key=lambda item: item[0])
    sizes = [len(keys) for _, keys in index]
    keys = (numpy.concatenate([k for _, k in index]) if index
            else numpy.zeros(0, numpy.uint64))
    first = numpy.zeros(len(keys), dtype=bool)
    first[numpy.unique(keys, return_index=True)[1]] = True
    del keys
    distinct_before = numpy.cumsum(first) - first  # distinct rows before each row
    cut = len(first)
    if truncate and first.sum() > truncate:
        cut = int(numpy.flatnonzero(first)[truncate - 1]) + 1
    buckets: Dict[int, Tuple[int, numpy.ndarray, int]] = {}
    start = 0
    for (bucket, _), size in zip(index, sizes):
        stop = start + size
        local_first = first[start:stop]
        repeats = numpy.flatnonzero(~local_first)
        local_cut = -1
        if cut < stop:
            local_cut = max(0, cut - start)
            repeats = repeats[repeats < local_cut]
        rank = int(distinct_before[start]) if size else 0
        buckets[bucket] = (rank, repeats, local_cut)
        start = stop
    n_distinct = int(first[:cut].sum())
    return Selection(buckets, n_distinct, int(cut - n_distinct), int(len(first) - cut))


class RankRows(beam.DoFn):
    """(bucket, RowBlock) -> Ranked rows: main output the table's rows (rank < prune, or
    all), output REMAP the rows to remap (with --prune)."""

    REMAP = "remap"

    def __init__(self, prune: int):
        self.prune = prune

    def process(self, item: Tuple[int, RowBlock], selection: Selection):
        bucket, block = item
        rank, repeats, local_cut = selection.buckets[bucket]
        keep = numpy.ones(len(block.keys), dtype=bool)
        keep[repeats] = False
        if local_cut >= 0:
            keep[local_cut:] = False
        block = block.take(numpy.flatnonzero(keep))
        ranks = rank + numpy.arange(len(block.keys), dtype=numpy.int64)
        if not len(ranks):
            return
        kept = len(ranks) if not self.prune else int((ranks < self.prune).sum())
        if kept:
            yield Ranked(ranks[:kept], block.keys[:kept], block.words[:kept],
                         block.vectors[:kept])
        if kept < len(ranks):
            yield beam.pvalue.TaggedOutput(self.REMAP, Ranked(
                ranks[kept:], block.keys[kept:], block.words[kept:], block.vectors[kept:]))
        note_peak_rss()


def assemble_kept(pieces: List[Ranked], n_rows: int, dims: int) -> numpy.ndarray:
    """float32 (n_rows, dims): the kept rows by rank."""
    table = numpy.zeros((n_rows, dims), dtype=numpy.float32)
    for piece in pieces:
        table[piece.ranks] = piece.vectors
    return table


class NearestRows(beam.DoFn):
    """Ranked rows to remap -> the same with `rows` (nearest kept row) and `scores`
    (cosine), `vectors` dropped. The search index is built once per worker process from
    the kept-table side input."""

    def __init__(self, batch_size: int):
        self.batch_size = batch_size
        self._nearest = None
        self._table_id = None

    def process(self, piece: Ranked, kept: numpy.ndarray):
        if self._nearest is None or self._table_id != id(kept):
            self._nearest = NearestKept(kept, batch_size=self.batch_size)
            self._table_id = id(kept)
        # as `init vectors`: BLAS threads only oversubscribe the worker's cores here
        with single_blas_thread():
            rows, scores = self._nearest(piece.vectors)
        note_peak_rss()
        yield piece._replace(vectors=None, rows=rows, scores=scores)
