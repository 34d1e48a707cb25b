"""Splitting one whitespace-free chunk into tokens with the rules: the tokenizer's slow path.

The chunk cache in `native/tokenizer.pyx` calls `ChunkSplitter.split` once per distinct
chunk. The order of the rules:

1. A special case for the whole chunk wins (`"don't" -> "do" "n't"`).
2. Otherwise, repeatedly: stop if what is left is a special case, a `token_match` or a
   `url_match`; else strip one prefix and one suffix (preferring a strip that leaves a
   special case), until neither matches.
3. What is left is a special case, a whole token (token/url match) or is split at its
   infixes; each piece between infixes goes through steps 1-3 again (once), so that
   "2pm-5pm" gives "2" "pm" "-" "5" "pm" and "engine's" in "search-engine's" loses "'s".
4. The result is prefixes + middle + suffixes (in text order).

The last chunk of a text is split with `split_final`: there a token ending in a letter and
a full stop ("etc.", "U.S.", "No.", "A.") ends the sentence, and the full stop is a token
of its own, as in UD English ("... and so on, etc" ".").
"""
import re
from typing import Callable, Dict, List, Tuple

SPECIAL = "SPECIAL"
PREFIX = "PREFIX"
SUFFIX = "SUFFIX"
INFIX = "INFIX"
TOKEN = "TOKEN"
TOKEN_MATCH = "TOKEN_MATCH"
URL_MATCH = "URL_MATCH"

Trace = List[Tuple[str, str]]

# In chunks longer than LONG_CHUNK characters (pathological input such as 20,000 brackets
# in a row), the suffix pattern is searched in the last SUFFIX_WINDOW characters only, and
# in the whole string only when the match starts at the window's edge (so it may reach
# further left). Without this, every stripped suffix costs a scan of the whole chunk and
# the chunk takes quadratic time. Rules whose matches are runs of one class or shorter
# than the window give the same tokens either way.
LONG_CHUNK = 1000
SUFFIX_WINDOW = 64


class ChunkSplitter:
    """The rules of a tokenizer, applied to one chunk at a time.

    Args:
        specials: string -> tokens it splits into.
        prefix_search / suffix_search: str -> match or None (a compiled pattern's `search`).
        infix_finditer: str -> iterator of matches (a compiled pattern's `finditer`).
        token_match / url_match: str -> truthy when the string is one token.
    """

    def __init__(self, specials: Dict[str, List[str]], prefix_search: Callable | None,
                 suffix_search: Callable | None, infix_finditer: Callable | None,
                 token_match: Callable | None, url_match: Callable | None):
        self.specials = specials
        self.prefix_search = prefix_search
        self.suffix_search = suffix_search
        self.infix_finditer = infix_finditer
        self.token_match = token_match
        self.url_match = url_match

    def __setattr__(self, name: str, value) -> None:
        object.__setattr__(self, name, value)
        if name == "specials":
            # reassign `specials` after changing the dict in place, to update this
            object.__setattr__(self, "_max_special_len", max(map(len, value), default=0))
        elif name == "suffix_search":
            # the compiled pattern, when the function is its `search`: it accepts a start pos
            pattern = getattr(value, "__self__", None)
            usable = isinstance(pattern, re.Pattern) and getattr(value, "__name__", "") == "search"
            object.__setattr__(self, "_suffix_pattern", pattern if usable else None)

    def _is_special(self, text: str) -> bool:
        return len(text) <= self._max_special_len and text in self.specials

    def split(self, chunk: str) -> List[str]:
        """The token strings of `chunk`, in order; they concatenate to `chunk`."""
        special = self.specials.get(chunk)
        if special is not None:
            return list(special)
        if chunk.isspace():
            return [chunk]
        return [text for _, text in self.explain(chunk)]

    def split_final(self, chunk: str) -> List[str]:
        """`split` for the last chunk of a text: a final abbreviation gives up its full stop."""
        pieces = self.split(chunk)
        last = pieces[-1]
        if len(last) > 1 and last[-1] == "." and last[-2].isalpha():
            pieces[-1:] = [last[:-1], "."]
        return pieces

    def explain(self, chunk: str, _depth: int = 0) -> Trace:
        """(rule, token text) for each token of `chunk`: which rule produced it."""
        if chunk in self.specials:
            return [(SPECIAL, t) for t in self.specials[chunk]]
        if chunk.isspace():
            return [(TOKEN, chunk)]
        prefixes: Trace = []
        suffixes: Trace = []
        rest = chunk
        while rest and not self._is_special(rest) and not self._whole(rest):
            n_pre = self._prefix_len(rest)
            n_suf = self._suffix_len(rest[n_pre:])
            if not n_pre and not n_suf:
                break
            if n_pre and self._is_special(rest[n_pre:]):
                prefixes.append((PREFIX, rest[:n_pre]))
                rest = rest[n_pre:]
                break
            if n_suf and self._is_special(rest[:len(rest) - n_suf]):
                suffixes.append((SUFFIX, rest[len(rest) - n_suf:]))
                rest = rest[:len(rest) - n_suf]
                break
            if n_pre:
                prefixes.append((PREFIX, rest[:n_pre]))
            if n_suf:
                suffixes.append((SUFFIX, rest[len(rest) - n_suf:]))
            rest = rest[n_pre:len(rest) - n_suf]
        middle: Trace = []
        if rest:
            if rest in self.specials:
                middle = [(SPECIAL, t) for t in self.specials[rest]]
            elif self.token_match is not None and self.token_match(rest):
                middle = [(TOKEN_MATCH, rest)]
            elif self.url_match is not None and self.url_match(rest):
                middle = [(URL_MATCH, rest)]
            else:
                middle = self._split_infixes(rest, _depth)
        return prefixes + middle + suffixes[::-1]

    def _whole(self, text: str) -> bool:
        return bool((self.token_match is not None and self.token_match(text))
                    or (self.url_match is not None and self.url_match(text)))

    def _prefix_len(self, text: str) -> int:
        if self.prefix_search is None:
            return 0
        match = self.prefix_search(text)
        return match.end() - match.start() if match is not None else 0

    def _suffix_len(self, text: str) -> int:
        if self.suffix_search is None or not text:
            return 0
        pattern = self._suffix_pattern
        if pattern is not None and len(text) > LONG_CHUNK:
            window_start = len(text) - SUFFIX_WINDOW
            match = pattern.search(text, window_start)
            if match is not None and match.start() == window_start:
                match = pattern.search(text)
        else:
            match = self.suffix_search(text)
        return match.end() - match.start() if match is not None else 0

    def _split_infixes(self, text: str, depth: int) -> Trace:
        if self.infix_finditer is None:
            return [(TOKEN, text)]
        pieces: Trace = []
        start = 0
        for match in self.infix_finditer(text):
            begin, end = match.start(), match.end()
            # An infix at the very start, or overlapping the previous one, is not a split.
            if begin == 0 or begin < start or begin == end == start:
                continue
            if begin > start:
                pieces.extend(self._piece(text[start:begin], depth))
            if end > begin:
                pieces.append((INFIX, text[begin:end]))
            start = end
        if start == 0:
            return [(TOKEN, text)]
        if start < len(text):
            pieces.extend(self._piece(text[start:], depth))
        return pieces

    def _piece(self, piece: str, depth: int) -> Trace:
        if depth == 0:
            return self.explain(piece, depth + 1)
        special = self.specials.get(piece)
        if special is not None:
            return [(SPECIAL, t) for t in special]
        return [(TOKEN, piece)]
