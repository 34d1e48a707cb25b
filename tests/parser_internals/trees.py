"""Random trees and the EWT treebank for the parser-internals tests."""
import random
from functools import cache
from typing import List, Optional, Tuple

from shared_data import shared_path

from nlp_core.formats.conllu import read_conllu_sentences

LABELS = ("a", "b")


def random_projective(rng: random.Random, n: int, offset: int = 0) -> List[int]:
    """Absolute heads of a random projective tree over tokens offset..offset+n-1: a root,
    and each side cut into contiguous segments that are the root's child subtrees."""
    heads = [0] * n

    def segments(lo: int, hi: int):
        if hi <= lo:
            return []
        cuts = sorted(rng.sample(range(lo + 1, hi), rng.randint(0, min(2, hi - lo - 1))))
        bounds = [lo] + cuts + [hi]
        return [(a, b) for a, b in zip(bounds, bounds[1:]) if a < b]

    def build(lo: int, hi: int) -> int:
        root = rng.randrange(lo, hi)
        for a, b in segments(lo, root) + segments(root + 1, hi):
            heads[build(a, b) - offset] = root
        return root

    root = build(offset, offset + n)
    heads[root - offset] = root
    return heads


def random_doc(rng: random.Random, sizes) -> Tuple[List[int], List[str]]:
    """A doc of projective sentences of the given sizes: (heads, labels)."""
    heads: List[int] = []
    for size in sizes:
        heads += random_projective(rng, size, len(heads))
    labels = ["ROOT" if h == i else rng.choice(LABELS) for i, h in enumerate(heads)]
    return heads, labels


def random_nonproj(rng: random.Random, n: int) -> List[int]:
    """Absolute heads of a random (usually non-projective) single-rooted tree."""
    order = list(range(n))
    rng.shuffle(order)
    heads = [0] * n
    heads[order[0]] = order[0]
    for k in range(1, n):
        heads[order[k]] = order[rng.randrange(k)]
    return heads


def mask_unknown(rng: random.Random, heads, labels, p_head=0.2, p_label=0.2):
    heads = [(-1 if rng.random() < p_head else h) for h in heads]
    labels = [(None if (h < 0 or rng.random() < p_label) else lab)
              for h, lab in zip(heads, labels)]
    return heads, labels


@cache
def ewt_train() -> List[Tuple[List[int], List[Optional[str]]]]:
    """(heads, labels) of every EWT train sentence (heads absolute within the sentence)."""
    path = shared_path("ud_english_ewt", "en_ewt-ud-train.conllu")
    return [(sent.heads, sent.deps) for sent in read_conllu_sentences(path)]
