"""Token attribute features for a batch of Docs, extracted once per distinct word.

`extract_features(docs, attr_ids)` is the batched path the embedding layers use: it
concatenates the docs' orth arrays, finds the distinct words, and reads their lexical
attributes from the per-vocab cache (`lexeme_cache`). Attributes that are not a function of
the word alone (TAG, DEP, ... or a per-token NORM override set on the Doc) are read per
token with `doc.to_array`. `FeatureExtractor` wraps it as a thinc layer.
"""
from dataclasses import dataclass
from typing import Callable, List, Sequence, Tuple, Union

import numpy
from thinc.api import Model
from thinc.types import Ints2d

from .. import attrs as A
from ..registry import register_with_aliases, registry
from . import lexeme_cache

# Attributes that depend on the word string only (and so on its orth ID). NORM is lexical
# unless a Doc carries a per-token norm column.
TOKEN_LEVEL = frozenset((
    A.SPACY, A.IDX, A.LEMMA, A.TAG, A.POS, A.DEP, A.MORPH, A.ENT_TYPE, A.ENT_KB_ID, A.ENT_ID,
    A.HEAD, A.SENT_START, A.ENT_IOB,
))


@dataclass
class FeatureBatch:
    """Feature values of a batch, stored once per distinct row.

    Attributes:
        values: uint64 (U, k): the k attribute values of each distinct row.
        inverse: int64 (N,): the row of `values` for each token, docs concatenated.
        lengths: int32 (n_docs,): tokens per doc (sums to N).
        orths: uint64 (U,) orth ID of each row.
    """

    values: numpy.ndarray
    inverse: numpy.ndarray
    lengths: numpy.ndarray
    orths: numpy.ndarray

    @property
    def n_tokens(self) -> int:
        return int(self.inverse.shape[0])

    def per_token(self) -> numpy.ndarray:
        """uint64 (N, k): the feature values of every token."""
        return self.values[self.inverse]


def doc_orths(doc) -> numpy.ndarray:
    """The uint64 orth IDs of a Doc, or of a Span's tokens (a read-only view, no copy)."""
    orth = doc.doc.column("orth")
    return orth if doc.doc is doc else orth[doc.start: doc.end]


def extract_features(docs: Sequence, attr_ids: Sequence[int]) -> FeatureBatch:
    """Attribute values for every token of `docs`, computed once per distinct word.

    Args:
        docs: Docs (or Spans) sharing one Vocab.
        attr_ids: attribute IDs (`nlp_core.attrs`), e.g. (NORM, PREFIX, SUFFIX, SHAPE).

    Returns:
        A FeatureBatch; `values[inverse]` equals the docs' `to_array(attr_ids)` stacked.
    """
    attr_ids = tuple(int(a) for a in attr_ids)
    lengths = numpy.fromiter((len(d) for d in docs), dtype=numpy.int32, count=len(docs))
    if not len(docs) or not lengths.sum():
        empty = numpy.zeros((0,), dtype=numpy.uint64)
        return FeatureBatch(numpy.zeros((0, len(attr_ids)), dtype=numpy.uint64),
                            numpy.zeros((0,), dtype=numpy.int64), lengths, empty)
    vocab = docs[0].vocab
    orths = numpy.concatenate([doc_orths(d) for d in docs])
    uniq, inverse = numpy.unique(orths, return_inverse=True)
    inverse = inverse.reshape(-1)
    overridden = A.NORM in attr_ids and any(d.doc.has_column("norm") for d in docs)
    token_level = [j for j, a in enumerate(attr_ids)
                   if a in TOKEN_LEVEL or (a == A.NORM and overridden)]
    mixed_vocabs = any(d.vocab is not vocab for d in docs)
    if mixed_vocabs:
        token_level = list(range(len(attr_ids)))
    lexical = tuple(a for j, a in enumerate(attr_ids) if j not in token_level)
    values = numpy.zeros((len(uniq), len(attr_ids)), dtype=numpy.uint64)
    if lexical:
        lex_values = lexeme_cache.lexical_values(vocab, uniq, lexical)
        values[:, [j for j in range(len(attr_ids)) if j not in token_level]] = lex_values
    if not token_level:
        return FeatureBatch(values, inverse, lengths, uniq)
    # Some columns vary per token: keep one row per token instead of one per word.
    values = values[inverse]
    token_attrs = [attr_ids[j] for j in token_level]
    values[:, token_level] = numpy.concatenate([_to_array(d, token_attrs) for d in docs])
    return FeatureBatch(values, numpy.arange(len(orths), dtype=numpy.int64), lengths, orths)


def _to_array(doc, attr_ids: List[int]) -> numpy.ndarray:
    """`to_array` of a Doc, or of a Span's tokens."""
    array = doc.doc.to_array(attr_ids)
    return array if doc.doc is doc else array[doc.start: doc.end]


def split_rows(array, lengths: numpy.ndarray) -> list:
    """Split an (N, ...) numpy or cupy array into one view per doc."""
    if len(lengths) == 0:
        return []
    starts = numpy.cumsum(lengths).tolist()
    begin = [0] + starts[:-1]
    return [array[b:e] for b, e in zip(begin, starts)]


@register_with_aliases(registry.layers, "nlp_core.FeatureExtractor.v1",
                       aliases=["spacy.FeatureExtractor.v1"])
def FeatureExtractor(columns: Sequence[Union[str, int]]) -> Model[List, List[Ints2d]]:
    """Extract token attributes from Docs.

    Args:
        columns: attribute names or IDs, e.g. ["NORM", "PREFIX", "SUFFIX", "SHAPE"].

    Returns:
        A layer List[Doc] -> List[Ints2d]: one uint64 array (n_tokens, len(columns)) per doc.
    """
    return Model("extract_features", _forward,
                 attrs={"columns": list(columns), "attr_ids": A.intify_attrs(columns)})


def _forward(model: Model, docs: Sequence, is_train: bool) -> Tuple[List[Ints2d], Callable]:
    batch = extract_features(docs, model.attrs["attr_ids"])
    features = model.ops.asarray(batch.per_token(), dtype="uint64")
    return split_rows(features, batch.lengths), lambda d_features: []
