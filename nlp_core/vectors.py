"""The static vectors table: float32 rows, and keys (64-bit string IDs) that point at them.

`Vectors` follows spaCy's class of the same name and reads and writes its directories
(`vectors_disk`). Two modes:

- **default**: `key2row` maps each key to a row; several keys may share a row (a pruned
  table maps every dropped word to its nearest kept row) and a row may have no key yet.
- **floret**: no keys; a word's vector is the mean of the rows its character ngrams hash
  to (`vectors_floret`), so every word has one.

The table is keyed by one lexical attribute, `attr` (ORTH, LOWER or NORM): a token's key is
that attribute's ID. Unlike spaCy, the attribute is saved and restored in default mode too.
Data stays where it was made (numpy, a read-only memory map, or cupy after `to_ops`); keys
and rows are looked up on the host.
"""
import heapq
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Sequence, Tuple, Union

import numpy
from thinc.api import Ops, get_array_module, get_current_ops

from . import attrs
from . import vectors_disk as disk
from . import vectors_floret as floret
from .errors import Errors
from .strings import StringStore, get_string_id
from .vectors_similarity import most_similar

MODES = ("default", "floret")
VECTOR_ATTRS = ("ORTH", "LOWER", "NORM")
Key = Union[str, int]


def key_id(key: Key) -> int:
    """The uint64 ID of a key given as a string, a Python int or a numpy integer."""
    if isinstance(key, (int, numpy.integer)):
        return int(key)
    return get_string_id(key)


def vector_attr(attr: Union[str, int]) -> int:
    """The attribute ID of ORTH, LOWER or NORM (by name or ID); E072 for anything else."""
    try:
        attr_id = attrs.intify_attr(attr)
    except (KeyError, ValueError, TypeError):
        raise ValueError(Errors.E072.format(attr=attr)) from None
    if attrs.NAMES.get(attr_id) not in VECTOR_ATTRS:
        raise ValueError(Errors.E072.format(attr=attr))
    return attr_id


class Vectors:
    """A float32 table of word vectors and the keys that address its rows.

    Args:
        strings: the StringStore that turns keys back into text (floret mode needs it for
            keys given as IDs); a `Vocab` shares its own when the table is assigned to it.
        shape: (rows, width) of a new all-zero table whose rows are free for `add`.
        data: the table itself, float32 of shape (rows, width) (numpy or cupy); other float
            dtypes are converted. All its rows count as used.
        keys: one key per row of `data`, in row order (default mode).
        name: the table's name (e.g. "en_vectors").
        mode: "default" or "floret".
        minn, maxn: floret: the shortest and longest character ngram (in characters).
        hash_count: floret: rows per ngram, 1-4.
        hash_seed: floret: the MurmurHash3 seed (32 bits).
        bow, eow: floret: the strings put before and after a word before taking ngrams.
        attr: the lexical attribute whose ID keys the table: "ORTH", "LOWER" or "NORM".
    """

    def __init__(self, *, strings: StringStore | None = None,
                 shape: Tuple[int, int] | None = None, data=None,
                 keys: Iterable[Key] | None = None, name: str | None = None,
                 mode: str = "default", minn: int = 0, maxn: int = 0, hash_count: int = 1,
                 hash_seed: int = 0, bow: str = "<", eow: str = ">",
                 attr: Union[str, int] = "ORTH"):
        if mode not in MODES:
            raise ValueError(Errors.E060.format(mode=mode))
        self.strings = strings if strings is not None else StringStore()
        self.name = name
        self.mode = mode
        self.attr = vector_attr(attr)
        self.minn, self.maxn = int(minn), int(maxn)
        self.hash_count, self.hash_seed = int(hash_count), int(hash_seed)
        self.bow, self.eow = bow, eow
        self._key2row: Dict[int, int] = {}
        self._index = None
        if data is None:
            width_rows = (0, 0) if shape is None else tuple(int(d) for d in shape)
            data = get_current_ops().xp.zeros(width_rows, dtype="float32")
            fresh = True
        else:
            fresh = False
        self.data = _as_table(data)
        self._unset: set = set(range(self.data.shape[0])) if fresh else set()
        self._free: List[int] = sorted(self._unset)
        if mode == "floret":
            detail = floret.settings_problem(self)
            if detail is None and keys is not None:
                detail = "keys were given"
            if detail is not None:
                raise ValueError(Errors.E061.format(detail=detail))
        elif keys is not None:
            keys = numpy.asarray([key_id(k) for k in keys], dtype=numpy.uint64)
            self.add_keys(keys, numpy.arange(len(keys)))

    # --- shape and keys --------------------------------------------------------------

    @property
    def shape(self) -> Tuple[int, int]:
        """(rows, width) of the table."""
        return tuple(self.data.shape)

    @property
    def size(self) -> int:
        """rows * width."""
        return int(self.data.size)

    @property
    def attr_(self) -> str:
        """The name of the attribute that keys the table ("ORTH", "LOWER" or "NORM")."""
        return attrs.NAMES[self.attr]

    @property
    def key2row(self) -> Dict[int, int]:
        """key -> row (default mode). Change it through `add`, `add_keys` or by assigning a
        whole new dict."""
        return self._key2row

    @key2row.setter
    def key2row(self, value: Dict[int, int]) -> None:
        self._key2row = {int(k): int(r) for k, r in value.items()}
        self._sync_unset()

    @property
    def n_keys(self) -> int:
        """Number of keys (several may share a row); -1 in floret mode, which has none."""
        return -1 if self.mode == "floret" else len(self._key2row)

    @property
    def is_full(self) -> bool:
        """Whether every row is in use (always True in floret mode)."""
        return self.mode == "floret" or not self._unset

    def __len__(self) -> int:
        """Number of rows."""
        return int(self.data.shape[0])

    def __iter__(self) -> Iterator[int]:
        return iter(self._key2row)

    def __contains__(self, key: Key) -> bool:
        """Whether `key` has a vector: every key does in floret mode."""
        if self.mode == "floret":
            return True
        return key_id(key) in self._key2row

    def keys(self) -> Iterable[int]:
        return self._key2row.keys()

    def values(self) -> Iterator:
        """The rows that at least one key points to, in row order: float32 (width,)."""
        for row in sorted(set(self._key2row.values())):
            yield self.data[row]

    def items(self) -> Iterator[Tuple[int, object]]:
        """(key, vector) for every key."""
        for key, row in self._key2row.items():
            yield key, self.data[row]

    def __getitem__(self, key: Key):
        """The vector of `key`: float32 (width,). E063 (KeyError) for a key without one."""
        if self.mode == "floret":
            return self.get_batch([key])[0]
        row = self._key2row.get(key_id(key))
        if row is None:
            raise KeyError(Errors.E063.format(key=key))
        return self.data[row]

    def __setitem__(self, key: Key, vector) -> None:
        """Overwrite the vector of a key that already has a row."""
        self._require_default("__setitem__")
        row = self._key2row.get(key_id(key))
        if row is None:
            raise KeyError(Errors.E063.format(key=key))
        self._write_row(row, vector, "vectors[key] = ...")

    # --- adding, resizing ------------------------------------------------------------

    def add(self, key: Key, *, vector=None, row: int | None = None) -> int:
        """Point `key` at a row, and optionally write that row.

        Args:
            key: a string or its ID.
            vector: float (width,) to store in the row.
            row: the row to use. Without it, the key keeps its row if it has one, else takes
                the lowest row no key uses (E065 when there is none).

        Returns:
            The key's row.
        """
        self._require_default("add")
        key = key_id(key)
        if row is None:
            row = self._key2row.get(key)
            if row is None:
                row = self._take_free_row(key)
        row = int(row)
        if not 0 <= row < self.data.shape[0]:
            raise ValueError(Errors.E064.format(key=key, row=row, rows=self.data.shape[0]))
        if vector is not None:
            self._write_row(row, vector, "add(vector=...)")
        self._key2row[key] = row
        self._unset.discard(row)
        self._index = None
        return row

    def add_keys(self, keys, rows) -> None:
        """Point many keys at rows at once (the bulk form of `add(key, row=row)`).

        Args:
            keys: uint64 (n,) (or a sequence of strings / IDs).
            rows: int (n,), each in [0, rows of the table).
        """
        self._require_default("add_keys")
        keys = numpy.asarray([key_id(k) for k in keys] if not isinstance(keys, numpy.ndarray)
                             else keys, dtype=numpy.uint64).reshape(-1)
        rows = numpy.asarray(rows, dtype=numpy.int64).reshape(-1)
        if len(keys) != len(rows):
            raise ValueError(Errors.E068.format(given=f"{len(keys)} keys, {len(rows)} rows"))
        bad = (rows < 0) | (rows >= self.data.shape[0])
        if bad.any():
            first = int(numpy.argmax(bad))
            raise ValueError(Errors.E064.format(key=int(keys[first]), row=int(rows[first]),
                                                rows=self.data.shape[0]))
        self._key2row.update(zip(keys.tolist(), rows.tolist()))
        if self._unset:
            self._unset.difference_update(numpy.unique(rows).tolist())
        self._index = None

    def resize(self, shape: Tuple[int, int], inplace: bool = False) -> List[Tuple[int, int]]:
        """Change the number of rows (and, unless `inplace`, the width).

        New rows are zero and free; keys whose rows are cut off are removed.

        Args:
            shape: the new (rows, width).
            inplace: resize the numpy array's own memory (same width only), invalidating
                other references to it.

        Returns:
            The removed (key, row) pairs.
        """
        self._require_default("resize")
        rows, width = (int(d) for d in shape)
        if inplace and isinstance(self.data, numpy.ndarray) \
                and not isinstance(self.data, numpy.memmap):
            if width != self.data.shape[1]:
                raise ValueError(Errors.E073.format(curr=self.data.shape[1], new=width))
            self.data.resize((rows, width), refcheck=False)
        else:
            xp = get_array_module(self.data)
            resized = xp.zeros((rows, width), dtype="float32")
            keep_rows, keep_width = min(rows, self.data.shape[0]), min(width, self.data.shape[1])
            resized[:keep_rows, :keep_width] = self.data[:keep_rows, :keep_width]
            self.data = resized
        removed = [(k, r) for k, r in self._key2row.items() if r >= rows]
        for key, _ in removed:
            del self._key2row[key]
        self._sync_unset()
        return removed

    def clear(self) -> None:
        """Remove every key (the data stays; all rows become free)."""
        self._require_default("clear")
        self._key2row = {}
        self._sync_unset()

    # --- lookups ---------------------------------------------------------------------

    def find(self, *, key: Key | None = None, keys=None, row: int | None = None,
             rows=None):
        """Look rows up by key, or keys by row (default mode).

        Give exactly one of:
            key: returns its row (int), -1 if it has none.
            keys: strings / IDs, or uint64 (n,): returns int32 numpy (n,), -1 where missing.
            row: returns the first key added for that row (KeyError if none).
            rows: returns uint64 numpy (n,): the first key of each row.
        """
        self._require_default("find")
        given = {name: value for name, value in
                 (("key", key), ("keys", keys), ("row", row), ("rows", rows))
                 if value is not None}
        if len(given) != 1:
            raise ValueError(Errors.E068.format(given=", ".join(given) or "none"))
        if key is not None:
            return self._key2row.get(key_id(key), -1)
        if keys is not None:
            return self._find_rows(keys)
        row2key = self.row2key()
        if row is not None:
            return row2key[int(row)]
        return numpy.asarray([row2key[int(r)] for r in rows], dtype=numpy.uint64)

    def row2key(self) -> Dict[int, int]:
        """row -> the first key (in insertion order) that points to it."""
        row2key: Dict[int, int] = {}
        for key, row in self._key2row.items():
            row2key.setdefault(row, key)
        return row2key

    def get_batch(self, keys):
        """The vectors of many keys at once, on the table's device.

        Args:
            keys: strings / IDs, or uint64 (n,).

        Returns:
            float32 (n, width): default mode: each key's row, zeros for a key without one;
            floret mode: the mean of the rows of the word's ngrams (zeros for "").
        """
        if self.mode == "floret":
            return floret.get_batch(self, keys)
        rows = self._find_rows(keys)
        xp = get_array_module(self.data)
        out = xp.zeros((len(rows), self.data.shape[1]), dtype="float32")
        found = numpy.nonzero(rows >= 0)[0]
        if len(found):
            found_rows = rows[found]
            if xp is not numpy:
                found, found_rows = xp.asarray(found), xp.asarray(found_rows)
            out[found] = self.data[found_rows]
        return out

    def most_similar(self, queries, *, batch_size: int = 1024, n: int = 1,
                     sort: bool = True):
        """The `n` rows (that a key points to) closest to each query by cosine.

        Args:
            queries: float (n_queries, width) (one 1-d vector is taken as one query).
            batch_size: queries compared per step; memory is batch_size * rows floats.
            n: neighbours per query.
            sort: best first (ties: lower row first); always so for n = 1.

        Returns:
            (keys uint64 (n_queries, n), rows int32 (n_queries, n), scores float32
            (n_queries, n) in [-1, 1]), as numpy arrays; each row's key is its first key.
        """
        self._require_default("most_similar")
        return most_similar(self, queries, batch_size=batch_size, n=n, sort=sort)

    # --- devices and disk ------------------------------------------------------------

    def to_ops(self, ops: Ops) -> None:
        """Move the table to `ops`' device (e.g. CupyOps for the GPU)."""
        self.data = _as_table(ops.asarray(self.data))

    def to_disk(self, path: Union[str, Path], *, exclude: Sequence[str] = ()) -> None:
        """Write spaCy's layout into the directory `path`: `vectors` (.npy float32),
        `key2row` (msgpack {key: row}), `vectors.cfg` (JSON: mode, floret settings, attr)
        and, unless "strings" is in `exclude`, `strings.json`."""
        disk.write_vectors(self, Path(path), exclude=exclude)

    def from_disk(self, path: Union[str, Path], *, exclude: Sequence[str] = (),
                  mmap_mode: str | None = None) -> "Vectors":
        """Read a directory `to_disk` (ours or spaCy's) wrote; returns self.

        Args:
            path: the directory (e.g. a pipeline's `vocab/`).
            exclude: parts to skip ("strings").
            mmap_mode: None reads the table into memory; "r" memory-maps it read-only
                (workers share the page cache instead of each holding a copy); "c" maps
                it copy-on-write.

        Raises:
            OSError / ValueError: E070 naming the missing or unreadable file.
        """
        path = Path(path)
        cfg, data, key2row, strings = disk.read_vectors(path, exclude=exclude,
                                                        mmap_mode=mmap_mode)
        mode = cfg.get("mode", "default")
        if mode not in MODES:
            raise disk.bad_cfg(path, f"unknown mode {mode!r}; expected one of {MODES}")
        try:
            attr = vector_attr(cfg.get("attr", "ORTH"))
        except ValueError as err:
            raise disk.bad_cfg(path, str(err)) from None
        self.mode, self.attr = mode, attr
        self.name = cfg.get("name", self.name)
        for setting, default in zip(disk.FLORET_SETTINGS, (0, 0, 1, 0, "<", ">")):
            setattr(self, setting, cfg.get(setting, default))
        self.data = data
        if mode == "floret":
            problem = floret.settings_problem(self)
            if problem is not None:
                raise disk.bad_cfg(path, problem)
        self._key2row = key2row  # read_key2row's dict holds Python ints already
        self._sync_unset()
        if strings is not None:
            self.strings.update(strings)
        return self

    # --- internals -------------------------------------------------------------------

    def _require_default(self, method: str) -> None:
        if self.mode != "default":
            raise ValueError(Errors.E067.format(
                method=method, mode=self.mode,
                why="a floret table has no keys; it hashes every word's ngrams to rows. "
                    "Look vectors up with vectors[word] or get_batch."))

    def _write_row(self, row: int, vector, what: str) -> None:
        xp = get_array_module(self.data)
        vector = xp.asarray(vector, dtype="float32")
        if vector.shape != (self.data.shape[1],):
            raise ValueError(Errors.E066.format(got=tuple(vector.shape),
                                                width=self.data.shape[1]))
        if isinstance(self.data, numpy.ndarray) and not self.data.flags.writeable:
            raise ValueError(Errors.E069.format(what=what))
        self.data[row] = vector

    def _take_free_row(self, key: int) -> int:
        while self._free and self._free[0] not in self._unset:
            heapq.heappop(self._free)
        if not self._free:
            raise ValueError(Errors.E065.format(key=key, rows=self.data.shape[0],
                                                width=self.data.shape[1]))
        return self._free[0]

    def _sync_unset(self) -> None:
        used = set(self._key2row.values())
        self._unset = set(range(self.data.shape[0])) - used
        self._free = sorted(self._unset)
        self._index = None

    def _find_rows(self, keys) -> numpy.ndarray:
        if isinstance(keys, numpy.ndarray) and keys.dtype == numpy.uint64:
            ids = keys.reshape(-1)
        else:
            if hasattr(keys, "__cuda_array_interface__"):
                keys = keys.get()
            ids = numpy.fromiter((key_id(k) for k in keys), dtype=numpy.uint64)
        if len(ids) < 64:
            get = self._key2row.get
            return numpy.fromiter((get(k, -1) for k in ids.tolist()), dtype=numpy.int32,
                                  count=len(ids))
        if self._index is None:
            sorted_keys = numpy.fromiter(self._key2row.keys(), dtype=numpy.uint64,
                                         count=len(self._key2row))
            sorted_rows = numpy.fromiter(self._key2row.values(), dtype=numpy.int32,
                                         count=len(self._key2row))
            order = numpy.argsort(sorted_keys)
            self._index = (sorted_keys[order], sorted_rows[order])
        sorted_keys, sorted_rows = self._index
        if not len(sorted_keys):
            return numpy.full(len(ids), -1, dtype=numpy.int32)
        at = numpy.minimum(numpy.searchsorted(sorted_keys, ids), len(sorted_keys) - 1)
        return numpy.where(sorted_keys[at] == ids, sorted_rows[at], -1).astype(numpy.int32)


def _as_table(data):
    """`data` as a 2-d float32 array on its own device (converted if another float type)."""
    xp = get_array_module(data)
    if not hasattr(data, "ndim"):
        data = xp.asarray(data)
    if data.ndim != 2 or data.dtype.kind not in "fiu":
        raise ValueError(Errors.E062.format(got=f"{data.dtype} of shape {tuple(data.shape)}"))
    if data.dtype != numpy.float32:
        data = data.astype("float32")
    return data
