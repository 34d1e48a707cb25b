"""The nearest kept row: the true cosine maximum (checked in float64), ties to the lower row,
zero vectors handled; and what the prune report holds."""
import numpy
import pytest
from vector_files import brute_force

from nlp_core.vectors_pruning import WORST, NearestKept, prune_report


@pytest.mark.parametrize("batch_size", [7, 1024])
def test_nearest_kept_row_equals_brute_force(batch_size):
    rng = numpy.random.default_rng(0)
    kept = rng.standard_normal((2500, 20)).astype(numpy.float32)
    queries = rng.standard_normal((1500, 20)).astype(numpy.float32)
    rows, scores = NearestKept(kept, batch_size=batch_size)(queries)
    expected_rows, expected_scores = brute_force(kept, queries)
    assert numpy.array_equal(rows, expected_rows)
    assert numpy.allclose(scores, expected_scores, atol=1e-12)


def test_ties_go_to_the_lower_row_and_zero_vectors_score_zero():
    rng = numpy.random.default_rng(1)
    kept = rng.standard_normal((3000, 8)).astype(numpy.float32)
    kept[2100] = kept[40]            # duplicate rows, in different blocks
    kept[41] = 3 * kept[2100]        # same direction, other length: same cosine
    kept[7] = 0
    queries = numpy.stack([kept[2100], -kept[7], 0.5 * kept[40],
                           rng.standard_normal(8).astype(numpy.float32)])
    rows, scores = NearestKept(kept)(queries)
    assert rows[0] == 40 and scores[0] == pytest.approx(1.0)
    assert rows[1] == 0 and scores[1] == 0.0       # a zero query
    assert rows[2] == 40
    assert rows[3] == brute_force(kept, queries[3:])[0][0]


def test_prune_report_holds_counts_similarity_and_the_worst_remaps():
    scores = numpy.linspace(1.0, 0.5, 30)
    rows = numpy.arange(30) % 3
    report = prune_report(source="v.txt", rows_in=40, rows_kept=10, n_keys=40,
                          remapped_scores=scores, remapped_rows=rows,
                          remapped_word=lambda i: f"w{i}", kept_word=lambda r: f"k{r}")
    assert report["rows_in"] == 40 and report["rows_kept"] == 10
    assert report["keys"] == 40 and report["keys_remapped"] == 30
    assert report["similarity"]["mean"] == pytest.approx(0.75)
    assert report["similarity"]["p5"] == pytest.approx(numpy.percentile(scores, 5))
    assert report["similarity"]["min"] == pytest.approx(0.5)
    worst = report["worst"]
    assert len(worst) == WORST
    assert worst[0] == {"word": "w29", "kept_word": "k2", "score": 0.5}
    assert [w["score"] for w in worst] == sorted(w["score"] for w in worst)


@pytest.mark.parametrize("threads", [2, 3])
def test_threads_give_the_same_rows_and_scores(threads):
    rng = numpy.random.default_rng(3)
    kept = rng.standard_normal((2500, 16)).astype(numpy.float32)
    kept[1700] = kept[40]  # a tie, won by the lower row whatever thread scores it
    queries = rng.standard_normal((5000, 16)).astype(numpy.float32)
    queries[17] = kept[40] * 2
    queries[4000] = 0
    single = NearestKept(kept, batch_size=256)(queries)
    nearest = NearestKept(kept, batch_size=256, threads=threads)
    rows, scores = nearest(queries)
    nearest.close()
    numpy.testing.assert_array_equal(rows, single[0])
    numpy.testing.assert_array_equal(scores, single[1])
    assert rows[17] == 40 and rows[4000] == 0
    numpy.testing.assert_array_equal(rows, brute_force(kept, queries)[0])
    assert nearest(queries[:300])[0].tolist() == rows[:300].tolist()  # closed: unthreaded
