"""The steps of the vector-conversion job between reading and writing: the first
occurrence of each key, each row's place in the table, pruning.

The input is read in three passes, shard by shard (vector_shards.py commits each pass's
result per shard to files), so that the rows' vectors never cross the runner (a shuffle,
or the in-memory runner's buffers) and a worker holds a chunk of rows and, when
remapping, the kept table:

    1. ParseRows -> keys      every good row's (position, key): 16 bytes a row
       SelectRows (one        -> `Selection`: the positions of the distinct rows (first
       worker)                occurrence of each key, before the --truncate cut), sorted,
                              so a row's rank (its row in the unpruned table) is its index
                              there; 8 bytes a row, never a vector
    2. KeptRows               the input again: each row of rank < --prune (or every row)
                              with its rank and vector -> the table; a chunk that lies
                              wholly after the last kept row is not parsed
    3. RemapRows (--prune)    the input again, with the kept table (kept_table.npy,
                              loaded once per worker): each other row -> nearest kept row by cosine
                              (nlp_core.vectors_pruning.NearestKept: float32 products,
                              float64 re-score of near ties, lower row wins); only (rank,
                              key, word, row, score) leave the worker

A row's position is `(file index << FILE_SHIFT) | byte offset` (vector_rows.py): which
rows make the table never depends on how the input was split.
"""
from typing import Any, Iterator, List, NamedTuple, Optional, Tuple

import numpy

from nlp_core.training.loop import single_blas_thread
from nlp_core.vectors_pruning import NearestKept

from .vector_memory import note_peak_rss
from .vector_rows import RowBlock


class Selection(NamedTuple):
    """Which rows make the table: int64 `positions` of the distinct rows in file order
    (a row's rank is its index here)."""

    positions: numpy.ndarray
    duplicates: int   # repeated keys before the --truncate cut
    truncated: int    # rows after the cut

    @property
    def n_distinct(self) -> int:
        """Distinct rows kept or remapped (after --truncate)."""
        return len(self.positions)

    def last_position(self, rank: int) -> int:
        """The position of the row of rank `rank - 1` (the last of the first `rank` rows;
        -1 when there is none)."""
        rank = min(rank, len(self.positions))
        return int(self.positions[rank - 1]) if rank else -1


class Ranked(NamedTuple):
    """Distinct rows with their rank (row in the unpruned table)."""

    ranks: numpy.ndarray
    keys: numpy.ndarray
    words: Any  # a list of str, or an Arrow string array (read back from a shard's file)
    vectors: Optional[numpy.ndarray]  # None once remapped
    rows: Optional[numpy.ndarray] = None    # remapped: the kept row
    scores: Optional[numpy.ndarray] = None  # remapped: its cosine


def select_rows(pieces: List[Tuple[numpy.ndarray, numpy.ndarray]], truncate: int
                ) -> Selection:
    """The `Selection` from every good row's (position, key): in position order, the
    first occurrence of a key wins; with `truncate`, rows after the truncate-th distinct
    row are cut (as `init vectors --truncate` stops reading there)."""
    if pieces:
        positions = numpy.concatenate([p for p, _ in pieces])
        keys = numpy.concatenate([k for _, k in pieces])
    else:
        positions, keys = numpy.zeros(0, numpy.int64), numpy.zeros(0, numpy.uint64)
    del pieces
    order = numpy.argsort(positions, kind="stable")
    positions, keys = positions[order], keys[order]
    del order
    first = numpy.zeros(len(keys), dtype=bool)
    first[numpy.unique(keys, return_index=True)[1]] = True
    del keys
    cut = len(first)
    if truncate and first.sum() > truncate:
        cut = int(numpy.flatnonzero(first)[truncate - 1]) + 1
    distinct = positions[:cut][first[:cut]]
    return Selection(distinct, int(cut - len(distinct)), int(len(first) - cut))


def rank_block(block: RowBlock, selection: Selection) -> Tuple[numpy.ndarray, RowBlock]:
    """`block`'s rows that are in the table (distinct, before the cut) and their ranks:
    int64 (n,) and the RowBlock, in the block's order."""
    ranks = numpy.searchsorted(selection.positions, block.positions)
    found = ranks < len(selection.positions)
    found[found] = selection.positions[ranks[found]] == block.positions[found]
    index = numpy.flatnonzero(found)
    return ranks[index], block.take(index)


class KeptRows:
    """Pass 2: a block -> its rows of rank < prune (or every row) as `Ranked` with their
    vectors."""

    def __init__(self, prune: int):
        self.prune = prune

    def skip(self, first_position: int, last_position: int, selection: Selection) -> bool:
        """Whether rows at these positions hold no kept row (not worth parsing)."""
        return bool(self.prune) and first_position > selection.last_position(self.prune)

    def __call__(self, block: RowBlock, selection: Selection) -> Iterator[Ranked]:
        ranks, block = rank_block(block, selection)
        keep = numpy.flatnonzero(ranks < self.prune) if self.prune else None
        if keep is not None and len(keep) < len(ranks):
            ranks, block = ranks[keep], block.take(keep)
        if len(ranks):
            yield Ranked(ranks, block.keys, block.words, block.vectors)
        note_peak_rss()


class RemapRows:
    """Pass 3: a block -> its rows of rank >= prune as `Ranked` with `rows` (nearest kept
    row) and `scores` (cosine), no vectors. The search index is built once per worker
    process from the kept table."""

    def __init__(self, prune: int, batch_size: int):
        self.prune = prune
        self.batch_size = batch_size
        self._nearest = None
        self._table_id = None

    def skip(self, first_position: int, last_position: int, selection: Selection) -> bool:
        """Whether rows at these positions are all kept ones (nothing to remap)."""
        return last_position <= selection.last_position(self.prune)

    def __call__(self, block: RowBlock, selection: Selection, kept: numpy.ndarray
                 ) -> Iterator[Ranked]:
        ranks, block = rank_block(block, selection)
        other = numpy.flatnonzero(ranks >= self.prune)
        if not len(other):
            return
        ranks, block = ranks[other], block.take(other)
        if self._nearest is None or self._table_id != id(kept):
            self._nearest = NearestKept(kept, batch_size=self.batch_size)
            self._table_id = id(kept)
        # as `init vectors`: BLAS threads only oversubscribe the worker's cores here
        with single_blas_thread():
            rows, scores = self._nearest(block.vectors)
        note_peak_rss()
        yield Ranked(ranks, block.keys, block.words, None, rows, scores)
