"""Vocab and Lexeme: the per-string (context-free) attributes of words.

A Vocab owns the StringStore and computes each distinct string's lexical attributes once
(lower case, norm, shape, prefix, suffix and the boolean flags), caching them by orth ID.
Token attributes that are lexical (`token.lower_`, `token.is_alpha`, …) read this cache.
"""
from itertools import islice
from pathlib import Path
from typing import Callable, Dict, Iterator, Tuple, Union

import numpy
from thinc.api import get_array_module

from . import attrs
from .errors import Errors
from .lang.lex_attrs import LEX_ATTRS
from .pipeline_files import parsing
from .strings import StringStore
from .vectors import Vectors
from .vectors_similarity import cosine_similarity, vector_norm

FLAG_ATTRS = (
    attrs.IS_ALPHA, attrs.IS_ASCII, attrs.IS_DIGIT, attrs.IS_LOWER, attrs.IS_PUNCT,
    attrs.IS_SPACE, attrs.IS_TITLE, attrs.IS_UPPER, attrs.LIKE_URL, attrs.LIKE_NUM,
    attrs.LIKE_EMAIL, attrs.IS_STOP, attrs.IS_BRACKET, attrs.IS_QUOTE, attrs.IS_LEFT_PUNCT,
    attrs.IS_RIGHT_PUNCT, attrs.IS_CURRENCY,
)
STRING_ATTRS = (attrs.LOWER, attrs.NORM, attrs.SHAPE, attrs.PREFIX, attrs.SUFFIX)
_SLOT = {attrs.LOWER: 0, attrs.NORM: 1, attrs.SHAPE: 2, attrs.PREFIX: 3, attrs.SUFFIX: 4}


class LexemeData:
    """Cached lexical attributes of one string: string attributes as IDs, flags as a bitmask
    whose bit `attr_id` is set when that flag attribute is true."""

    __slots__ = ("orth", "values", "flags", "length")

    def __init__(self, orth: int, values: list, flags: int, length: int):
        self.orth = orth
        self.values = values
        self.flags = flags
        self.length = length


class Vocab:
    """Strings plus lexical attributes of every word seen.

    Args:
        strings: an existing StringStore or iterable of strings.
        lex_attr_getters: attribute ID -> function(str) overriding the defaults (a language's
            stop words, norm exceptions, number words).
        lang: language code, e.g. "en".
    """

    def __init__(self, strings=None, lex_attr_getters: Dict[int, Callable] | None = None,
                 lang: str = ""):
        if isinstance(strings, StringStore):
            self.strings = strings
        else:
            self.strings = StringStore(strings or ())
        self.lex_attr_getters = dict(LEX_ATTRS)
        if lex_attr_getters:
            self.lex_attr_getters.update(lex_attr_getters)
        self.lang = lang
        self._vectors = Vectors(strings=self.strings)
        self._lexemes: Dict[int, LexemeData] = {}
        # Bumped whenever a Lexeme attribute is set, so caches of lexical values can tell.
        self.lex_version = 0

    def mark(self) -> Tuple[int, int]:
        """A mark of the strings and lexemes held now, for `forget_since`."""
        return self.strings.mark(), len(self._lexemes)

    def forget_since(self, mark: Tuple[int, int]) -> int:
        """Drop the strings and lexemes added since `mark` (see StringStore.forget_since)
        and bump `lex_version`, so that caches of lexical values start afresh; returns the
        number of strings dropped. A tokenizer's cache holds IDs of dropped strings too:
        clear it as well (as the annotate job's `SharedPipeline` does)."""
        n_strings, n_lexemes = mark
        if len(self._lexemes) > n_lexemes:
            self._lexemes = dict(islice(self._lexemes.items(), n_lexemes))
        self.lex_version += 1
        return self.strings.forget_since(n_strings)

    @property
    def vectors(self):
        """The static vectors table (`Vectors`; empty, shape (0, 0), until one is loaded
        or assigned). A `Vectors` assigned here shares this vocab's strings."""
        return self._vectors

    @vectors.setter
    def vectors(self, value) -> None:
        if isinstance(value, Vectors) and value.strings is not self.strings:
            self.strings.update(value.strings)
            value.strings = self.strings
        self._vectors = Vectors(strings=self.strings) if value is None else value

    def lex_data(self, text: str, orth: int | None = None) -> LexemeData:
        """The cached LexemeData of `text` (computed and stored on first use)."""
        if orth is None:
            orth = self.strings.add(text)
        data = self._lexemes.get(orth)
        if data is None:
            data = self._compute(text, orth)
        return data

    def _compute(self, text: str, orth: int) -> LexemeData:
        self.strings.add(text)
        getters = self.lex_attr_getters
        values = [self.strings.add(getters[a](text)) for a in STRING_ATTRS]
        flags = 0
        for attr_id in FLAG_ATTRS:
            if getters[attr_id](text):
                flags |= 1 << attr_id
        data = LexemeData(orth, values, flags, len(text))
        self._lexemes[orth] = data
        return data

    def get_attr(self, data: LexemeData, attr_id: int) -> int:
        slot = _SLOT.get(attr_id)
        if slot is not None:
            return data.values[slot]
        if attr_id in (attrs.ORTH, attrs.ID):
            return data.orth
        if attr_id == attrs.LENGTH:
            return data.length
        if attr_id == attrs.LANG:
            return self.strings.add(self.lang)
        return 1 if data.flags & (1 << attr_id) else 0

    def attr_array(self, orths: numpy.ndarray, attr_id: int) -> numpy.ndarray:
        """Lexical attribute `attr_id` for an array of orth IDs, looked up once per distinct ID.

        Args:
            orths: uint64 array of shape (n,); every ID must be in the StringStore.

        Returns:
            uint64 array of shape (n,).
        """
        if len(orths) == 0:
            return numpy.zeros((0,), dtype=numpy.uint64)
        unique, inverse = numpy.unique(orths, return_inverse=True)
        strings = self.strings
        values = numpy.fromiter(
            (self.get_attr(self.lex_data(strings[int(o)], int(o)), attr_id) for o in unique),
            dtype=numpy.uint64, count=len(unique))
        return values[inverse.reshape(-1)]

    # --- vectors ---------------------------------------------------------------------

    @property
    def vectors_length(self) -> int:
        """Width of the vectors table (0 without one)."""
        shape = self.vectors.shape
        return int(shape[1]) if len(shape) == 2 else 0

    def vector_key(self, orth: Union[str, int]) -> int:
        """The key the vectors table uses for the word `orth`: the ID of its ORTH, LOWER or
        NORM, as the table's `attr` says."""
        orth = self.strings.add(orth) if isinstance(orth, str) else int(orth)
        attr_id = getattr(self.vectors, "attr", attrs.ORTH)
        if attr_id == attrs.ORTH:
            return orth
        return self.get_attr(self.lex_data(self.strings[orth], orth), attr_id)

    def has_vector(self, orth: Union[str, int]) -> bool:
        """Whether the word `orth` (string or ID) has a vector: its key is in the table
        (every word does in a floret table with rows)."""
        if getattr(self.vectors, "mode", "default") == "floret":
            return len(self.vectors) > 0
        return self.vector_key(orth) in self.vectors

    def get_vector(self, orth: Union[str, int]):
        """The vector of the word `orth` (string or ID): float32 (width,) on the table's
        device; zeros when it has none."""
        key = self.vector_key(orth)
        vectors = self.vectors
        if getattr(vectors, "mode", "default") == "floret":
            return vectors.get_batch([self.strings[key]])[0]
        if key in vectors:
            return vectors[key]
        xp = get_array_module(vectors.data)
        return xp.zeros((self.vectors_length,), dtype="float32")

    def set_vector(self, orth: Union[str, int], vector) -> None:
        """Give the word `orth` (string or ID) the vector `vector` (float, (width,)).

        A table without a free row grows by 30% (at least 100 rows); an empty table takes
        the vector's width. Default-mode tables only (E067 for floret).
        """
        key = self.vector_key(orth)
        vectors = self.vectors
        vector = numpy.asarray(vector, dtype=numpy.float32) \
            if not hasattr(vector, "__cuda_array_interface__") else vector
        if vectors.mode == "default" and vectors.is_full and key not in vectors:
            width = vector.shape[-1] if vectors.shape[1] == 0 else vectors.shape[1]
            vectors.resize((max(100, int(vectors.shape[0] * 1.3)), width))
        vectors.add(key, vector=vector)

    def __getitem__(self, key: Union[str, int]) -> "Lexeme":
        if isinstance(key, str):
            return Lexeme(self, self.strings.add(key))
        return Lexeme(self, int(key))

    def __contains__(self, key: Union[str, int]) -> bool:
        orth = self.strings.as_int(key)
        return orth in self._lexemes

    def __len__(self) -> int:
        return len(self._lexemes)

    def __iter__(self) -> Iterator["Lexeme"]:
        for orth in list(self._lexemes):
            yield Lexeme(self, orth)

    def to_disk(self, path: Union[str, Path]) -> None:
        """Write `strings.json` and, when the vectors table has rows, spaCy's vectors files
        (`vectors`, `key2row`, `vectors.cfg`) into the directory `path`."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.strings.to_disk(path / "strings.json")
        if isinstance(self.vectors, Vectors) and len(self.vectors):
            self.vectors.to_disk(path, exclude=("strings",))

    def from_disk(self, path: Union[str, Path], *,
                  vectors_mmap_mode: str | None = None) -> "Vocab":
        """Read what `to_disk` (or spaCy's `Vocab.to_disk`) wrote into `path`.

        Args:
            path: a pipeline's `vocab/` directory.
            vectors_mmap_mode: "r" to memory-map the vectors table read-only instead of
                reading it into memory (see `Vectors.from_disk`).
        """
        path = Path(path)
        strings_path = path / "strings.json"
        if strings_path.exists():
            data = strings_path.read_bytes()
            with parsing(strings_path):
                self.strings.update(StringStore().from_bytes(data))
        if (path / "vectors").exists():
            self.vectors = Vectors(strings=self.strings).from_disk(
                path, exclude=("strings",), mmap_mode=vectors_mmap_mode)
        return self


def _flag(attr_id: int):
    def get(self) -> bool:
        return bool(self._data.flags & (1 << attr_id))

    def set(self, value: bool) -> None:
        self.vocab.lex_version += 1
        if value:
            self._data.flags |= 1 << attr_id
        else:
            self._data.flags &= ~(1 << attr_id)

    return property(get, set)


def _string_attr(attr_id: int, as_string: bool):
    slot = _SLOT[attr_id]

    def get(self):
        value = self._data.values[slot]
        return self.vocab.strings[value] if as_string else value

    def set(self, value) -> None:
        self.vocab.lex_version += 1
        self._data.values[slot] = (self.vocab.strings.add(value) if isinstance(value, str)
                                   else int(value))

    return property(get, set)


class Lexeme:
    """A word type in the Vocab: its context-free attributes. Setting an attribute (for
    example `nlp.vocab["gonna"].norm_ = "going to"`) changes it for every token of that word."""

    __slots__ = ("vocab", "orth", "_data")

    def __init__(self, vocab: Vocab, orth: int):
        self.vocab = vocab
        self.orth = orth
        try:
            text = vocab.strings[orth]
        except KeyError:
            raise KeyError(Errors.E002.format(key=orth)) from None
        self._data = vocab.lex_data(text, orth)

    @property
    def orth_(self) -> str:
        return self.vocab.strings[self.orth]

    text = orth_

    @property
    def lang_(self) -> str:
        return self.vocab.lang

    @property
    def vector(self):
        """The word's vector from `vocab.vectors`: float32 (width,), zeros if none."""
        return self.vocab.get_vector(self.orth)

    @vector.setter
    def vector(self, value) -> None:
        self.vocab.set_vector(self.orth, value)

    @property
    def has_vector(self) -> bool:
        return self.vocab.has_vector(self.orth)

    @property
    def vector_norm(self) -> float:
        """L2 norm of `vector` (0.0 without one)."""
        return vector_norm(self.vector)

    def similarity(self, other) -> float:
        """Cosine of this word's vector with `other`'s (a Lexeme, Token, Span or Doc):
        1.0 for the same word, 0.0 (with a warning) when either vector is all zeros."""
        if getattr(other, "orth", None) == self.orth:
            return 1.0
        if not hasattr(other, "orth") and hasattr(other, "__len__") and len(other) == 1 \
                and other[0].orth == self.orth:
            return 1.0
        return cosine_similarity("Lexeme", self.vector, other,
                                 has_keys=self.vocab.vectors.n_keys != 0,
                                 compares="zero vectors")

    def __len__(self) -> int:
        return self._data.length

    def __repr__(self) -> str:
        return f"Lexeme({self.orth_!r})"

    lower = _string_attr(attrs.LOWER, False)
    lower_ = _string_attr(attrs.LOWER, True)
    norm = _string_attr(attrs.NORM, False)
    norm_ = _string_attr(attrs.NORM, True)
    shape = _string_attr(attrs.SHAPE, False)
    shape_ = _string_attr(attrs.SHAPE, True)
    prefix = _string_attr(attrs.PREFIX, False)
    prefix_ = _string_attr(attrs.PREFIX, True)
    suffix = _string_attr(attrs.SUFFIX, False)
    suffix_ = _string_attr(attrs.SUFFIX, True)
    is_alpha = _flag(attrs.IS_ALPHA)
    is_ascii = _flag(attrs.IS_ASCII)
    is_digit = _flag(attrs.IS_DIGIT)
    is_lower = _flag(attrs.IS_LOWER)
    is_upper = _flag(attrs.IS_UPPER)
    is_title = _flag(attrs.IS_TITLE)
    is_punct = _flag(attrs.IS_PUNCT)
    is_space = _flag(attrs.IS_SPACE)
    like_url = _flag(attrs.LIKE_URL)
    like_num = _flag(attrs.LIKE_NUM)
    like_email = _flag(attrs.LIKE_EMAIL)
    is_stop = _flag(attrs.IS_STOP)
    is_bracket = _flag(attrs.IS_BRACKET)
    is_quote = _flag(attrs.IS_QUOTE)
    is_left_punct = _flag(attrs.IS_LEFT_PUNCT)
    is_right_punct = _flag(attrs.IS_RIGHT_PUNCT)
    is_currency = _flag(attrs.IS_CURRENCY)
