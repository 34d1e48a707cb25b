"""floret mode: MurmurHash3_x64_128 (native kernel against a pure-Python reference and a
published value), spaCy's ngrams and rows, and floret's own vectors for a tiny table.

The tiny table and its expected values are the published fixtures of spaCy's
`test_floret_vectors` (bucket 10, dim 10, minn 2, maxn 3, hash count 2, hash seed
2166136261): the full hashed table floret wrote, the plain vectors floret computed from it
for ten words, and the rows of the ngrams of "der".
"""
import json

import numpy
import pytest
from native.hashing import murmurhash3_128, murmurhash3_128_strings

from nlp_core import vectors_floret
from nlp_core.vectors import Vectors
from nlp_core.vocab import Vocab

HASHVEC = """\
-2.2611 3.9302 2.6676 -11.233 0.093715 -10.52 -9.6463 -0.11853 2.101 -0.10145
-3.12 -1.7981 10.7 -6.171 4.4527 10.967 9.073 6.2056 -6.1199 -2.0402
9.5689 5.6721 -8.4832 -1.2249 2.1871 -3.0264 -2.391 -5.3308 -3.2847 -4.0382
3.6268 4.2759 -1.7007 1.5002 5.5266 1.8716 -12.063 0.26314 2.7645 2.4929
-11.683 -7.7068 2.1102 2.214 7.2202 0.69799 3.2173 -5.382 -2.0838 5.0314
-4.3024 8.0241 2.0714 -1.0174 -0.28369 1.7622 7.8797 -1.7795 6.7541 5.6703
8.3574 -5.225 8.6529 8.5605 -8.9465 3.767 -5.4636 -1.4635 -0.98947 -0.58025
-10.01 3.3894 -4.4487 1.1669 -11.904 6.5158 4.3681 0.79913 -6.9131 -8.687
-5.4576 7.1019 -8.8259 1.7189 4.955 -8.9157 -3.8905 -0.60086 -2.1233 5.892
8.0678 -4.4142 3.6236 4.5889 -2.7611 2.4455 0.67096 -4.2822 2.0875 4.6274
"""
FLORET_WORD_VECTORS = """\
, -5.7814 2.6918 0.57029 -3.6985 -2.7079 1.4406 1.0084 1.7463 -3.8625 -3.0565
. 3.8016 -1.759 0.59118 3.3044 -0.72975 0.45221 -2.1412 -3.8933 -2.1238 -0.47409
der 0.08224 2.6601 -1.173 1.1549 -0.42821 -0.097268 -2.5589 -1.609 -0.16968 0.84687
die -2.8781 0.082576 1.9286 -0.33279 0.79488 3.36 3.5609 -0.64328 -2.4152 0.17266
und 2.1558 1.8606 -1.382 0.45424 -0.65889 1.2706 0.5929 -2.0592 -2.6949 -1.6015
" -1.1242 1.4588 -1.6263 1.0382 -2.7609 -0.99794 -0.83478 -1.5711 -1.2137 1.0239
in -0.87635 2.0958 4.0018 -2.2473 -1.2429 2.3474 1.8846 0.46521 -0.506 -0.26653
von -0.10589 1.196 1.1143 -0.40907 -1.0848 -0.054756 -2.5016 -1.0381 -0.41598 0.36982
( 0.59263 2.1856 0.67346 1.0769 1.0701 1.2151 1.718 -3.0441 2.7291 3.719
) 0.13812 3.3267 1.657 0.34729 -3.5459 0.72372 0.63034 -1.6145 1.2733 0.37798
"""
SETTINGS = {"minn": 2, "maxn": 3, "hash_count": 2, "hash_seed": 2166136261}
M64 = (1 << 64) - 1


def reference_murmurhash3_x64_128(data: bytes, seed: int):
    """MurmurHash3_x64_128 written from the algorithm's description, in plain Python."""
    def rotl(x, r):
        return ((x << r) | (x >> (64 - r))) & M64

    def fmix(k):
        k ^= k >> 33
        k = (k * 0xFF51AFD7ED558CCD) & M64
        k ^= k >> 33
        k = (k * 0xC4CEB9FE1A85EC53) & M64
        return k ^ (k >> 33)

    c1, c2 = 0x87C37B91114253D5, 0x4CF5AD432745937F
    h1 = h2 = seed
    n_blocks = len(data) // 16
    for i in range(n_blocks):
        k1 = int.from_bytes(data[16 * i:16 * i + 8], "little")
        k2 = int.from_bytes(data[16 * i + 8:16 * i + 16], "little")
        h1 ^= (rotl((k1 * c1) & M64, 31) * c2) & M64
        h1 = (rotl(h1, 27) + h2) & M64
        h1 = (h1 * 5 + 0x52DCE729) & M64
        h2 ^= (rotl((k2 * c2) & M64, 33) * c1) & M64
        h2 = (rotl(h2, 31) + h1) & M64
        h2 = (h2 * 5 + 0x38495AB5) & M64
    tail = data[16 * n_blocks:]
    if len(tail) > 8:
        k2 = int.from_bytes(tail[8:], "little")
        h2 ^= (rotl((k2 * c2) & M64, 33) * c1) & M64
    if tail:
        k1 = int.from_bytes(tail[:8], "little")
        h1 ^= (rotl((k1 * c1) & M64, 31) * c2) & M64
    h1 ^= len(data)
    h2 ^= len(data)
    h1 = (h1 + h2) & M64
    h2 = (h2 + h1) & M64
    h1, h2 = fmix(h1), fmix(h2)
    h1 = (h1 + h2) & M64
    h2 = (h2 + h1) & M64
    return h1, h2


def test_kernel_matches_reference_and_published_value():
    rng = numpy.random.default_rng(0)
    for length in range(0, 50):
        for seed in (0, 1, 2166136261, 2 ** 32 - 1):
            data = rng.integers(0, 256, size=length, dtype=numpy.uint8).tobytes()
            assert murmurhash3_128(data, seed) == reference_murmurhash3_x64_128(data, seed)
    # the commonly published digest of this sentence (seed 0), h1 then h2 little-endian
    h1, h2 = murmurhash3_128(b"The quick brown fox jumps over the lazy dog", 0)
    assert (h1.to_bytes(8, "little") + h2.to_bytes(8, "little")).hex() == \
        "6c1b07bc7bbc4be347939ac4a93c437a"
    words = ["der", "<der>", "ü", "日本語", ""]
    expected = [reference_murmurhash3_x64_128(w.encode("utf8"), 7) for w in words]
    assert murmurhash3_128_strings(words, 7).tolist() == [list(e) for e in expected]


@pytest.fixture()
def floret_table():
    data = numpy.loadtxt(HASHVEC.splitlines(), dtype=numpy.float32)
    return Vectors(data=data, mode="floret", **SETTINGS)


def _floret_words():
    lines = FLORET_WORD_VECTORS.splitlines()
    words = [line.split(" ")[0] for line in lines]
    return words, numpy.asarray([[float(x) for x in line.split(" ")[1:]] for line in lines],
                                dtype=numpy.float32)


def test_ngrams_and_rows_are_spacys(floret_table):
    grams = vectors_floret.ngrams("der", minn=2, maxn=3)
    assert grams == ["<der>", "<d", "de", "er", "r>", "<de", "der", "er>"]
    rows = vectors_floret.word_rows(floret_table, "der")
    assert rows.tolist() == [5, 6, 7, 5, 8, 2, 8, 9, 3, 3, 4, 6, 7, 3, 0, 2]
    # the padded word comes first and may come again as an ngram; nothing is deduplicated
    assert vectors_floret.ngrams("ab", minn=4, maxn=4) == ["<ab>", "<ab>"]
    assert vectors_floret.ngrams("ab", minn=1, maxn=1, bow="^", eow="$") == \
        ["^ab$", "^", "a", "b", "$"]
    assert vectors_floret.word_rows(floret_table, "der").tolist() == rows.tolist()  # stable


def test_vectors_equal_floret_own_output(floret_table):
    words, expected = _floret_words()
    numpy.testing.assert_allclose(floret_table.get_batch(words), expected, atol=1e-3)
    for word, row in zip(words, expected):
        numpy.testing.assert_allclose(floret_table[word], row, atol=1e-3)
    rows = vectors_floret.word_rows(floret_table, "der")
    numpy.testing.assert_allclose(floret_table["der"], floret_table.data[rows].mean(axis=0),
                                  rtol=1e-6)


def test_floret_table_semantics(floret_table):
    assert floret_table.n_keys == -1 and "anything at all" in floret_table
    numpy.testing.assert_array_equal(floret_table.get_batch(["a", "", "b"])[1], numpy.zeros(10))
    assert floret_table.get_batch([]).shape == (0, 10)
    for method, call in [("add", lambda v: v.add("x", vector=numpy.ones(10))),
                         ("find", lambda v: v.find(key="x")),
                         ("resize", lambda v: v.resize((20, 10))),
                         ("most_similar", lambda v: v.most_similar(numpy.ones((1, 10))))]:
        with pytest.raises(ValueError, match=f"E067.*{method}.*floret"):
            call(floret_table)
    with pytest.raises(ValueError, match="E061"):
        Vectors(data=floret_table.data, mode="floret", hash_count=5)
    with pytest.raises(ValueError, match="E061"):
        Vectors(data=floret_table.data, mode="floret", keys=["a"])


def test_floret_round_trip_and_vocab(tmp_path, floret_table):
    floret_table.to_disk(tmp_path)
    cfg = json.loads((tmp_path / "vectors.cfg").read_text())
    assert cfg == {"mode": "floret", "minn": 2, "maxn": 3, "hash_count": 2,
                   "hash_seed": 2166136261, "bow": "<", "eow": ">", "attr": 65}
    vocab = Vocab().from_disk(tmp_path)
    assert vocab.vectors.mode == "floret" and vocab.vectors.hash_seed == 2166136261
    words, expected = _floret_words()
    numpy.testing.assert_allclose(vocab.get_vector("der"), expected[2], atol=1e-3)
    assert vocab.has_vector("never seen before")
    numpy.testing.assert_allclose(vocab["der"].vector, expected[2], atol=1e-3)
    with pytest.raises(ValueError, match="E067"):
        vocab.set_vector("der", numpy.ones(10))
