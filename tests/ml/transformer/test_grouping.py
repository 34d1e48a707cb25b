"""How windows are grouped into sub-batches (windows.group_windows): filled up to
max_batch_items on a GPU, split at the least padding plus calls on the CPU."""
import itertools

import numpy
import pytest

from nlp_core.ml.transformer.windows import group_windows


def cost(groups, call_positions):
    return sum(len(rows) * longest + call_positions for rows, longest in groups)


def check_partition(groups, lengths, max_items):
    rows = numpy.concatenate([g[0] for g in groups])
    assert sorted(rows.tolist()) == list(range(len(lengths)))
    for members, longest in groups:
        assert longest == lengths[members].max()
        assert len(members) == 1 or len(members) * longest <= max_items
    # shortest windows first, each sub-batch a run of the sorted lengths
    maxima = [longest for _, longest in groups]
    assert maxima == sorted(maxima)


def brute_force(lengths, max_items, call_positions):
    """The least cost over every split of the sorted lengths into runs."""
    ordered = sorted(lengths)
    n, best = len(ordered), float("inf")
    for cuts in itertools.product([False, True], repeat=n - 1):
        total, start = 0, 0
        for end in [i + 1 for i, cut in enumerate(cuts) if cut] + [n]:
            size, longest = end - start, ordered[end - 1]
            if size > 1 and size * longest > max_items:
                break
            total += size * longest + call_positions
            start = end
        else:
            best = min(best, total)
    return best


@pytest.mark.parametrize("seed", range(12))
def test_cpu_grouping_is_the_least_cost_split(seed):
    rng = numpy.random.default_rng(seed)
    lengths = rng.integers(3, 120, size=int(rng.integers(1, 11)))
    max_items = int(rng.choice([64, 256, 1024]))
    groups = group_windows(lengths, max_items, call_positions=64)
    check_partition(groups, lengths, max_items)
    assert cost(groups, 64) == brute_force(lengths.tolist(), max_items, 64)
    # never worse than filling each sub-batch (the GPU's grouping)
    filled = group_windows(lengths, max_items)
    check_partition(filled, lengths, max_items)
    assert cost(groups, 64) <= cost(filled, 64)


def test_short_sentences_are_not_padded_to_the_longest():
    lengths = numpy.array([5, 6, 7, 8, 40, 41, 42, 43] * 8)
    filled = group_windows(lengths, 4096)
    assert len(filled) == 1 and filled[0][1] == 43  # all 64 windows padded to 43
    split = group_windows(lengths, 4096, call_positions=64)
    assert [longest for _, longest in split] == [8, 43]
    assert cost(split, 0) == 32 * 8 + 32 * 43 < cost(filled, 0)


def test_a_window_longer_than_max_items_is_a_group_alone():
    lengths = numpy.array([10, 500, 12])
    for call in (None, 64):
        groups = group_windows(lengths, 100, call_positions=call)
        assert [(sorted(g.tolist()), n) for g, n in groups] == [([0, 2], 12), ([1], 500)]
    assert group_windows(numpy.array([], dtype=numpy.int64), 100, call_positions=64) == []
