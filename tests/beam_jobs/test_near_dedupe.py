"""NearDedupe on FnApiRunner: which documents go, which stay, against a plain-Python
reference (same signatures, union-find instead of Beam); determinism across bundle splits;
the star rounds; metrics; settings and bad input."""
import dataclasses
import json
import random
from collections import defaultdict

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from beam_jobs import minhash, near_dedupe
from beam_jobs.near_dedupe import (
    NearDedupe,
    NearDedupeSettings,
    bucket_pairs,
    capped_pairs,
    large_star,
    rank_of,
    small_star,
)

WORDS = [f"w{i}" for i in range(5000)]


def _text(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _edit(rng, text, n_edits):
    words = text.split()
    for _ in range(n_edits):
        words[rng.randrange(len(words))] = rng.choice(WORDS)
    return " ".join(words)


def _corpus(seed=0, n=120):
    """Random originals, near copies with 1-12 substitutions (some of copies: chains), and a
    sliding-window chain whose neighbours are near duplicates but whose ends are not."""
    rng = random.Random(seed)
    texts = [_text(rng, rng.randint(30, 120)) for _ in range(n)]
    for _ in range(n // 2):
        texts.append(_edit(rng, rng.choice(texts), rng.randint(1, 12)))
    stream = _text(rng, 1000)
    words = stream.split()
    texts += [" ".join(words[i * 12:i * 12 + 180]) for i in range(40)]
    texts += ["", "short doc", "short doc again"]
    ids = [f"id{v:05d}" for v in rng.sample(range(100000), len(texts))]
    return list(zip(ids, texts))


def reference(docs, settings):
    """The same decisions in plain Python: candidates from equal bands (all pairs), verified
    by the estimate, components by union-find, the smallest rank kept."""
    a, b = minhash.permutations(settings.num_perm, settings.seed)
    kept_docs = [(i, t) for i, t in docs if minhash.words_of(t)]
    full = minhash.signatures([minhash.shingle_hashes(t, settings.ngram) for _, t in kept_docs],
                              a, b)
    sigs = minhash.truncate(full)
    bands = minhash.band_hashes(full, settings.bands, settings.rows)
    buckets = defaultdict(set)
    for row in range(len(kept_docs)):
        for band in range(settings.bands):
            buckets[(band, int(bands[row, band]))].add(row)
    parent = list(range(len(kept_docs)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for members in buckets.values():
        members = sorted(members)
        for i in members:
            for j in members:
                if i < j and minhash.estimated_jaccard(sigs[i], sigs[j]) >= settings.threshold:
                    parent[find(i)] = find(j)
    clusters = defaultdict(list)
    for row in range(len(kept_docs)):
        clusters[find(row)].append(row)
    removed = []
    for rows in clusters.values():
        best = min(rows, key=lambda r: rank_of(*kept_docs[r], settings.keep))
        for r in rows:
            if r != best:
                removed.append((kept_docs[r][0], kept_docs[best][0],
                                minhash.estimated_jaccard(sigs[r], sigs[best])))
    return sorted(removed)


# small clusters converge in a few rounds; the chain test below runs the default 20
FEW_ROUNDS = 8


def test_matches_the_reference_keep_first_and_longest():
    docs = _corpus()
    with beam.Pipeline(runner=FnApiRunner()) as p:
        created = p | beam.Create(docs)
        for keep in ("first", "longest"):
            settings = NearDedupeSettings(keep=keep, batch_size=64, max_rounds=FEW_ROUNDS)
            expected = reference(docs, settings)
            assert len(expected) > 40  # the corpus has clusters, chains included
            removed = created | f"Dedupe-{keep}" >> NearDedupe(settings)
            assert_that(removed, equal_to(expected), label=f"Check-{keep}")


def test_keep_longest_keeps_the_longest_text_and_first_the_lowest_id():
    base = " ".join(WORDS[:60])
    short = " ".join(WORDS[:59])
    # (documents, keep, expected (removed, kept) pairs)
    cases = [([("b", base), ("a", base + " w1 w2"), ("c", short)], "first",
              [("b", "a"), ("c", "a")]),
             ([("b", base), ("a", base + " w1 w2"), ("c", short)], "longest",
              [("b", "a"), ("c", "a")]),
             ([("a", base), ("b", base + " w1 w2"), ("c", short)], "longest",
              [("a", "b"), ("c", "b")]),
             ([("a", base), ("b", base + " w1 w2"), ("c", short)], "first",
              [("b", "a"), ("c", "a")])]
    with beam.Pipeline(runner=FnApiRunner()) as p:
        for i, (docs, keep, expected) in enumerate(cases):
            settings = NearDedupeSettings(keep=keep, max_rounds=2)
            removed = p | f"Create{i}" >> beam.Create(docs) | f"Dedupe{i}" >> NearDedupe(settings)
            assert_that(removed | f"Ids{i}" >> beam.Map(lambda r: (r[0], r[1])),
                        equal_to(expected), label=f"Check{i}")


def test_same_output_whatever_the_bundles(monkeypatch):
    # batches of long documents are signed in parts: make every batch hit that limit too
    monkeypatch.setattr(near_dedupe, "_MAX_HELD_SHINGLES", 300)
    docs = _corpus(seed=3, n=80)
    expected = reference(docs, NearDedupeSettings())
    rng = random.Random(5)
    shuffled = docs[:]
    rng.shuffle(shuffled)
    with beam.Pipeline(runner=FnApiRunner()) as p:
        for i, (batch_size, reshuffle, order) in enumerate(
                ((1, True, shuffled), (7, False, docs), (1000, True, list(reversed(docs))))):
            settings = NearDedupeSettings(batch_size=batch_size, max_rounds=FEW_ROUNDS)
            removed = (p | f"Create{i}" >> beam.Create(order, reshuffle=reshuffle)
                       | f"Dedupe{i}" >> NearDedupe(settings))
            assert_that(removed, equal_to(expected), label=f"Check{i}")


def test_a_chain_converges_over_rounds_and_too_few_rounds_fail_loudly():
    rng = random.Random(11)
    words = _text(rng, 2000).split()
    chain = [" ".join(words[i * 12:i * 12 + 180]) for i in range(60)]
    ids = [f"c{v:04d}" for v in rng.sample(range(10000), len(chain))]
    docs = list(zip(ids, chain))
    expected = reference(docs, NearDedupeSettings())
    assert len(expected) > 30
    with beam.Pipeline(runner=FnApiRunner()) as p:
        assert_that(p | beam.Create(docs) | NearDedupe(NearDedupeSettings()),
                    equal_to(expected))
    with pytest.raises(Exception, match="E563"):
        with beam.Pipeline(runner=FnApiRunner()) as p:
            _ = p | beam.Create(docs) | NearDedupe(NearDedupeSettings(max_rounds=1))


def _star_components(edges, rounds=50):
    adjacency = [e for u, v in edges for e in ((u, v), (v, u))]
    for _ in range(rounds):
        grouped = defaultdict(list)
        for u, v in adjacency:
            grouped[u].append(v)
        large = [e for u, vs in grouped.items() for e in large_star(u, vs)]
        grouped = defaultdict(list)
        for v, m in large:
            grouped[v].append(m)
        small = [e for u, vs in grouped.items() for e in small_star(u, vs)]
        new = sorted({e for v, m in small for e in ((v, m), (m, v))})
        if new == sorted(set(adjacency)):
            return {v: m for v, m in new if m < v}
        adjacency = new
    raise AssertionError("did not converge")


def test_star_rounds_find_the_components_and_their_minima():
    rng = random.Random(2)
    for _ in range(20):
        nodes = [(0, f"n{i:03d}") for i in range(rng.randint(2, 80))]
        edges = {tuple(sorted(rng.sample(nodes, 2))) for _ in range(rng.randint(1, 90))}
        centre = _star_components(sorted(edges))
        parent = {n: n for n in nodes}

        def find(x, parent=parent):
            while parent[x] != x:
                x = parent[x]
            return x

        for u, v in edges:
            parent[find(u)] = find(v)
        members = defaultdict(list)
        for n in nodes:
            members[find(n)].append(n)
        expected = {n: min(group) for group in members.values() if len(group) > 1
                    for n in group if n != min(group)}
        assert centre == expected


def test_bucket_pairs_all_pairs_then_a_window_counted():
    assert list(bucket_pairs(["a", "b", "c"], 10, 1)) == [("a", "b"), ("a", "c"), ("b", "c")]
    assert capped_pairs(3, 10, 1) == 0
    pairs = list(bucket_pairs([f"d{i}" for i in range(6)], 4, 2))
    assert pairs == [("d0", "d1"), ("d0", "d2"), ("d1", "d2"), ("d1", "d3"), ("d2", "d3"),
                     ("d2", "d4"), ("d3", "d4"), ("d3", "d5"), ("d4", "d5")]
    assert capped_pairs(6, 4, 2) == 15 - 9
    for k, size, window in ((50, 10, 3), (11, 10, 10), (11, 10, 30), (1000, 100, 10)):
        ids = [f"{i:05d}" for i in range(k)]
        assert capped_pairs(k, size, window) == k * (k - 1) // 2 - sum(
            1 for _ in bucket_pairs(ids, size, window))


def test_metrics_and_capped_buckets():
    text = " ".join(WORDS[:40])
    docs = [(f"x{i}", text + f" tail{i // 4}") for i in range(8)] + [("z", " ".join(WORDS[100:150]))]
    settings = NearDedupeSettings(max_bucket_size=3, bucket_window=1, max_rounds=FEW_ROUNDS)
    p = beam.Pipeline(runner=FnApiRunner())
    removed = p | beam.Create(docs) | NearDedupe(settings)
    assert_that(removed | beam.Map(lambda r: (r[0], r[1])),
                equal_to([(f"x{i}", "x0") for i in range(1, 8)]))
    result = p.run()
    result.wait_until_finish()
    query = result.metrics().query()
    counters = {c.key.metric.name: c.committed for c in query["counters"]}
    dists = {d.key.metric.name: d.committed for d in query["distributions"]}
    assert counters["documents"] == 9
    assert counters["capped_buckets"] > 0 and counters["capped_pairs"] > 0
    assert counters["candidate_pairs"] >= 7 and counters["verified_pairs"] >= 7
    assert counters["clusters"] == 1 and counters["removed"] == 7
    assert dists["cluster_size"].max == 8 and dists["cluster_size"].count == 1


def test_documents_without_words_stay_and_are_counted():
    docs = [("e1", ""), ("e2", "  \n "), ("a", "one two three")]
    p = beam.Pipeline(runner=FnApiRunner())
    assert_that(p | beam.Create(docs) | NearDedupe(NearDedupeSettings(max_rounds=1)),
                equal_to([]))
    result = p.run()
    result.wait_until_finish()
    counters = {c.key.metric.name: c.committed for c in result.metrics().query()["counters"]}
    assert counters["documents_without_words"] == 2


@pytest.mark.parametrize("element", [("id", 5), ["id", "text", "extra"]])
def test_bad_elements_name_themselves(element):
    with pytest.raises(Exception, match="E561"):
        with beam.Pipeline(runner=FnApiRunner()) as p:
            _ = (p | beam.Create([("ok", "fine text here"), element])
                 | NearDedupe(NearDedupeSettings(max_rounds=1)))


def test_duplicate_ids_are_an_error():
    text = " ".join(WORDS[:30])
    with pytest.raises(Exception, match="E562.*'same'"):
        with beam.Pipeline(runner=FnApiRunner()) as p:
            _ = (p | beam.Create([("same", text), ("same", text + " x"), ("other", text)])
                 | NearDedupe(NearDedupeSettings(max_rounds=1)))


@pytest.mark.parametrize("kwargs,name", [
    ({"num_perm": 1}, "num_perm"), ({"threshold": 0.0}, "threshold"),
    ({"threshold": 1.5}, "threshold"), ({"keep": "last"}, "keep"),
    ({"bands": 4}, "rows"), ({"bands": 20, "rows": 8}, "bands"), ({"ngram": 0}, "ngram"),
    ({"max_rounds": 0}, "max_rounds"), ({"seed": "1"}, "seed")])
def test_settings_are_checked(kwargs, name):
    with pytest.raises(ValueError, match=f"E560.*{name}"):
        NearDedupeSettings(**kwargs)


def test_settings_choose_bands_and_rows_and_are_frozen():
    settings = NearDedupeSettings()
    assert (settings.bands, settings.rows) == (16, 8)
    assert (NearDedupeSettings(bands=20, rows=5).bands, NearDedupeSettings(threshold=0.5).rows) \
        == (20, minhash.lsh_parameters(0.5, 128)[1])
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.threshold = 0.5
    assert np.isclose(settings.threshold, 0.8)


@pytest.mark.slow
def test_multi_processing_runner_gives_the_same_output(tmp_path):
    docs = _corpus()
    settings = NearDedupeSettings(max_rounds=FEW_ROUNDS)
    options = PipelineOptions(["--runner=DirectRunner", "--direct_running_mode=multi_processing",
                               "--direct_num_workers=2"])
    with beam.Pipeline(options=options) as p:
        _ = (p | beam.Create(docs) | NearDedupe(settings)
             | beam.Map(lambda row: json.dumps(list(row)))
             | beam.io.WriteToText(str(tmp_path / "removed")))
    got = sorted(tuple(json.loads(line)) for path in tmp_path.glob("removed*")
                 for line in path.read_text().splitlines())
    assert got == reference(docs, settings)
