"""Which wordpieces a character range covers, for many ranges at once (numpy, no Python
loop over tokens or wordpieces).

A token (or span) [start, end) is aligned with every wordpiece whose character range
[wp_start, wp_end) overlaps it. So a token that the wordpiece tokenizer dropped (only
whitespace, or characters its normaliser removes) gets no wordpiece, and a wordpiece
spanning two tokens ("can" over the tokens "ca" + "n't") is aligned with both.

Several docs are handled in one call by shifting each doc's offsets by the total length of
the docs before it (`shift_offsets`), so the ranges of different docs never overlap.
"""
from typing import Sequence, Tuple

import numpy
from thinc.types import Ints1d


def overlapping_ranges(starts: Ints1d, ends: Ints1d, wp_starts: Ints1d, wp_ends: Ints1d
                       ) -> Tuple[Ints1d, Ints1d]:
    """For each character range, the half-open range of wordpieces overlapping it.

    Args:
        starts, ends: (n,) character offsets of the ranges (end exclusive).
        wp_starts, wp_ends: (n_wp,) character offsets of the wordpieces, in text order. A
            zero-width wordpiece at p counts as covering character p.

    Returns:
        (lo, hi): (n,) int64 arrays; range i overlaps wordpieces lo[i] .. hi[i] - 1, and
        none when hi[i] <= lo[i] (then lo[i] == hi[i]).
    """
    wp_starts = numpy.asarray(wp_starts, dtype=numpy.int64)
    wp_ends = numpy.maximum(numpy.asarray(wp_ends, dtype=numpy.int64), wp_starts + 1)
    # Offsets of byte-level tokenizers may repeat (pieces of one character); the running
    # maximum keeps the ends sorted, which searchsorted needs.
    wp_ends = numpy.maximum.accumulate(wp_ends) if len(wp_ends) else wp_ends
    lo = numpy.searchsorted(wp_ends, starts, side="right")
    hi = numpy.searchsorted(wp_starts, ends, side="left")
    return lo, numpy.maximum(hi, lo)


def ragged_ranges(lo: Ints1d, hi: Ints1d) -> Tuple[Ints1d, Ints1d]:
    """Concatenate the integer ranges lo[i] .. hi[i] - 1.

    Returns:
        (lengths, indices): lengths (n,) int32 = hi - lo; indices (sum(lengths),) int32,
        the ranges one after the other.
    """
    lengths = (hi - lo).astype(numpy.int64)
    total = int(lengths.sum())
    first = numpy.cumsum(lengths) - lengths  # where each range starts in `indices`
    indices = numpy.arange(total, dtype=numpy.int64) + numpy.repeat(lo - first, lengths)
    return lengths.astype(numpy.int32), indices.astype(numpy.int32)


def shift_offsets(text_lengths: Sequence[int]) -> Ints1d:
    """(n_docs,) int64 shifts that put the docs' character offsets one after the other,
    with a gap of one character so that no range of one doc touches the next doc."""
    lengths = numpy.asarray(text_lengths, dtype=numpy.int64) + 1
    return numpy.cumsum(lengths) - lengths


def split_ranges(lo: Ints1d, hi: Ints1d, max_length: int) -> Tuple[Ints1d, Ints1d, Ints1d]:
    """Cut each range lo[i] .. hi[i] - 1 into consecutive pieces of at most `max_length`;
    empty ranges give no piece.

    Returns:
        (source, piece_lo, piece_hi): for each piece, the index of its range and its
        bounds, in range order.
    """
    lengths = numpy.maximum(hi - lo, 0)
    n_pieces = -(-lengths // max_length)  # ceil
    source = numpy.repeat(numpy.arange(len(lo)), n_pieces)
    first = numpy.cumsum(n_pieces) - n_pieces
    k = numpy.arange(int(n_pieces.sum())) - numpy.repeat(first, n_pieces)
    piece_lo = lo[source] + k * max_length
    piece_hi = numpy.minimum(piece_lo + max_length, hi[source])
    return source, piece_lo, piece_hi
