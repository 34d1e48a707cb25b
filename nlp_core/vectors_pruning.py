"""Pruning a vectors table: keep its first rows, point every other key at the kept row
whose vector is nearest by cosine, and report how good those remaps are.

The search is batched matrix products in float32 over the kept rows (scaled by their
inverse norms, so no normalised copy of the table is made), followed by an exact float64
re-score of every kept row within float32 rounding of the best: the result is the true
nearest kept row, and of rows whose cosines agree to 1e-12 (duplicate vectors) the lowest.
Rows are never reordered.
"""
from typing import Callable, Dict, Tuple

import numpy

# Scores are `batch x kept` float32: the default batch keeps that matrix near 16 MB.
SCORE_ELEMENTS = 1 << 22
# Cosines that agree this closely in float64 are a tie, won by the lower row.
TIE = 1e-12
# Candidate (query, kept row) pairs re-scored in float64 at once.
PAIR_CHUNK = 1 << 18
WORST = 20


def default_batch_size(n_kept: int) -> int:
    """Queries per matrix product: about 16 MB of float32 scores, 16 to 4096 rows."""
    return int(min(4096, max(16, SCORE_ELEMENTS // max(1, n_kept))))


def _norms(table: numpy.ndarray, chunk: int = 1 << 16) -> numpy.ndarray:
    """float64 (n,) Euclidean norms of the rows, a chunk at a time (no full float64 copy)."""
    out = numpy.empty(len(table), dtype=numpy.float64)
    for start in range(0, len(table), chunk):
        part = table[start:start + chunk].astype(numpy.float64)
        out[start:start + chunk] = numpy.sqrt(numpy.einsum("ij,ij->i", part, part))
    return out


class NearestKept:
    """Nearest kept row by cosine for batches of query vectors.

    Args:
        kept: float32 (n_kept, width), the rows that stay; read, never copied or changed.
        batch_size: queries per matrix product (default: `default_batch_size`).
    """

    def __init__(self, kept: numpy.ndarray, *, batch_size: int | None = None):
        if kept.ndim != 2 or len(kept) == 0:
            raise ValueError("NearestKept needs a non-empty (n_kept, width) table")
        self.kept = kept
        self.batch_size = batch_size or default_batch_size(len(kept))
        self.norms = _norms(kept)
        with numpy.errstate(divide="ignore"):
            self.inverse = numpy.where(self.norms > 0, 1.0 / self.norms, 0.0).astype(
                numpy.float32)
        # float32 rounding of a cosine over `width` products, with a factor 2 to spare
        self.tolerance = (kept.shape[1] + 8) * 2.0 ** -23

    def __call__(self, queries: numpy.ndarray) -> Tuple[numpy.ndarray, numpy.ndarray]:
        """For float32 (n, width) queries: int64 (n,) kept rows and float64 (n,) cosines.
        A zero query has cosine 0 with every row and maps to row 0."""
        rows = numpy.zeros(len(queries), dtype=numpy.int64)
        scores = numpy.zeros(len(queries), dtype=numpy.float64)
        for start in range(0, len(queries), self.batch_size):
            part = slice(start, start + self.batch_size)
            rows[part], scores[part] = self._batch(queries[part])
        return rows, scores

    def _batch(self, queries: numpy.ndarray) -> Tuple[numpy.ndarray, numpy.ndarray]:
        q_norms = _norms(queries)
        rows = numpy.zeros(len(queries), dtype=numpy.int64)
        scores = numpy.zeros(len(queries), dtype=numpy.float64)
        live = numpy.flatnonzero(q_norms > 0)
        if not len(live):
            return rows, scores
        unit = queries[live] * (1.0 / q_norms[live]).astype(numpy.float32)[:, None]
        approx = unit @ self.kept.T
        approx *= self.inverse[None, :]
        best = approx.max(axis=1)
        q_index, k_index = numpy.nonzero(approx >= (best - self.tolerance)[:, None])
        del approx
        exact = numpy.empty(len(q_index), dtype=numpy.float64)
        for start in range(0, len(q_index), PAIR_CHUNK):
            qi = q_index[start:start + PAIR_CHUNK]
            ki = k_index[start:start + PAIR_CHUNK]
            dots = numpy.einsum("ij,ij->i", queries[live[qi]].astype(numpy.float64),
                                self.kept[ki].astype(numpy.float64))
            denom = q_norms[live[qi]] * self.norms[ki]
            exact[start:start + PAIR_CHUNK] = numpy.where(denom > 0, dots / numpy.where(
                denom > 0, denom, 1.0), 0.0)
        # Pairs come sorted by query, then by kept row: one group per live query.
        starts = numpy.flatnonzero(numpy.r_[True, q_index[1:] != q_index[:-1]])
        group_max = numpy.maximum.reduceat(exact, starts)
        group = numpy.cumsum(numpy.r_[False, q_index[1:] != q_index[:-1]])
        near = exact >= group_max[group] - TIE
        candidate = numpy.where(near, k_index, numpy.iinfo(numpy.int64).max)
        rows[live] = numpy.minimum.reduceat(candidate, starts)
        scores[live] = group_max
        return rows, scores


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
