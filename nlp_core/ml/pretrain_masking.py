"""Masking for the pretraining cloze task, and the character targets of masked words.

spaCy's masking (BERT's): each token is chosen with probability 0.15; a chosen token is
replaced by the mask token "[MASK]" with probability 0.8, by a random word with
probability 0.1 and left unchanged with probability 0.1; only chosen tokens carry a loss.
The random word is a token drawn uniformly from the same batch (a sample of the corpus'
unigram distribution; spaCy draws from its vocab's lexeme probabilities, which a pipeline
without lexeme tables does not have).

Masked Docs are new Docs built from the original columns (`Doc.from_columns`) with only the
chosen tokens' orth, length and text changed: Python work per chosen token, not per token.
"""
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy

from ..tokens import Doc
from . import lexeme_cache

MASK_PROB = 0.15
MASK_TOKEN = "[MASK]"
# Of the chosen tokens: below P_MASK the mask token, below P_RANDOM a random word, else kept.
P_MASK = 0.8
P_RANDOM = 0.9
# The `action` codes of a Masking.
MASKED, RANDOM, KEPT = 0, 1, 2
# Pads the byte targets of words shorter than n_characters (never a byte of UTF-8 text).
PAD_BYTE = 255


@dataclass
class Masking:
    """What was masked in a batch.

    Attributes:
        positions: int64 (M,) sorted positions of the chosen tokens in the batch (docs
            concatenated).
        action: int8 (M,) MASKED, RANDOM or KEPT for each chosen token.
        orths: uint64 (M,) the original orth IDs of the chosen tokens (the targets).
        docs: the input Docs with the chosen tokens replaced (Docs without a chosen token
            are the originals).
    """

    positions: numpy.ndarray
    action: numpy.ndarray
    orths: numpy.ndarray
    docs: List[Doc]


def choose(n_tokens: int, rng: numpy.random.Generator, mask_prob: float = MASK_PROB
           ) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Positions to mask among `n_tokens` and what to do with each.

    A batch with tokens always gets at least one chosen token (else it would teach
    nothing).

    Returns:
        (positions int64 (M,) sorted, action int8 (M,)).
    """
    positions = numpy.flatnonzero(rng.random(n_tokens) < mask_prob)
    if not len(positions) and n_tokens:
        positions = numpy.asarray([rng.integers(n_tokens)], dtype=numpy.int64)
    roll = rng.random(len(positions))
    action = numpy.where(roll < P_MASK, MASKED, numpy.where(roll < P_RANDOM, RANDOM, KEPT))
    return positions.astype(numpy.int64), action.astype(numpy.int8)


def mask_docs(docs: Sequence[Doc], rng: numpy.random.Generator,
              mask_prob: float = MASK_PROB) -> Masking:
    """Choose and replace tokens of a batch (see the module docstring).

    Args:
        docs: the batch; they are not changed.
        rng: the source of randomness (seed it for reproducible runs).
        mask_prob: probability that a token is chosen.
    """
    lengths = numpy.fromiter((len(d) for d in docs), dtype=numpy.int64, count=len(docs))
    orths = numpy.concatenate([d.column("orth") for d in docs]) if len(docs) \
        else numpy.zeros((0,), dtype=numpy.uint64)
    positions, action = choose(len(orths), rng, mask_prob)
    targets = orths[positions]
    new_orths = targets.copy()
    if len(positions):
        vocab = docs[0].vocab
        new_orths[action == MASKED] = vocab.strings.add(MASK_TOKEN)
        n_random = int((action == RANDOM).sum())
        new_orths[action == RANDOM] = orths[rng.integers(0, len(orths), n_random)]
    starts = numpy.concatenate([[0], numpy.cumsum(lengths)])
    doc_of = numpy.searchsorted(starts, positions, side="right") - 1
    out = []
    for i, doc in enumerate(docs):
        lo, hi = numpy.searchsorted(doc_of, [i, i + 1])
        changed = (new_orths[lo:hi] != targets[lo:hi])
        if not changed.any():
            out.append(doc)
            continue
        local = positions[lo:hi][changed] - starts[i]
        out.append(_replace(doc, local, new_orths[lo:hi][changed]))
    return Masking(positions, action, targets, out)


def _replace(doc: Doc, local: numpy.ndarray, new_orths: numpy.ndarray) -> Doc:
    """A copy of `doc`'s tokens with the tokens at `local` replaced by `new_orths`."""
    strings = doc.vocab.strings
    orth = doc.column("orth").copy()
    length = doc.column("length").copy()
    idx = doc.column("idx")
    text = doc.text
    pieces = []
    prev = 0
    for i, new in zip(local.tolist(), new_orths.tolist()):
        word = strings[new]
        start = int(idx[i])
        pieces.append(text[prev:start])
        pieces.append(word)
        prev = start + int(length[i])
        length[i] = len(word)
    pieces.append(text[prev:])
    orth[local] = new_orths
    return Doc.from_columns(doc.vocab, "".join(pieces), orth, length,
                            doc.column("trailing_space").copy())


def end_bytes(vocab, orths: numpy.ndarray, n_characters: int) -> numpy.ndarray:
    """The first and the last `n_characters` UTF-8 bytes of each word.

    Row i is `b[:n] + b[-n:]` of the word's bytes b (they overlap for words shorter than
    2n bytes); a word shorter than n bytes has its n-byte halves padded with PAD_BYTE
    (after the first bytes, before the last ones). A multi-byte character counts as its
    bytes: "née" is 6e c3 a9 65.

    Args:
        vocab: the Vocab of the orth IDs.
        orths: uint64 (M,) orth IDs (repeats allowed).
        n_characters: N, bytes from each end.

    Returns:
        uint8 (M, 2N).
    """
    if not len(orths):
        return numpy.zeros((0, 2 * n_characters), dtype=numpy.uint8)
    uniq, inverse = numpy.unique(orths, return_inverse=True)

    def produce(new_orths: numpy.ndarray) -> numpy.ndarray:
        strings = vocab.strings
        out = numpy.full((len(new_orths), 2 * n_characters), PAD_BYTE, dtype=numpy.uint8)
        for row, orth in enumerate(new_orths.tolist()):
            data = numpy.frombuffer(strings[orth].encode("utf8"), dtype=numpy.uint8)
            k = min(len(data), n_characters)
            out[row, :k] = data[:k]
            out[row, 2 * n_characters - k:] = data[len(data) - k:]
        return out

    table = lexeme_cache.cached_values(vocab, uniq, ("utf8_ends", n_characters), produce)
    return table[inverse.reshape(-1)]
