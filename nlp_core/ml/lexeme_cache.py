"""Per-vocab cache of lexical feature values, looked up for a whole batch at once.

Lexical attributes (NORM, PREFIX, SUFFIX, SHAPE, LOWER, the flags, a word's UTF-8 bytes)
depend only on the word's orth ID. The Vocab computes them once per word; this cache keeps
them as numpy arrays sorted by orth so that a batch of N tokens with U distinct words costs
one `searchsorted` over U IDs, with Python work only for words never seen before.

A table is dropped when `vocab.lex_version` changes (Lexeme attribute setters bump it), so
`nlp.vocab["gonna"].norm_ = "going to"` is seen by the next batch.
"""
import weakref
from typing import Callable, Dict, Hashable, Tuple

import numpy

# Above this many words a table starts afresh: bounds memory on corpora with huge vocabularies.
MAX_ENTRIES = 2_000_000

Producer = Callable[[numpy.ndarray], numpy.ndarray]

_TABLES: "weakref.WeakKeyDictionary[object, Tuple[int, Dict[Hashable, _Table]]]" = (
    weakref.WeakKeyDictionary())


class _Table:
    __slots__ = ("keys", "values")

    def __init__(self, keys: numpy.ndarray, values: numpy.ndarray):
        self.keys = keys
        self.values = values


def cached_values(vocab, orths: numpy.ndarray, column: Hashable,
                  produce: Producer) -> numpy.ndarray:
    """Values of one cached column for sorted, distinct orth IDs.

    Args:
        vocab: the Vocab the IDs belong to (the cache is kept per vocab).
        orths: uint64 (U,), sorted ascending, no repeats (as `numpy.unique` returns).
        column: a hashable name of what `produce` computes, e.g. ("attrs", (NORM, SHAPE)).
        produce: `produce(orths) -> (n, m)` values for IDs not cached yet.

    Returns:
        (U, m) array, row i for `orths[i]`.
    """
    version = getattr(vocab, "lex_version", 0)
    entry = _TABLES.get(vocab)
    if entry is None or entry[0] != version:
        entry = (version, {})
        _TABLES[vocab] = entry
    tables = entry[1]
    table = tables.get(column)
    if table is None or len(table.keys) > MAX_ENTRIES:
        values = numpy.asarray(produce(orths))
        tables[column] = _Table(orths.copy(), values)
        return values
    pos = numpy.searchsorted(table.keys, orths)
    n = len(table.keys)
    hit = pos < n
    hit[hit] = table.keys[pos[hit]] == orths[hit]
    if not hit.all():
        missing = orths[~hit]
        new_values = numpy.asarray(produce(missing))
        at = numpy.searchsorted(table.keys, missing)
        # A new table object, swapped in whole: threads sharing the model never see keys
        # and values of different sizes.
        table = _Table(numpy.insert(table.keys, at, missing),
                       numpy.insert(table.values, at, new_values, axis=0))
        tables[column] = table
        pos = numpy.searchsorted(table.keys, orths)
    return table.values[pos]


def clear(vocab=None) -> None:
    """Drop the cached tables of `vocab` (of every vocab when None)."""
    if vocab is None:
        _TABLES.clear()
    else:
        _TABLES.pop(vocab, None)


def lexical_values(vocab, orths: numpy.ndarray, attr_ids: Tuple[int, ...]) -> numpy.ndarray:
    """Lexical attribute values of sorted distinct orth IDs.

    Returns:
        uint64 (U, len(attr_ids)).
    """

    def produce(new_orths: numpy.ndarray) -> numpy.ndarray:
        # One Lexeme lookup per new word for all attributes.
        strings, lex_data, get_attr = vocab.strings, vocab.lex_data, vocab.get_attr
        lexemes = [lex_data(strings[orth], orth) for orth in new_orths.tolist()]
        out = numpy.empty((len(new_orths), len(attr_ids)), dtype=numpy.uint64)
        for j, attr_id in enumerate(attr_ids):
            out[:, j] = [get_attr(lexeme, attr_id) for lexeme in lexemes]
        return out

    return cached_values(vocab, orths, ("attrs", attr_ids), produce)


def utf8_codes(vocab, orths: numpy.ndarray, n_chars: int) -> numpy.ndarray:
    """The first and last UTF-8 bytes of each word, interleaved from the outside in.

    Bytes are taken in the order 0, -1, 1, -2, 2, ... so the last byte of a word always sits
    in column 1; words shorter than `n_chars` bytes are padded with 255 (never a UTF-8 byte).

    Returns:
        uint8 (U, n_chars).
    """

    def produce(new_orths: numpy.ndarray) -> numpy.ndarray:
        strings = vocab.strings
        out = numpy.full((len(new_orths), n_chars), 255, dtype=numpy.uint8)
        for i, orth in enumerate(new_orths.tolist()):
            data = strings[orth].encode("utf8")
            order = _outside_in(len(data), n_chars)
            out[i, : len(order)] = numpy.frombuffer(data, dtype=numpy.uint8)[order]
        return out

    return cached_values(vocab, orths, ("utf8", n_chars), produce)


def _outside_in(length: int, n_chars: int) -> list:
    order = []
    start, end = 0, length - 1
    while len(order) < n_chars and start <= end:
        order.append(start)
        start += 1
        if len(order) < n_chars and start <= end:
            order.append(end)
            end -= 1
    return order
