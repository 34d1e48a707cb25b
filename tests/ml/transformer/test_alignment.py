"""Wordpiece <-> token alignment: vectorised results equal a plain loop, including tokens
without wordpieces and wordpieces spanning several tokens."""
import numpy
import pytest

from nlp_core.ml.transformer.alignment import (
    overlapping_ranges,
    ragged_ranges,
    shift_offsets,
    split_ranges,
)


def reference(starts, ends, wp_starts, wp_ends):
    out = []
    for s, e in zip(starts, ends):
        out.append([j for j, (ws, we) in enumerate(zip(wp_starts, wp_ends))
                    if ws < e and max(we, ws + 1) > s])
    return out


def as_lists(lo, hi):
    lengths, indices = ragged_ranges(lo, hi)
    bounds = numpy.cumsum(lengths)[:-1]
    return [chunk.tolist() for chunk in numpy.split(indices, bounds)]


def test_token_without_wordpieces_and_wordpiece_over_two_tokens():
    # text "ca n't  x": tokens "ca", "n't", " " (whitespace token), "x";
    # wordpieces "can" (0-3, over "ca" and "n"), "'t" (3-5)... then "x".
    tokens = ([0, 2, 6, 7], [2, 5, 7, 8])
    wordpieces = ([0, 3, 7], [3, 5, 8])
    lo, hi = overlapping_ranges(numpy.array(tokens[0]), numpy.array(tokens[1]),
                                numpy.array(wordpieces[0]), numpy.array(wordpieces[1]))
    assert as_lists(lo, hi) == [[0], [0, 1], [], [2]]


@pytest.mark.parametrize("seed", range(5))
def test_matches_a_loop_on_random_segmentations(seed):
    rng = numpy.random.default_rng(seed)
    n_chars = 200
    cuts = numpy.unique(rng.integers(1, n_chars, 60))
    bounds = numpy.concatenate([[0], cuts, [n_chars]])
    keep = rng.random(len(bounds) - 1) > 0.2  # gaps: characters without a token
    starts, ends = bounds[:-1][keep], bounds[1:][keep]
    wp_cuts = numpy.unique(rng.integers(1, n_chars, 90))
    wp_bounds = numpy.concatenate([[0], wp_cuts, [n_chars]])
    wp_keep = rng.random(len(wp_bounds) - 1) > 0.3  # characters the tokenizer dropped
    wp_starts, wp_ends = wp_bounds[:-1][wp_keep], wp_bounds[1:][wp_keep]
    lo, hi = overlapping_ranges(starts, ends, wp_starts, wp_ends)
    assert as_lists(lo, hi) == reference(starts, ends, wp_starts, wp_ends)


def test_zero_width_wordpiece_belongs_to_its_token():
    lo, hi = overlapping_ranges(numpy.array([0, 3]), numpy.array([3, 6]),
                                numpy.array([0, 3, 3]), numpy.array([3, 3, 6]))
    assert as_lists(lo, hi) == [[0], [1, 2]]


def test_shifted_docs_do_not_touch():
    shifts = shift_offsets([5, 0, 3])
    assert shifts.tolist() == [0, 6, 7]


def test_split_ranges_cuts_long_ranges_and_drops_empty_ones():
    source, lo, hi = split_ranges(numpy.array([0, 10, 12]), numpy.array([7, 10, 15]), 3)
    assert source.tolist() == [0, 0, 0, 2]
    assert list(zip(lo.tolist(), hi.tolist())) == [(0, 3), (3, 6), (6, 7), (12, 15)]
