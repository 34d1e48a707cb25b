"""Pruning a vectors table: keep its first rows, point every other key at the kept row
whose vector is nearest by cosine, and report how good those remaps are.

The search is batched matrix products in float32 over the kept rows (scaled by their
inverse norms, so no normalised copy of the table is made), followed by an exact float64
re-score of every kept row within float32 rounding of the best: the result is the true
nearest kept row, and of rows whose cosines agree to 1e-12 (duplicate vectors) the lowest.
Rows are never reordered.
"""
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, Tuple

import numpy

# Kept rows scored at once: with the default batch, 1024 x 1024 float32 scores (4 MB).
KEPT_BLOCK = 1024
DEFAULT_BATCH = 1024
# Cosines that agree this closely in float64 are a tie, won by the lower row.
TIE = 1e-12
# Candidate (query, kept row) pairs re-scored in float64 at once.
PAIR_CHUNK = 1 << 18
WORST = 20


def _norms(table: numpy.ndarray, chunk: int = 1 << 12) -> numpy.ndarray:
    """float64 (n,) Euclidean norms of the rows, a chunk at a time (no full float64 copy:
    4,096 rows of 300 floats are 9.4 MiB as float64, where 65,536 rows were the whole of a
    50,000-row kept table, 114 MiB)."""
    out = numpy.empty(len(table), dtype=numpy.float64)
    for start in range(0, len(table), chunk):
        part = table[start:start + chunk].astype(numpy.float64)
        out[start:start + chunk] = numpy.sqrt(numpy.einsum("ij,ij->i", part, part))
    return out


class NearestKept:
    """Nearest kept row by cosine for batches of query vectors.

    Args:
        kept: float32 (n_kept, width), the rows that stay; read, never copied or changed.
        batch_size: queries scored together (default 1024); memory is about
            batch_size x KEPT_BLOCK x 4 bytes of scores per thread.
        threads: a call's queries are split over this many threads (numpy's products
            release the GIL), each running single-threaded BLAS on its own buffers; the
            result does not depend on it. 1 (the default) runs in the calling thread.
    """

    def __init__(self, kept: numpy.ndarray, *, batch_size: int | None = None,
                 threads: int = 1):
        if kept.ndim != 2 or len(kept) == 0:
            raise ValueError("NearestKept needs a non-empty (n_kept, width) table")
        if threads < 1:
            raise ValueError(f"NearestKept: threads must be >= 1, not {threads}")
        self.kept = kept
        self.batch_size = batch_size or DEFAULT_BATCH
        self.threads = threads
        self._pool = ThreadPoolExecutor(threads) if threads > 1 else None
        self.norms = _norms(kept)
        with numpy.errstate(divide="ignore"):
            self.inverse = numpy.where(self.norms > 0, 1.0 / self.norms, 0.0).astype(
                numpy.float32)
        # float32 rounding of a cosine over `width` products, with a factor 2 to spare
        self.tolerance = (kept.shape[1] + 8) * 2.0 ** -23
        self._local = threading.local()  # each thread's score buffers

    def __call__(self, queries: numpy.ndarray) -> Tuple[numpy.ndarray, numpy.ndarray]:
        """For float32 (n, width) queries: int64 (n,) kept rows and float64 (n,) cosines.
        A zero query has cosine 0 with every row and maps to row 0."""
        rows = numpy.zeros(len(queries), dtype=numpy.int64)
        scores = numpy.zeros(len(queries), dtype=numpy.float64)
        parts = [slice(start, start + self.batch_size)
                 for start in range(0, len(queries), self.batch_size)]
        if self._pool is None or len(parts) < 2:
            for part in parts:
                rows[part], scores[part] = self._batch(queries[part])
            return rows, scores
        # Contiguous runs of batches, one per thread: each writes its own slices.
        share = -(-len(parts) // self.threads)

        def run(chunk):
            for part in chunk:
                rows[part], scores[part] = self._batch(queries[part])

        for done in [self._pool.submit(run, parts[i:i + share])
                     for i in range(0, len(parts), share)]:
            done.result()
        return rows, scores

    def close(self) -> None:
        """Stop the threads (when `threads` > 1); the object still works, unthreaded."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _batch(self, queries: numpy.ndarray) -> Tuple[numpy.ndarray, numpy.ndarray]:
        q_norms = _norms(queries)
        rows = numpy.zeros(len(queries), dtype=numpy.int64)
        scores = numpy.zeros(len(queries), dtype=numpy.float64)
        live = numpy.flatnonzero(q_norms > 0)
        if not len(live):
            return rows, scores
        q_index, k_index = self._candidates(
            queries[live] * (1.0 / q_norms[live]).astype(numpy.float32)[:, None])
        exact = numpy.empty(len(q_index), dtype=numpy.float64)
        for start in range(0, len(q_index), PAIR_CHUNK):
            qi = live[q_index[start:start + PAIR_CHUNK]]
            ki = k_index[start:start + PAIR_CHUNK]
            dots = numpy.einsum("ij,ij->i", queries[qi].astype(numpy.float64),
                                self.kept[ki].astype(numpy.float64))
            denom = q_norms[qi] * self.norms[ki]
            exact[start:start + PAIR_CHUNK] = numpy.where(
                denom > 0, dots / numpy.where(denom > 0, denom, 1.0), 0.0)
        # Pairs are sorted by query, then by kept row: one group per live query.
        new_group = numpy.r_[True, q_index[1:] != q_index[:-1]]
        starts = numpy.flatnonzero(new_group)
        group_max = numpy.maximum.reduceat(exact, starts)
        near = exact >= group_max[numpy.cumsum(new_group) - 1] - TIE
        candidate = numpy.where(near, k_index, numpy.iinfo(numpy.int64).max)
        rows[live] = numpy.minimum.reduceat(candidate, starts)
        scores[live] = group_max
        return rows, scores

    def _candidates(self, unit: numpy.ndarray) -> Tuple[numpy.ndarray, numpy.ndarray]:
        """(query, kept row) pairs whose float32 cosine is within `tolerance` of the
        query's best, sorted by query then row; every query has at least one.

        The kept rows are scanned in blocks small enough that each block's scores stay in
        the CPU cache, keeping only each block's best score per query; then the blocks
        whose best is near a query's best (one per query, but for near ties) are scored
        again for that query alone and the near pairs collected: the second pass costs
        1/n_blocks of the first, and the first needs no comparison over every score."""
        n_kept = len(self.kept)
        starts = range(0, n_kept, KEPT_BLOCK)
        block_best = numpy.empty((len(unit), len(starts)), dtype=numpy.float32)
        for b, start in enumerate(starts):
            block = self._block(start)
            approx = self._buffer("scores", (len(unit), len(block)))
            numpy.matmul(unit, block.T, out=approx)
            approx.max(axis=1, out=block_best[:, b])
        best = block_best.max(axis=1)
        floor = best - self.tolerance
        near = block_best >= floor[:, None]
        found_q, found_k = [], []
        for b, start in enumerate(starts):
            queries = numpy.flatnonzero(near[:, b])
            if not len(queries):
                continue
            approx = unit[queries] @ self._block(start).T
            qi, ki = numpy.divmod(numpy.flatnonzero(approx >= floor[queries, None]),
                                  approx.shape[1])
            found_q.append(queries[qi])
            found_k.append(ki + start)
        q_index, k_index = numpy.concatenate(found_q), numpy.concatenate(found_k)
        order = numpy.lexsort((k_index, q_index))
        return q_index[order], k_index[order]

    def _block(self, start: int) -> numpy.ndarray:
        """Kept rows start:start + KEPT_BLOCK scaled to unit length (float32; a reused
        buffer, valid until the next call)."""
        stop = min(start + KEPT_BLOCK, len(self.kept))
        out = self._buffer("block", (stop - start, self.kept.shape[1]))
        return numpy.multiply(self.kept[start:stop], self.inverse[start:stop, None], out=out)

    def _buffer(self, name: str, shape: Tuple[int, int]) -> numpy.ndarray:
        # Reused: a fresh 4 MB array per block is a fresh mmap whose pages all fault in
        # (2x slower pruning once malloc hands large blocks back, as `init vectors` sets)
        buffers = self._local.__dict__.setdefault("buffers", {})
        key = (name, shape)
        if key not in buffers:
            if len(buffers) > 8:
                buffers.clear()
            buffers[key] = numpy.empty(shape, dtype=numpy.float32)
        return buffers[key]


def prune_report(*, source: str, rows_in: int, rows_kept: int, n_keys: int,
                 remapped_scores: numpy.ndarray, remapped_rows: numpy.ndarray,
                 remapped_word: Callable[[int], str], kept_word: Callable[[int], str],
                 extra: Dict[str, object] | None = None) -> Dict[str, object]:
    """What `prune_report.json` holds: rows in and kept, keys remapped, the cosine of the
    remaps (mean, 5th percentile, minimum) and the `WORST` remaps with their scores.

    Args:
        remapped_scores: float (m,) cosine of each remapped key to its kept row, in the
            order the keys were read.
        remapped_rows: int (m,) the kept row of each remapped key.
        remapped_word: i -> the word of the i-th remapped key.
        kept_word: row -> the word that owns kept row `row`.
    """
    scores = numpy.asarray(remapped_scores, dtype=numpy.float64)
    report: Dict[str, object] = {"source": source, "rows_in": int(rows_in),
                                 "rows_kept": int(rows_kept), "keys": int(n_keys),
                                 "keys_remapped": int(len(scores))}
    if len(scores):
        report["similarity"] = {
            "mean": round(float(scores.mean()), 6),
            "p5": round(float(numpy.percentile(scores, 5)), 6),
            "min": round(float(scores.min()), 6),
        }
        worst = numpy.argsort(scores, kind="stable")[:WORST]
        report["worst"] = [{"word": remapped_word(int(i)),
                            "kept_word": kept_word(int(remapped_rows[i])),
                            "score": round(float(scores[i]), 6)} for i in worst]
    else:
        report["similarity"] = None
        report["worst"] = []
    report.update(extra or {})
    return report
