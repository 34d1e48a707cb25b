"""StringStore: a two-way map between strings and 64-bit hash values.

The values are the ones spaCy uses (MurmurHash64A, seed 1, over UTF-8), and the symbol
strings ("ORTH", "NOUN", "nsubj", …) keep their small fixed IDs, so documents serialised by
spaCy read here and ours read there.
"""
from itertools import islice
from pathlib import Path
from typing import Dict, Iterable, Iterator, Union

import srsly
from native.hashing import hash_string

from .errors import Errors
from .symbols import IDS as SYMBOL_IDS
from .symbols import NAMES as SYMBOL_NAMES


def get_string_id(key: Union[str, int]) -> int:
    """The integer ID of a string without storing it: symbol ID, 0 for "", else its hash."""
    if isinstance(key, int):
        return key
    if key == "":
        return 0
    symbol = SYMBOL_IDS.get(key)
    if symbol is not None:
        return symbol
    return hash_string(key)


_UNSTORED_HASHES = frozenset(hash_string(name) for name in SYMBOL_IDS)


class StringStore:
    """Look up strings by hash and hashes by string.

    `add(s)` stores `s` and returns its ID; `store[id]` gives the string back, `store[s]`
    gives the ID. Symbols and the empty string are always present.
    """

    def __init__(self, strings: Iterable[str] = ()):
        self._by_key: Dict[int, str] = {}
        self.update(strings)

    def add(self, string: str) -> int:
        """Store `string`; return its ID (symbol ID, 0 for "", else the 64-bit hash)."""
        if not isinstance(string, str):
            raise TypeError(Errors.E003.format(type=type(string).__name__))
        key = get_string_id(string)
        if key >= len(SYMBOL_NAMES):
            self._by_key[key] = string
        return key

    def as_int(self, key: Union[str, int]) -> int:
        return get_string_id(key)

    def as_string(self, key: Union[str, int]) -> str:
        return key if isinstance(key, str) else self[key]

    def __getitem__(self, key: Union[str, int]) -> Union[str, int]:
        if isinstance(key, str):
            return get_string_id(key)
        if not isinstance(key, int):
            # numpy integers arrive here from Doc arrays
            try:
                key = int(key)
            except (TypeError, ValueError):
                raise TypeError(Errors.E003.format(type=type(key).__name__)) from None
        if key < len(SYMBOL_NAMES):
            return SYMBOL_NAMES[key]
        try:
            return self._by_key[key]
        except KeyError:
            raise KeyError(Errors.E002.format(key=key)) from None

    def get(self, key: int, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: Union[str, int]) -> bool:
        if isinstance(key, str):
            key = get_string_id(key)
            if key < len(SYMBOL_NAMES):
                return True
        elif key < len(SYMBOL_NAMES):
            return True
        return int(key) in self._by_key

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[str]:
        """The stored strings (symbols excluded), in insertion order."""
        return iter(list(self._by_key.values()))

    def mark(self) -> int:
        """A mark of what the store holds now, for `forget_since`."""
        return len(self._by_key)

    def forget_since(self, mark: int) -> int:
        """Drop the strings added since `mark` was taken (strings are kept in insertion
        order); returns how many were dropped. A long-running process that reads an
        unbounded stream of new words (a Beam worker) calls it between batches so that the
        store does not grow with the number of distinct words seen; IDs of dropped strings
        no longer resolve, so nothing that still holds them may be used afterwards."""
        dropped = len(self._by_key) - mark
        if dropped > 0:  # a fresh dict: a trimmed one would keep its grown table
            self._by_key = dict(islice(self._by_key.items(), mark))
        return max(dropped, 0)

    def update(self, strings: Iterable[str]) -> None:
        """`add` each of `strings` (another StringStore is merged by its hashes). Hashed in
        one pass rather than a call per string: a pipeline's vocab loads 10^5-10^6."""
        if isinstance(strings, StringStore):
            self._by_key.update(strings._by_key)
            return
        strings = strings if isinstance(strings, list) else list(strings)
        try:
            keys = list(map(hash_string, strings))
        except TypeError:
            bad = next(s for s in strings if not isinstance(s, str))
            raise TypeError(Errors.E003.format(type=type(bad).__name__)) from None
        self._by_key.update(zip(keys, strings))
        # symbols and "" have fixed small IDs and are never stored under their hash
        for key in _UNSTORED_HASHES:
            self._by_key.pop(key, None)
        if keys and min(keys) < len(SYMBOL_NAMES):  # a hash in the symbol range: 2^-55
            for key in range(len(SYMBOL_NAMES)):
                self._by_key.pop(key, None)

    def to_bytes(self) -> bytes:
        return srsly.json_dumps(sorted(self._by_key.values())).encode("utf8")

    def from_bytes(self, data: bytes) -> "StringStore":
        self._by_key.clear()
        self.update(srsly.json_loads(data))
        return self

    def to_disk(self, path: Union[str, Path]) -> None:
        Path(path).write_bytes(self.to_bytes())

    def from_disk(self, path: Union[str, Path]) -> "StringStore":
        return self.from_bytes(Path(path).read_bytes())
