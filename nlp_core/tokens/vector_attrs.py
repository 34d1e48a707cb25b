"""`.vector`, `.has_vector`, `.vector_norm` and `.similarity` of Token, Span and Doc, with
spaCy's semantics:

- with a vectors table that has rows (`vocab.vectors`), a token's vector is its word's row,
  found by the table's `attr` (ORTH, LOWER or NORM), zeros when it has none; a span's or
  doc's vector is the mean of its tokens' vectors (zeros when empty);
- without one, a token's vector is its row of `doc.tensor`, and a doc's the mean of
  `doc.tensor` (zeros when there is no tensor either);
- `similarity` is the cosine (1.0 for the same words; 0.0 with a warning when either
  vector is all zeros).
"""
from typing import Tuple

import numpy
from thinc.api import get_array_module

from ..vectors_similarity import cosine_similarity

NO_TABLE = "doc.tensor rows (the pipeline's context-sensitive features), or zero vectors"


def table_rows(vocab) -> int:
    """Rows of the vocab's table (0 for an empty table)."""
    shape = getattr(vocab.vectors, "shape", (0, 0))
    return int(shape[0]) if len(shape) == 2 and shape[1] else 0


def table_has_keys(vocab) -> bool:
    n_keys = getattr(vocab.vectors, "n_keys", None)
    return table_rows(vocab) > 0 and (n_keys is None or n_keys != 0)


def _zeros(vocab):
    xp = get_array_module(getattr(vocab.vectors, "data", numpy.zeros(0)))
    return xp.zeros((vocab.vectors_length,), dtype="float32")


def _tensor(doc):
    tensor = doc.tensor
    return tensor if tensor.ndim == 2 and tensor.size else None


def span_rows(doc, start: int, end: int):
    """float32 (end - start, width): the vectors of tokens start..end-1."""
    vocab = doc.vocab
    if table_rows(vocab) == 0 and _tensor(doc) is not None:
        return doc.tensor[start:end]
    orths = doc.column("orth")[start:end]
    vectors = vocab.vectors
    attr_id = getattr(vectors, "attr", None)
    keys = orths if attr_id is None else vocab.attr_array(orths, attr_id)
    if getattr(vectors, "mode", "default") == "floret":
        keys = [vocab.strings[int(k)] for k in keys]
    return vectors.get_batch(keys)


def token_vector(token):
    doc = token.doc
    if table_rows(doc.vocab) == 0 and _tensor(doc) is not None:
        return doc.tensor[token.i]
    return doc.vocab.get_vector(token.orth)


def token_has_vector(token) -> bool:
    doc = token.doc
    if table_rows(doc.vocab) == 0:
        return _tensor(doc) is not None
    return doc.vocab.has_vector(token.orth)


def span_vector(doc, start: int, end: int):
    """float32 (width,): the mean of the tokens' vectors; for a whole doc without a table,
    the mean of `doc.tensor`; zeros when there are no tokens."""
    if end <= start:
        return _zeros(doc.vocab)
    if table_rows(doc.vocab) == 0 and _tensor(doc) is None:
        return _zeros(doc.vocab)
    return span_rows(doc, start, end).mean(axis=0)


def span_has_vector(doc, start: int, end: int, *, whole_doc: bool) -> bool:
    """spaCy's rule: with a table, a doc always has a vector and a span when one of its
    tokens has; without one, either has a vector when the doc has a tensor."""
    vocab = doc.vocab
    if table_rows(vocab) == 0:
        return _tensor(doc) is not None
    if whole_doc or getattr(vocab.vectors, "mode", "default") == "floret":
        return True
    orths = doc.column("orth")[start:end]
    return any(vocab.has_vector(int(o)) for o in numpy.unique(orths))


def same_words(orths: Tuple[int, ...], other) -> bool:
    """Whether `other` (Lexeme, Token, Span or Doc) is exactly the words `orths`."""
    if hasattr(other, "orth"):
        return len(orths) == 1 and orths[0] == other.orth
    if hasattr(other, "__len__") and len(other) == len(orths):
        return all(t.orth == o for t, o in zip(other, orths))
    return False


def similarity(obj: str, vector, orths: Tuple[int, ...], other, vocab, *,
               has_vector: bool) -> float:
    """`.similarity` of a Token / Span / Doc whose words are `orths` and vector `vector`."""
    if same_words(orths, other):
        return 1.0
    return cosine_similarity(obj, vector, other, has_keys=table_has_keys(vocab),
                             compares=NO_TABLE, stacklevel=4,
                             warn_zero=obj == "Token" or not (has_vector and
                                                              getattr(other, "has_vector",
                                                                      True)))
