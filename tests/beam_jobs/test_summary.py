"""The run summary's counts: `tuple_sum` (Beam's TupleCombineFn summing each position)
adds up the per-batch (read, blank) and (docs, tokens, chars, seconds) tuples."""
import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from beam_jobs.summary import make_summary, tuple_sum

STATS = [(3, 40, 200, 0.5), (1, 7, 30, 0.25), (0, 0, 0, 0.0), (5, 61, 310, 1.0)]


def test_tuple_sum_in_a_pipeline():
    with BeamTestPipeline(runner="FnApiRunner") as p:
        total = (p | "Stats" >> beam.Create(STATS)
                 | "Sum" >> beam.CombineGlobally(tuple_sum(4)))
        empty = (p | "Nothing" >> beam.Create([], reshuffle=False).with_output_types(tuple)
                 | "SumNothing" >> beam.CombineGlobally(tuple_sum(2)))
        assert_that(total, equal_to([(9, 108, 540, 1.75)]), label="CheckTotal")
        assert_that(empty, equal_to([(0, 0)]), label="CheckEmpty")


def test_tuple_sum_merges_partial_sums():
    """What a runner does with the bundles of one key: partial sums, then a merge."""
    combine = tuple_sum(4)
    parts = []
    for chunk in (STATS[:1], STATS[1:3], [], STATS[3:]):
        acc = combine.create_accumulator()
        for stats in chunk:
            acc = combine.add_input(acc, stats)
        parts.append(acc)
    total = combine.extract_output(combine.merge_accumulators(parts))
    assert tuple(total) == (9, 108, 540, 1.75)
    assert all(isinstance(n, int) for n in total[:3])


def test_summary_reconciles_from_the_sums():
    combine = tuple_sum(4)
    acc = combine.create_accumulator()
    for stats in STATS:
        acc = combine.add_input(acc, stats)
    summary = make_summary({"job": "annotate"}, (11, 2), tuple(combine.extract_output(acc)),
                           {"bad_json": 2}, ["a.parquet"], ["d.parquet"])
    assert summary["counts"]["read"] == 11 and summary["counts"]["annotated"] == 9
    assert summary["counts"]["dead_lettered"] == 2 and summary["reconciled"] is True
    assert summary["counts"]["tokens"] == 108
    assert summary["annotate_seconds"] == pytest.approx(1.75)
