"""MinHash signatures and LSH banding for near-duplicate detection: pure functions over numpy.

A document is the set of its word n-gram shingles: the words are the lowercased text split
on whitespace (the text is already normalised), a shingle is `ngram` consecutive words, and
a document of fewer than `ngram` words is one shingle of all its words (a document with no
words has no shingles and is never anyone's near duplicate).

Hashing, deterministic across processes, runs and machines (no Python `hash()`, no random
state): every word is hashed with MurmurHash64A (`native.hashing.hash_strings`, the string
hash of the whole project); a shingle's hash is `fmix64(sum_j word_j * K**(k-1-j) + k)` over
its k words, computed mod 2**64 for all shingles of a batch at once (fmix64 is MurmurHash3's
64-bit finaliser). MinHash uses the universal family `h_i(x) = (a_i * x + b_i) mod p` with
the Mersenne prime p = 2**61 - 1 (Carter and Wegman; the scheme of datasketch and of
Broder's min-wise hashing) applied to the shingle hash mod p, `a_i, b_i` derived from the
seed with BLAKE2b, and the products computed exactly in uint64 limbs (`affine61`). A signature keeps the low 32 bits of each minimum (b-bit
minwise hashing, Li and Koenig 2010, with b = 32: two different minima agree by chance with
probability 2**-32, a negligible bias), 4 bytes per permutation.

LSH: the signature is cut into `bands` bands of `rows` values; two documents are candidates
when any band is equal, which happens with probability `1 - (1 - s**rows)**bands` for
Jaccard similarity s (the S-curve). `lsh_parameters` picks bands and rows as the MinHash LSH
literature does (Leskovec, Rajaraman and Ullman, Mining of Massive Datasets, ch. 3;
datasketch's `_optimal_param`): it minimises `fp_weight * FP + fn_weight * FN`, where FP is
the area under the S-curve below the threshold and FN the area above it over the
threshold. Candidates are verified by their estimated Jaccard afterwards, so a false
positive costs one comparison while a false negative is a duplicate lost: the default
weights (0.05, 0.95) favour recall (threshold 0.8, 128 permutations: 16 bands x 8 rows, a
pair of true Jaccard 0.85 becomes a candidate with probability 0.994).
"""
import hashlib
from typing import List, Sequence, Tuple

import numpy as np
from native.hashing import hash_strings

MERSENNE_61 = np.uint64((1 << 61) - 1)
_SHINGLE_BASE = np.uint64(0x9E3779B97F4A7C15)  # odd: multiplication by it is a bijection
_MASK_32 = np.uint64(0xFFFFFFFF)
# shingle-by-permutation products are computed in blocks of this many values (~8 MB each)
_BLOCK_VALUES = 1 << 20


def words_of(text: str) -> List[str]:
    """The words a document's shingles are made of: lowercased, split on whitespace."""
    return text.lower().split()


def shingle_set(text: str, ngram: int) -> set:
    """The exact shingle set of a text as tuples of words (for tests and evaluation).

    Args:
        text: normalised document text.
        ngram: words per shingle (>= 1).

    Returns:
        A set of word tuples; one tuple of all words for a text shorter than `ngram` words,
        the empty set for a text without words.
    """
    words = words_of(text)
    if len(words) < ngram:
        return {tuple(words)} if words else set()
    return {tuple(words[i:i + ngram]) for i in range(len(words) - ngram + 1)}


def _fmix64(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def shingle_hashes(text: str, ngram: int) -> np.ndarray:
    """The 64-bit hashes of a text's shingles (duplicates kept; they do not change minima).

    Args:
        text: normalised document text.
        ngram: words per shingle (>= 1).

    Returns:
        uint64 array of shape (max(n_words - ngram + 1, 1),), or (0,) for no words.
    """
    words = words_of(text)
    if not words:
        return np.empty(0, dtype=np.uint64)
    k = min(ngram, len(words))
    word_hashes = hash_strings(words)
    n = len(words) - k + 1
    with np.errstate(over="ignore"):
        acc = np.zeros(n, dtype=np.uint64)
        for j in range(k):
            acc = acc * _SHINGLE_BASE + word_hashes[j:j + n]
        return _fmix64(acc + np.uint64(k))


def permutations(num_perm: int, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """The coefficients (a, b) of the `num_perm` hash functions `(a * x + b) mod 2**61-1`.

    Derived from BLAKE2b of (seed, index), so they depend on nothing but the two numbers.

    Returns:
        Two uint64 arrays of shape (num_perm,): a in [1, p), b in [0, p).
    """
    p = int(MERSENNE_61)
    a = np.empty(num_perm, dtype=np.uint64)
    b = np.empty(num_perm, dtype=np.uint64)
    for i in range(num_perm):
        digest = hashlib.blake2b(f"near_dedupe:{seed}:{i}".encode(), digest_size=16).digest()
        a[i] = int.from_bytes(digest[:8], "little") % (p - 1) + 1
        b[i] = int.from_bytes(digest[8:], "little") % p
    return a, b


def _mod61(v: np.ndarray) -> np.ndarray:
    """v mod 2**61-1 for uint64 v (one folding step and one conditional subtraction)."""
    v = (v & MERSENNE_61) + (v >> np.uint64(61))
    return np.where(v >= MERSENNE_61, v - MERSENNE_61, v)


def affine61(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(a * x + b) mod 2**61-1, exactly, for uint64 a, b, x below 2**61 (broadcasting:
    a and b of shape (1, num_perm), x of shape (n, 1) give (n, num_perm)).

    The 122-bit product is split into 32-bit limbs, using 2**61 = 1 and 2**64 = 8 mod p;
    every partial sum stays below 2**64, and one fold and one conditional subtraction at the
    end make the result exact.
    """
    a0, a1 = a & _MASK_32, a >> np.uint64(32)
    x0, x1 = x & _MASK_32, x >> np.uint64(32)
    low = x0 * a0  # < 2**64
    mid = x0 * a1  # x0 * a1 + x1 * a0 < 2**62, of weight 2**32
    mid += x1 * a0
    total = low & MERSENNE_61
    low >>= np.uint64(61)
    total += low  # low mod p (not yet reduced): < 2**61 + 8
    # mid * 2**32 = (mid mod 2**29) * 2**32 + (mid >> 29) * 2**61
    total += (mid & np.uint64((1 << 29) - 1)) << np.uint64(32)
    mid >>= np.uint64(29)
    total += mid
    high = x1 * a1  # < 2**58, of weight 2**64 = 8 mod p
    high <<= np.uint64(3)
    total += high
    total += b  # < 2**61 + 8 + 2**61 + 2**33 + 2**61 + 2**61 < 2**64
    result = total & MERSENNE_61
    total >>= np.uint64(61)
    result += total  # <= p + 7
    np.subtract(result, MERSENNE_61, out=result, where=result >= MERSENNE_61)
    return result


def signatures(shingles: Sequence[np.ndarray], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """MinHash signatures of a batch of shingle-hash arrays, vectorised over the batch.

    Args:
        shingles: one uint64 array per document, each non-empty (from `shingle_hashes`).
        a, b: the permutations' coefficients (`permutations`), shape (num_perm,).

    Returns:
        uint64 array of shape (len(shingles), num_perm): the minima, each below 2**61-1.
    """
    num_perm = len(a)
    out = np.full((len(shingles), num_perm), MERSENNE_61, dtype=np.uint64)
    if not len(shingles):
        return out
    lengths = np.array([len(s) for s in shingles], dtype=np.int64)
    if (lengths == 0).any():
        raise ValueError("signatures: every document needs at least one shingle")
    values = _mod61(np.concatenate(shingles))[:, None]
    starts = np.concatenate([[0], np.cumsum(lengths)])
    # fixed-size blocks of shingles (memory stays bounded for a huge document); a document
    # cut by a block edge takes the minimum of its parts
    step = max(_BLOCK_VALUES // num_perm, 1)
    for lo in range(0, len(values), step):
        hi = min(lo + step, len(values))
        first = int(np.searchsorted(starts, lo, side="right")) - 1
        last = int(np.searchsorted(starts, hi, side="left"))
        offsets = np.maximum(starts[first:last], lo) - lo
        hashed = affine61(a[None, :], b[None, :], values[lo:hi])
        parts = np.minimum.reduceat(hashed, offsets, axis=0)
        np.minimum(out[first:last], parts, out=out[first:last])
    return out


def truncate(signature_rows: np.ndarray) -> np.ndarray:
    """The low 32 bits of each minimum (b-bit minwise hashing with b = 32), as uint32."""
    return (signature_rows & _MASK_32).astype(np.uint32)


def band_hashes(signature_rows: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit hash per (document, band) of the band's `rows` signature values.

    Args:
        signature_rows: uint64 or uint32 array (n_docs, num_perm), num_perm >= bands * rows.

    Returns:
        uint64 array (n_docs, bands); equal bands give equal hashes.
    """
    n = signature_rows.shape[0]
    cut = signature_rows[:, :bands * rows].astype(np.uint64).reshape(n, bands, rows)
    with np.errstate(over="ignore"):
        acc = np.zeros((n, bands), dtype=np.uint64)
        for j in range(rows):
            acc = acc * _SHINGLE_BASE + cut[:, :, j]
        return _fmix64(acc)


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """The share of permutations on which two signatures agree (an unbiased estimate of the
    Jaccard similarity of the two shingle sets)."""
    return float(np.count_nonzero(sig_a == sig_b)) / len(sig_a)


def candidate_probability(similarity: float, bands: int, rows: int) -> float:
    """P(two documents of Jaccard `similarity` share at least one band): the S-curve."""
    return 1.0 - (1.0 - similarity ** rows) ** bands


def _area(bands: int, rows: int, lo: float, hi: float, above: bool) -> float:
    s = np.linspace(lo, hi, 201)
    p = 1.0 - (1.0 - s ** rows) ** bands
    return float(np.trapezoid(1.0 - p if above else p, s))


def lsh_parameters(threshold: float, num_perm: int, fp_weight: float = 0.05,
                   fn_weight: float = 0.95) -> Tuple[int, int]:
    """Bands and rows (bands * rows <= num_perm) for a Jaccard threshold.

    Minimises `fp_weight * FP + fn_weight * FN` over all (bands, rows): FP is the S-curve's
    area on [0, threshold] (pairs below the threshold that become candidates), FN the area
    of `1 - S` on [threshold, 1] (pairs above it that do not).

    Returns:
        (bands, rows).
    """
    best = None
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            error = (fp_weight * _area(bands, rows, 0.0, threshold, False)
                     + fn_weight * _area(bands, rows, threshold, 1.0, True))
            if best is None or error < best[0] - 1e-12:
                best = (error, bands, rows)
    return best[1], best[2]
