"""The rule-based Tokenizer: text -> Doc, with spaCy's rules, conventions and serialised data.

The hot loop (whitespace split, chunk cache, output arrays) is `native.tokenizer.
TokenizerCore`; the rules for a chunk not yet in the cache are `rules.ChunkSplitter`.
Changing any rule or special case empties the cache.

The serialised form (`to_bytes`, the `tokenizer` file of a pipeline directory) is one
msgpack map that both sides read: spaCy's keys (`prefix_search`, `suffix_search`,
`infix_finditer`, `token_match`, `url_match` as pattern strings, `exceptions` as lists of
{ORTH: piece}, `faster_heuristics`), which spaCy 3.x loads as its own tokenizer's, and
ours beside them (`patterns` with each pattern's flags and method, `rules`), which spaCy
ignores. A file spaCy wrote (its keys only) loads here too.
"""
import functools
import re
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Sequence, Tuple, Union

import srsly
from native.tokenizer import TokenizerCore

from ..errors import Errors
from ..tokens import Doc
from .reference import split_whitespace
from .regex import compile_infix_regex, compile_prefix_regex, compile_suffix_regex
from .rules import ChunkSplitter

FORMAT_VERSION = 2
_PATTERN_FIELDS = ("prefix_search", "suffix_search", "infix_finditer", "token_match",
                   "url_match")
_REGEX_METHODS = ("search", "finditer", "match", "fullmatch")
# the method spaCy calls on each field's pattern (it stores only the pattern string)
_SPACY_METHODS = {"prefix_search": "search", "suffix_search": "search",
                  "infix_finditer": "finditer", "token_match": "match", "url_match": "match"}
_ORTH_ID = 65  # spaCy's attribute ID of ORTH, the key of its special cases' pieces
_INLINE_FLAGS = {re.IGNORECASE: "i", re.MULTILINE: "m", re.DOTALL: "s", re.VERBOSE: "x",
                 re.ASCII: "a"}
_LEADING_FLAGS = re.compile(r"^(?:\(\?[aiLmsux]+\))+")


class Tokenizer:
    """Split text into a Doc by whitespace, special cases and prefix/suffix/infix rules.

    Args:
        vocab: the Vocab whose StringStore receives the token strings.
        rules: special cases, string -> list of token strings that join back to it (or
            spaCy's form, a list of {"ORTH": ...} dicts).
        prefix_search: str -> match at the start (a compiled pattern's `search`).
        suffix_search: str -> match at the end (a compiled pattern's `search`).
        infix_finditer: str -> iterator of matches inside (a compiled pattern's `finditer`).
        token_match: str -> truthy when the string must stay one token; tried before and
            after stripping prefixes and suffixes.
        url_match: like token_match, for web addresses.
        max_cache_entries: the chunk cache is emptied when it reaches this size.
    """

    def __init__(self, vocab, rules: Dict[str, Sequence] | None = None,
                 prefix_search: Callable | None = None,
                 suffix_search: Callable | None = None,
                 infix_finditer: Callable | None = None,
                 token_match: Callable | None = None,
                 url_match: Callable | None = None, *,
                 max_cache_entries: int = 1_000_000):
        self.vocab = vocab
        self._rules: Dict[str, List[str]] = {}
        for string, substrings in (rules or {}).items():
            self._rules[string] = _checked_special(string, substrings)
        self._prefix_search = prefix_search
        self._suffix_search = suffix_search
        self._infix_finditer = infix_finditer
        self._token_match = token_match
        self._url_match = url_match
        self._splitter = ChunkSplitter(self._rules, prefix_search, suffix_search,
                                       infix_finditer, token_match, url_match)
        self._core = TokenizerCore(self._splitter.split, self._splitter.split_final,
                                   vocab.strings.add,
                                   functools.partial(Doc.from_columns, vocab),
                                   max_cache_entries)

    def __call__(self, text: str) -> Doc:
        """Tokenize one text. `doc.text == text` always.

        Raises:
            TypeError: when `text` is not a str.
        """
        if type(text) is not str:
            if not isinstance(text, str):
                raise TypeError(Errors.E001.format(type=type(text).__name__))
            text = str(text)
        return self._core(text)

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterator[Doc]:
        """Tokenize a stream of texts lazily, one Doc per text, in order.

        Args:
            batch_size: accepted for compatibility; the tokenizer works text by text.
        """
        for text in texts:
            yield self(text)

    def explain(self, text: str) -> List[Tuple[str, str]]:
        """(rule, token text) for each non-whitespace token of `text`, with rule one of
        SPECIAL, PREFIX, SUFFIX, INFIX, TOKEN, TOKEN_MATCH, URL_MATCH. Debugging aid; it
        does not use or fill the cache."""
        if not isinstance(text, str):
            raise TypeError(Errors.E001.format(type=type(text).__name__))
        trace: List[Tuple[str, str]] = []
        for chunk, _ in split_whitespace(text):
            if not chunk.isspace():
                trace.extend(self._splitter.explain(chunk))
        return trace

    # rules ----------------------------------------------------------------------------

    def add_special_case(self, string: str, substrings: Sequence) -> None:
        """Always split `string` into `substrings` (which must join back to it exactly).

        Example: `tokenizer.add_special_case("gimme", ["gim", "me"])`.
        """
        self._rules[string] = _checked_special(string, substrings)
        self._splitter.specials = self._rules
        self._core.clear()

    @property
    def rules(self) -> Dict[str, List[str]]:
        """A copy of the special cases; assign a dict to replace them all."""
        return {k: list(v) for k, v in self._rules.items()}

    @rules.setter
    def rules(self, rules: Dict[str, Sequence]) -> None:
        checked = {s: _checked_special(s, subs) for s, subs in (rules or {}).items()}
        self._rules.clear()
        self._rules.update(checked)
        self._splitter.specials = self._rules
        self._core.clear()

    def _set_rule_function(self, name: str, value: Callable | None) -> None:
        setattr(self, "_" + name, value)
        setattr(self._splitter, name, value)
        self._core.clear()

    prefix_search = property(lambda self: self._prefix_search,
                             lambda self, v: self._set_rule_function("prefix_search", v))
    suffix_search = property(lambda self: self._suffix_search,
                             lambda self, v: self._set_rule_function("suffix_search", v))
    infix_finditer = property(lambda self: self._infix_finditer,
                              lambda self, v: self._set_rule_function("infix_finditer", v))
    token_match = property(lambda self: self._token_match,
                           lambda self, v: self._set_rule_function("token_match", v))
    url_match = property(lambda self: self._url_match,
                         lambda self, v: self._set_rule_function("url_match", v))

    @property
    def cache_size(self) -> int:
        """How many distinct chunks are cached."""
        return len(self._core)

    def clear_cache(self) -> None:
        self._core.clear()

    # serialisation --------------------------------------------------------------------

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        """The rules as msgpack data that spaCy 3.x reads too (see the module docstring):
        patterns (source, flags, method) and special cases.

        Args:
            exclude: names of fields to leave out ("rules", "prefix_search", ...).

        Raises:
            ValueError: when a rule function is not a compiled pattern's method (it has no
                data form); exclude it to serialise the rest.
        """
        exclude = set(exclude)
        data: Dict[str, object] = {"format": "nlp_core.tokenizer", "version": FORMAT_VERSION}
        patterns = {}
        for name in _PATTERN_FIELDS:
            if name not in exclude:
                patterns[name] = _pattern_data(name, getattr(self, name))
                data[name] = _spacy_pattern(name, patterns[name])
        data["patterns"] = patterns
        if "rules" not in exclude:
            data["rules"] = self.rules
            data["exceptions"] = {string: [{_ORTH_ID: piece} for piece in pieces]
                                  for string, pieces in sorted(self._rules.items())}
        data["faster_heuristics"] = True
        return srsly.msgpack_dumps(data)

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = (),
                   _source: str = "") -> "Tokenizer":
        """Load rules written by `to_bytes` (or by spaCy 3.x's tokenizer), replacing the
        fields the data holds."""
        exclude = set(exclude)
        try:
            data = srsly.msgpack_loads(bytes_data)
        except Exception as err:  # msgpack raises several unrelated types
            raise ValueError(Errors.E104.format(source=_source, detail=f"not msgpack ({err})",
                                                version=FORMAT_VERSION)) from None
        if not isinstance(data, dict):
            raise ValueError(Errors.E104.format(source=_source, detail="no tokenizer data",
                                                version=FORMAT_VERSION))
        if data.get("format") == "nlp_core.tokenizer":
            patterns, rules = _our_fields(data, _source)
        elif "exceptions" in data or any(isinstance(data.get(n), str) for n in _PATTERN_FIELDS):
            patterns, rules = _spacy_fields(data, _source)
        else:
            raise ValueError(Errors.E104.format(source=_source, detail="no tokenizer data",
                                                version=FORMAT_VERSION))
        for name in _PATTERN_FIELDS:
            if name in patterns and name not in exclude:
                self._set_rule_function(name, _pattern_function(name, patterns[name], _source))
        if rules is not None and "rules" not in exclude:
            self.rules = rules
        return self

    def __reduce__(self):
        # For multiprocessing: the native cache cannot be pickled, so a copy is rebuilt from
        # the rules' data (files on disk never hold pickles; see to_disk).
        return (_from_data, (self.vocab, self.to_bytes()))

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = ()) -> None:
        """Write `to_bytes()` to the file `path`."""
        Path(path).write_bytes(self.to_bytes(exclude=exclude))

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = ()) -> "Tokenizer":
        path = Path(path)
        return self.from_bytes(path.read_bytes(), exclude=exclude, _source=f" from {path}")


def create_tokenizer(vocab, defaults) -> Tokenizer:
    """A Tokenizer with a language's rules, e.g. `create_tokenizer(vocab,
    get_lang_defaults("en"))`.

    Args:
        vocab: the Vocab for the token strings.
        defaults: a defaults class or object with `tokenizer_exceptions`, `prefixes`,
            `suffixes`, `infixes` (lists of pattern strings), `token_match`, `url_match`.
    """
    prefixes = getattr(defaults, "prefixes", None)
    suffixes = getattr(defaults, "suffixes", None)
    infixes = getattr(defaults, "infixes", None)
    return Tokenizer(
        vocab,
        rules=getattr(defaults, "tokenizer_exceptions", None),
        prefix_search=compile_prefix_regex(prefixes).search if prefixes else None,
        suffix_search=compile_suffix_regex(suffixes).search if suffixes else None,
        infix_finditer=compile_infix_regex(infixes).finditer if infixes else None,
        token_match=getattr(defaults, "token_match", None),
        url_match=getattr(defaults, "url_match", None),
    )


def _from_data(vocab, data: bytes) -> Tokenizer:
    return Tokenizer(vocab).from_bytes(data)


def _checked_special(string: str, substrings: Sequence) -> List[str]:
    pieces = [s.get("ORTH", s.get(_ORTH_ID)) if isinstance(s, dict) else s for s in substrings]
    if not isinstance(string, str) or not string or any(c.isspace() for c in string):
        raise ValueError(Errors.E102.format(string=string))
    if not all(isinstance(p, str) and p for p in pieces) or "".join(pieces) != string:
        joined = "".join(p for p in pieces if isinstance(p, str))
        raise ValueError(Errors.E101.format(string=string, substrings=pieces, joined=joined))
    return pieces


def _pattern_data(name: str, function: Callable | None) -> Dict[str, object] | None:
    if function is None:
        return None
    pattern = getattr(function, "__self__", None)
    method = getattr(function, "__name__", "")
    if not isinstance(pattern, re.Pattern) or method not in _REGEX_METHODS:
        raise ValueError(Errors.E103.format(name=name, obj=function))
    if not isinstance(pattern.pattern, str):
        raise ValueError(Errors.E103.format(name=name, obj=function))
    return {"pattern": pattern.pattern, "flags": pattern.flags, "method": method}


def _pattern_function(name: str, data: Dict[str, object] | None, source: str
                      ) -> Callable | None:
    if data is None:
        return None
    try:
        method = data["method"]
        if method not in _REGEX_METHODS:
            raise ValueError(f"unknown method {method!r}")
        return getattr(re.compile(data["pattern"], data["flags"]), method)
    except (KeyError, TypeError, ValueError, re.error) as err:
        raise ValueError(Errors.E104.format(source=source, detail=f"bad {name}: {err}",
                                            version=FORMAT_VERSION)) from None


def _our_fields(data: Dict, source: str) -> Tuple[Dict[str, object], object]:
    """(pattern data per field, rules) of data `to_bytes` wrote (format version 1 or 2)."""
    version = data.get("version")
    if version == 1:  # patterns under the field names themselves
        return {n: data[n] for n in _PATTERN_FIELDS if n in data}, data.get("rules")
    if version != FORMAT_VERSION or not isinstance(data.get("patterns"), dict):
        raise ValueError(Errors.E104.format(source=source, detail=f"format version {version!r}",
                                            version=FORMAT_VERSION))
    return data["patterns"], data.get("rules")


def _spacy_fields(data: Dict, source: str) -> Tuple[Dict[str, object], object]:
    """(pattern data per field, rules) of a tokenizer file spaCy 3.x wrote: pattern
    strings (called with the method spaCy calls) and special cases as {ORTH: piece} lists
    (their other attributes, such as NORM, are not kept)."""
    patterns = {}
    for name in _PATTERN_FIELDS:
        value = data.get(name)
        if isinstance(value, str):
            patterns[name] = {"pattern": value, "flags": 0, "method": _SPACY_METHODS[name]}
        elif name in data and value is None:
            patterns[name] = None
    exceptions = data.get("exceptions")
    if exceptions is not None and not isinstance(exceptions, dict):
        raise ValueError(Errors.E104.format(source=source, detail="bad exceptions",
                                            version=FORMAT_VERSION))
    if exceptions is not None:
        # spaCy lists whitespace (" ", "\n", "\t", ...) as special cases; here whitespace
        # never reaches the rules (it is split off first, with the same tokens)
        exceptions = {string: pieces for string, pieces in exceptions.items()
                      if not (isinstance(string, str) and any(c.isspace() for c in string))}
    return patterns, exceptions


def _spacy_pattern(name: str, data: Dict[str, object] | None) -> str | None:
    """The pattern string spaCy compiles (without flags) and calls with its own method for
    field `name`, matching what ours does: flags become inline flags, and a `fullmatch`
    pattern is anchored at the end, since spaCy calls `match`; None where no string gives
    the same behaviour under spaCy's method."""
    if data is None:
        return None
    pattern = str(data["pattern"])
    leading = _LEADING_FLAGS.match(pattern)
    head = leading.group(0) if leading else ""
    body = pattern[len(head):]
    flags = "".join(c for flag, c in _INLINE_FLAGS.items() if int(data["flags"]) & flag)
    head = (f"(?{flags})" if flags else "") + head
    method = data["method"]
    if method == _SPACY_METHODS[name]:
        return head + body
    if method == "fullmatch" and _SPACY_METHODS[name] == "match":
        return head + f"(?:{body})\\Z"
    return None  # no equivalent for spaCy's method: spaCy leaves the field as it was
