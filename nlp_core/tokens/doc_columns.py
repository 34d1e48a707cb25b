"""Doc's per-token columns: building a Doc from them, reading and writing them in bulk.

A Doc keeps one numpy array per attribute, each of shape (n_tokens,) (dtypes in
`annotation.COLUMN_DTYPES`):

- core, always present, defining the tokens: `orth` (uint64 string ID of the token text),
  `length` (int32 characters), `trailing_space` (bool: one space follows the token), `idx`
  (int32 character offset in `doc.text`);
- annotation, stored once a value is written and reading as zeros until then: `norm`,
  `lemma`, `tag`, `pos`, `dep`, `morph`, `ent_type`, `ent_kb_id`, `ent_id` (uint64 string
  IDs, 0 unset), `head` (int32 offset of the head from the token, 0 for a root or no head),
  `sent_start` (int8: 1 starts a sentence, -1 does not, 0 unknown), `ent_iob` (uint8: 0
  missing, 1 I, 2 O, 3 B).

Code outside `nlp_core/tokens/` reads and writes these through `Doc.column`,
`Doc.concat_column` (many Docs at once), `Doc.set_column` and `Doc.from_columns`, never
through the Doc's private storage.
"""
from typing import Dict, Optional, Sequence, Tuple

import numpy

from ..errors import Errors
from .annotation import ANNOTATION_DTYPES, COLUMN_DTYPES

# allowed values of the columns that hold codes rather than string IDs
_CODES = {"sent_start": (-1, 1), "ent_iob": (0, 3)}


def _known(name: str) -> None:
    if name not in COLUMN_DTYPES:
        raise ValueError(Errors.E024.format(name=name, known=", ".join(COLUMN_DTYPES)))


def _typed(name: str, values, dtype) -> numpy.ndarray:
    """`values` as an array of `dtype`, without a copy when it already is one; raises when
    a value would change in the cast (floats, negative values for unsigned columns...)."""
    array = numpy.asarray(values)
    target = numpy.dtype(dtype)
    if array.dtype == target:
        return array
    if array.dtype.kind in "fO" and array.size:
        # numpy.asarray makes float64 of a list that mixes ints >= 2**63 (string IDs) with
        # smaller ones: read such lists as Python ints
        exact = numpy.asarray(values, dtype=object)
        if all(isinstance(v, (int, numpy.integer)) for v in exact.ravel().tolist()):
            array = exact
    low, high = (0, 1) if target.kind == "b" else (numpy.iinfo(target).min,
                                                    numpy.iinfo(target).max)
    if array.dtype.kind not in "biuO" and array.size:
        raise ValueError(Errors.E027.format(name=name, dtype=target.name, low=low, high=high,
                                            got=f"dtype {array.dtype}"))
    if array.size and (array.dtype.kind == "O" or not numpy.can_cast(array.dtype, target)):
        lowest, highest = int(array.min()), int(array.max())
        if lowest < low or highest > high:
            bad = lowest if lowest < low else highest
            raise ValueError(Errors.E027.format(name=name, dtype=target.name, low=low,
                                                high=high, got=f"the value {bad}"))
    return array.astype(target)


_UINT64, _INT32, _BOOL = numpy.dtype(numpy.uint64), numpy.dtype(numpy.int32), numpy.dtype(bool)


def _checked_core(orth, length, trailing_space, idx):
    """The core columns of `Doc.from_columns` in their dtypes, all 1-d of one length."""
    orth = _typed("orth", orth, numpy.uint64)
    length = _typed("length", length, numpy.int32)
    trailing_space = _typed("trailing_space", trailing_space, numpy.bool_)
    if idx is not None:
        idx = _typed("idx", idx, numpy.int32)
    n = len(orth) if orth.ndim == 1 else -1
    for name, array in (("orth", orth), ("length", length), ("trailing_space", trailing_space),
                        ("idx", idx)):
        if array is not None and (array.ndim != 1 or len(array) != n):
            raise ValueError(Errors.E029.format(
                detail=f"{name} has shape {array.shape}, expected ({max(n, 0)},) like orth"))
    return orth, length, trailing_space, idx


class DocColumns:
    """The column methods of `Doc`, mixed into it: they use the Doc's `_cols` (column name
    -> array), `length`, `_init`, `_tree_changed` and `_sent_starts_from_heads`."""

    _cols: Dict[str, numpy.ndarray]
    length: int

    @classmethod
    def from_columns(cls, vocab, text: str, orth: numpy.ndarray, length: numpy.ndarray,
                     trailing_space: numpy.ndarray, idx: Optional[numpy.ndarray] = None):
        """A Doc from its core columns, with no per-token Python work (the tokenizer's and
        DocBin's constructor).

        The Doc takes the arrays as its columns: one that already has the column's dtype
        is not copied, so pass copies of arrays you go on changing.

        Args:
            vocab: the shared Vocab; every `orth` value must already be in `vocab.strings`.
            text: the whole text: the token texts, each followed by a space where
                `trailing_space` says so.
            orth: uint64 (n_tokens,) string IDs of the token texts.
            length: int32 (n_tokens,) token lengths in characters (>= 1).
            trailing_space: bool (n_tokens,) whether one space follows each token.
            idx: int32 (n_tokens,) character offset of each token in `text`; computed from
                `length` and `trailing_space` when None.

        Returns:
            A Doc with these tokens and no annotation.

        Raises:
            ValueError: an array is not 1-d or not of the length of `orth`, its values do
                not fit the column's dtype, or the last token and its space do not end
                where `text` ends.
        """
        # the tokenizer calls this for every text: arrays of the right dtypes and shapes
        # skip the conversions (which added about a third to a tokenizer cache hit)
        array = numpy.ndarray
        if not (type(orth) is array and type(length) is array
                and type(trailing_space) is array and orth.dtype is _UINT64
                and length.dtype is _INT32 and trailing_space.dtype is _BOOL
                and orth.ndim == length.ndim == trailing_space.ndim == 1
                and len(orth) == len(length) == len(trailing_space)
                and (idx is None or (type(idx) is array and idx.dtype is _INT32
                                     and idx.ndim == 1 and len(idx) == len(orth)))):
            orth, length, trailing_space, idx = _checked_core(orth, length, trailing_space, idx)
        n = len(orth)
        doc = cls.__new__(cls)
        doc._init(vocab, text, orth, length, trailing_space, idx)
        idx = doc._cols["idx"]
        end = idx.item(-1) + length.item(-1) + trailing_space.item(-1) if n else 0
        if end != len(text):
            raise ValueError(Errors.E029.format(
                detail=f"the tokens end at character {end} but the text has {len(text)}"))
        return doc

    @property
    def column_names(self) -> Tuple[str, ...]:
        """The names of the columns this Doc stores: the four core columns, then each
        annotation column that has been written."""
        return tuple(self._cols)

    def has_column(self, name: str) -> bool:
        """Whether the Doc stores column `name` (the core columns always; an annotation
        column once written, even if only with zeros). `has_annotation` instead says
        whether any token has a value.

        Raises:
            ValueError: `name` is not a column name.
        """
        if name in self._cols:
            return True
        _known(name)
        return False

    def column(self, name: str) -> numpy.ndarray:
        """One column as a read-only array of shape (n_tokens,), without a copy.

        A stored column comes back as a read-only view of the Doc's array: later changes to
        the Doc show through it (copy it to keep a snapshot), and writing to it raises
        (change the Doc with `set_column` or the Token attributes, which keep the parse and
        sentences in step). An annotation column the Doc does not store reads as a new
        array of zeros of the column's dtype.

        Args:
            name: a column name (see the module docstring for dtypes and values).

        Returns:
            Array (n_tokens,) of the column's dtype, e.g. uint64 string IDs for "tag",
            int32 head offsets for "head".

        Raises:
            ValueError: `name` is not a column name.
        """
        col = self._cols.get(name)
        if col is None:
            _known(name)
            col = numpy.zeros(self.length, dtype=ANNOTATION_DTYPES[name])
        view = col.view()
        view.setflags(write=False)  # (faster than view.flags.writeable = False)
        return view

    @staticmethod
    def concat_column(docs: Sequence["DocColumns"], name: str) -> numpy.ndarray:
        """Column `name` of every Doc in `docs`, concatenated into one new array (zeros for
        a Doc that does not store the column): what `numpy.concatenate` of their `column`s
        gives, without making a view per Doc, for code that handles many Docs at once.

        Raises:
            ValueError: `name` is not a column name.
        """
        _known(name)
        dtype = COLUMN_DTYPES[name]
        parts = []
        for doc in docs:
            col = doc._cols.get(name)
            parts.append(numpy.zeros(doc.length, dtype=dtype) if col is None else col)
        return numpy.concatenate(parts) if parts else numpy.zeros(0, dtype=dtype)

    def set_column(self, name: str, values) -> None:
        """Replace one annotation column; the Doc stores its own copy of `values`.

        Setting "head" or "dep" resets the cached parse tree; sentence starts stay as they
        are, so set "sent_start" as well (or set it to zeros and call
        `ensure_sent_starts`) when the sentences change with the parse.

        Args:
            name: an annotation column, e.g. "tag", "head", "ent_iob".
            values: (n_tokens,) integers that fit the column's dtype: string IDs (>= 0) for
                the uint64 columns, head offsets with `i + head[i]` in [0, n_tokens),
                sentence starts in {-1, 0, 1}, IOB codes in 0..3.

        Raises:
            ValueError: `name` is unknown or a core column, `values` has another shape, or
                a value does not fit (floats, negative string IDs, heads outside the Doc).
        """
        dtype = ANNOTATION_DTYPES.get(name)
        if dtype is None:
            _known(name)
            raise ValueError(Errors.E025.format(name=name))
        array = _typed(name, values, dtype)
        if array.shape != (self.length,):
            got = len(array) if array.ndim == 1 else f"an array of shape {array.shape} of"
            raise ValueError(Errors.E026.format(name=name, got=got, n=self.length))
        if array is values or array.base is not None:
            array = array.copy()  # the Doc owns its columns
        if name in _CODES and array.size:
            low, high = _CODES[name]
            bad = numpy.nonzero((array < low) | (array > high))[0]
            if len(bad):
                raise ValueError(Errors.E028.format(
                    name=name, detail=f"token {int(bad[0])} has {int(array[bad[0]])}, "
                                      f"expected a value in [{low}, {high}]"))
        if name == "head" and array.size:
            targets = array + numpy.arange(self.length)
            bad = numpy.nonzero((targets < 0) | (targets >= self.length))[0]
            if len(bad):
                i = int(bad[0])
                raise ValueError(Errors.E021.format(head=int(targets[i]), i=i, n=self.length))
        self._cols[name] = array
        if name in ("head", "dep"):
            self._tree_changed()

    def ensure_sent_starts(self) -> bool:
        """Store sentence starts, derived from the parse when none are set.

        Sentence starts count as set when a token after the first has a value in
        "sent_start" (as for `has_annotation("SENT_START")`). When none has and the Doc is
        parsed, each root's subtree becomes a sentence (the sentences `doc.sents` gives);
        otherwise nothing changes.

        Returns:
            True when `column("sent_start")` now holds the boundaries (1 starts a sentence,
            -1 does not), False when the Doc is empty or has neither sentence starts nor a
            parse.
        """
        if self.length == 0:
            return False
        col = self._cols.get("sent_start")
        if col is not None and (col[1:] != 0).any():
            return True
        dep = self._cols.get("dep")
        if dep is None or not dep.any():
            return False
        self._sent_starts_from_heads()
        return True

    # --- inside nlp_core/tokens: Token and Span write single values in place ---------

    def _col(self, name: str) -> numpy.ndarray:
        """The writable array of one annotation column, allocated (zeros) on first use."""
        col = self._cols.get(name)
        if col is None:
            col = numpy.zeros(self.length, dtype=ANNOTATION_DTYPES[name])
            self._cols[name] = col
        return col

    def _get(self, name: str, i: int) -> int:
        col = self._cols.get(name)
        return 0 if col is None else int(col[i])
