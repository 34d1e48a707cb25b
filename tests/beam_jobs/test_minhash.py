"""MinHash and LSH pure functions: shingles, exact modular hashing, signatures, bands, the
choice of bands x rows."""
import random

import numpy as np
import pytest

from beam_jobs import minhash

P = (1 << 61) - 1


def test_shingle_set_word_ngrams_lowercased():
    assert minhash.shingle_set("A b  c\nD e f", 5) == {("a", "b", "c", "d", "e"),
                                                       ("b", "c", "d", "e", "f")}
    # shorter than n words: the whole sequence is one shingle; no words: no shingles
    assert minhash.shingle_set("Only three words", 5) == {("only", "three", "words")}
    assert minhash.shingle_set(" \n\t", 5) == set()


def test_shingle_hashes_one_per_window_and_equal_for_equal_shingles():
    hashes = minhash.shingle_hashes("a b c d e f a b c d e", 5)
    assert hashes.dtype == np.uint64 and hashes.shape == (7,)
    assert hashes[0] == hashes[6]  # "a b c d e" twice
    assert len(set(hashes.tolist())) == 6
    # case and whitespace do not matter; order does
    assert (minhash.shingle_hashes("A  B c d E", 5) == minhash.shingle_hashes("a b c d e", 5)).all()
    assert minhash.shingle_hashes("b a c d e", 5)[0] != minhash.shingle_hashes("a b c d e", 5)[0]
    # a short document's single shingle differs from a longer window's hash of a prefix
    assert minhash.shingle_hashes("a b c", 5).shape == (1,)
    assert minhash.shingle_hashes("a b c", 5)[0] != minhash.shingle_hashes("a b c d", 5)[0]
    assert minhash.shingle_hashes("", 5).shape == (0,)


def test_shingle_hashes_are_stable_values():
    # fixed numbers: signatures must agree across processes, runs and machines
    assert int(minhash.shingle_hashes("the quick brown fox jumps", 5)[0]) == int(
        minhash.shingle_hashes("The quick brown fox jumps", 5)[0])
    a, b = minhash.permutations(4, seed=1)
    again = minhash.permutations(4, seed=1)
    assert (a == again[0]).all() and (b == again[1]).all()
    assert not (minhash.permutations(4, seed=2)[0] == a).all()
    assert all(1 <= int(v) < P for v in a) and all(0 <= int(v) < P for v in b)


def test_affine61_is_exact():
    rng = random.Random(0)
    a = [rng.randrange(1, P) for _ in range(64)] + [P - 1, 1]
    b = [rng.randrange(P) for _ in range(64)] + [P - 1, 0]
    x = [rng.randrange(P) for _ in range(300)] + [P - 1, P - 2, 0, 1, (1 << 32) - 1, 1 << 32]
    got = minhash.affine61(np.array([a], dtype=np.uint64), np.array([b], dtype=np.uint64),
                           np.array(x, dtype=np.uint64)[:, None])
    assert got.shape == (len(x), len(a))
    assert [[int(v) for v in row] for row in got] == [
        [(ai * xi + bi) % P for ai, bi in zip(a, b)] for xi in x]


def _reference_signature(hashes, a, b):
    return [min((int(ai) * (int(h) % P) + int(bi)) % P for h in hashes)
            for ai, bi in zip(a, b)]


def test_signatures_match_python_integers_and_any_block_size(monkeypatch):
    rng = random.Random(1)
    a, b = minhash.permutations(32, seed=3)
    docs = [minhash.shingle_hashes(" ".join(f"w{rng.randrange(300)}"
                                            for _ in range(rng.randrange(1, 200))), 5)
            for _ in range(40)]
    sig = minhash.signatures(docs, a, b)
    assert sig.shape == (40, 32) and sig.dtype == np.uint64
    for i in (0, 7, 39):
        assert [int(v) for v in sig[i]] == _reference_signature(docs[i], a, b)
    # blocks that cut documents in pieces give the same minima
    monkeypatch.setattr(minhash, "_BLOCK_VALUES", 32 * 7)
    assert (minhash.signatures(docs, a, b) == sig).all()
    with pytest.raises(ValueError):
        minhash.signatures([np.empty(0, np.uint64)], a, b)


def test_estimated_jaccard_tracks_the_true_one():
    a, b = minhash.permutations(256, seed=1)
    words = [f"w{i}" for i in range(400)]
    base = " ".join(words)
    for changed in (10, 40, 120):
        edited = words[:]
        for i in range(0, len(words), len(words) // changed):
            edited[i] = "x" + edited[i]
        text = " ".join(edited)
        sa, sb = minhash.shingle_set(base, 5), minhash.shingle_set(text, 5)
        true = len(sa & sb) / len(sa | sb)
        sig = minhash.truncate(minhash.signatures([minhash.shingle_hashes(base, 5),
                                                   minhash.shingle_hashes(text, 5)], a, b))
        assert sig.dtype == np.uint32
        # 256 permutations: standard error <= 0.032; 4 sigma
        assert abs(minhash.estimated_jaccard(sig[0], sig[1]) - true) < 0.13


def test_band_hashes_equal_exactly_when_bands_equal():
    sig = np.arange(24, dtype=np.uint64).reshape(2, 12)
    assert minhash.band_hashes(sig, 3, 4).shape == (2, 3)
    same = sig.copy()
    same[1] = sig[0]
    same[1, 4] += 1  # one value of band 1 (of 3 bands of 4 rows) differs
    h = minhash.band_hashes(same, 3, 4)
    assert h[0, 0] == h[1, 0] and h[0, 2] == h[1, 2] and h[0, 1] != h[1, 1]
    # values past bands * rows are ignored
    assert (minhash.band_hashes(same[:, :12], 3, 4) == minhash.band_hashes(
        np.concatenate([same, same[:, :3]], axis=1), 3, 4)).all()


def test_lsh_parameters_minimise_the_weighted_error():
    bands, rows = minhash.lsh_parameters(0.8, 128)
    assert (bands, rows) == (16, 8)
    assert minhash.candidate_probability(0.85, bands, rows) > 0.99
    assert minhash.candidate_probability(0.5, bands, rows) < 0.07
    # equal weights reproduce the literature's choice for 0.8 / 128 (datasketch: 9 x 13)
    assert minhash.lsh_parameters(0.8, 128, 0.5, 0.5) == (9, 13)
    for threshold in (0.5, 0.7, 0.9):
        b, r = minhash.lsh_parameters(threshold, 64)
        assert b * r <= 64
        assert minhash.candidate_probability(threshold + 0.05, b, r) > 0.9
