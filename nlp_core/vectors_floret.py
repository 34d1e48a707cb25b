"""floret mode: a word's vector from hashed character ngrams, as floret and spaCy compute it.

For a word `w` and a table of `n_rows` rows:

1. pad it: `p = bow + w + eow` ("<" and ">" by default);
2. its ngrams are `p` itself, then every substring of `p` of `minn` to `maxn` characters
   (Unicode code points), by length, then by start: `p` may appear twice, and nothing is
   deduplicated;
3. each ngram's UTF-8 bytes are hashed with MurmurHash3_x64_128 seeded with `hash_seed`;
   the two 64-bit halves give four 32-bit values (low then high half of each), of which the
   first `hash_count` are used, each modulo `n_rows`, as rows;
4. the vector is the mean of all those rows (ngrams x hash_count of them; repeats count
   each time). The empty word has no ngrams and a zero vector.
"""
from typing import TYPE_CHECKING, List, Sequence

import numpy
from native.hashing import murmurhash3_128_strings
from thinc.api import get_array_module

if TYPE_CHECKING:
    from .vectors import Vectors

_HALF = numpy.uint64(32)
_LOW = numpy.uint64(0xFFFFFFFF)


def settings_problem(vectors: "Vectors") -> str | None:
    """What is wrong with a floret table's settings, or None."""
    if vectors.data.shape[0] == 0:
        return "the table has no rows (give data or shape)"
    if not 0 <= vectors.minn <= vectors.maxn:
        return f"minn={vectors.minn}, maxn={vectors.maxn}"
    if not 1 <= vectors.hash_count <= 4:
        return f"hash_count={vectors.hash_count}"
    if not 0 <= vectors.hash_seed < 2 ** 32:
        return f"hash_seed={vectors.hash_seed} does not fit 32 bits"
    return None


def ngrams(word: str, *, minn: int, maxn: int, bow: str = "<", eow: str = ">") -> List[str]:
    """The ngrams of `word` in floret's order (the padded word first)."""
    padded = bow + word + eow
    grams = [padded]
    for size in range(minn, maxn + 1):
        grams.extend(padded[start:start + size] for start in range(len(padded) - size + 1))
    return grams


def ngram_hashes(grams: Sequence[str], *, hash_count: int, hash_seed: int) -> numpy.ndarray:
    """uint64 (len(grams), hash_count): the 32-bit hash values of each ngram."""
    halves = murmurhash3_128_strings(list(grams), hash_seed)
    parts = numpy.stack([halves[:, 0] & _LOW, halves[:, 0] >> _HALF,
                         halves[:, 1] & _LOW, halves[:, 1] >> _HALF], axis=1)
    return parts[:, :hash_count]


def word_rows(vectors: "Vectors", word: str) -> numpy.ndarray:
    """int64 (n,): the rows whose mean is `word`'s vector (empty for "")."""
    if word == "":
        return numpy.zeros((0,), dtype=numpy.int64)
    grams = ngrams(word, minn=vectors.minn, maxn=vectors.maxn, bow=vectors.bow,
                   eow=vectors.eow)
    hashes = ngram_hashes(grams, hash_count=vectors.hash_count, hash_seed=vectors.hash_seed)
    return (hashes.reshape(-1) % numpy.uint64(vectors.data.shape[0])).astype(numpy.int64)


def get_batch(vectors: "Vectors", keys) -> object:
    """float32 (len(keys), width): each key's floret vector, on the table's device.

    Args:
        vectors: a floret-mode table.
        keys: words, or their IDs in `vectors.strings` (KeyError for an unknown ID).
    """
    words = [k if isinstance(k, str) else vectors.strings[int(k)] for k in keys]
    xp = get_array_module(vectors.data)
    width = vectors.data.shape[1]
    out = xp.zeros((len(words), width), dtype="float32")
    unique = list(dict.fromkeys(words))
    position = {word: i for i, word in enumerate(unique)}
    means = xp.zeros((len(unique), width), dtype="float32")
    for i, word in enumerate(unique):
        rows = word_rows(vectors, word)
        if len(rows):
            gathered = vectors.data[rows if xp is numpy else xp.asarray(rows)]
            means[i] = gathered.mean(axis=0)
    if words:
        index = numpy.fromiter((position[w] for w in words), dtype=numpy.int64,
                               count=len(words))
        out[...] = means[index if xp is numpy else xp.asarray(index)]
    return out
