"""Normalising raw text for the pretraining-corpus job, and the boilerplate-line pass.

`normalise(text, form)`:
  1. line breaks: CR LF, lone CR, NEL, U+2028 and U+2029 become "\\n";
  2. control characters (Unicode Cc other than "\\n" and "\\t") and lone surrogates are
     removed;
  3. Unicode normalisation NFC (default), NFKC, or none;
  4. whitespace: every run of whitespace other than "\\n" becomes one space, spaces at the
     start and end of lines go, three or more line breaks become two (a paragraph break),
     and the text is stripped.

The result is what the filters, both dedupe steps and the shards see, so a duplicate that
differs only in whitespace or Unicode form is an exact duplicate.

Boilerplate lines (C4's approach, by line): a first pass counts, for every distinct line
hash, the documents holding that line (`line_hashes`); lines held by at least
`--boilerplate-min-docs` documents are removed from every document (`remove_lines`).
"""
import hashlib
import re
import unicodedata
from typing import AbstractSet, List

FORMS = ("NFC", "NFKC", "none")
_BREAKS = re.compile("\r\n?|[\x85\u2028\u2029]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff]")
# whitespace other than "\n" that is not already a single space: runs, tabs, NBSP, ...
_SPACES = re.compile(r"[^\S\n]{2,}|[^\S \n]")
_EDGE_SPACES = re.compile(" ?\n ?")
_MANY_BREAKS = re.compile("\n{3,}")


def normalise(text: str, form: str = "NFC") -> str:
    """`text` normalised (see the module docstring).

    Args:
        form: "NFC", "NFKC" or "none".
    """
    # each substitution only when its characters occur (most texts need few of them)
    if "\r" in text or "\x85" in text or "\u2028" in text or "\u2029" in text:
        text = _BREAKS.sub("\n", text)
    text = _CONTROL.sub("", text)
    if form != "none" and not text.isascii():  # ASCII text is in every normal form
        text = unicodedata.normalize(form, text)
    text = _SPACES.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = _EDGE_SPACES.sub("\n", text)
    if "\n\n\n" in text:
        text = _MANY_BREAKS.sub("\n\n", text)
    return text.strip()


def line_hash(line: str) -> int:
    """A 64-bit hash of one (normalised) line, the same in every process."""
    return int.from_bytes(hashlib.blake2b(line.encode("utf8"), digest_size=8).digest(),
                          "little")


def line_hashes(text: str) -> List[int]:
    """The distinct hashes of the text's non-empty lines, sorted."""
    return sorted({line_hash(line) for line in text.split("\n") if line})


def remove_lines(text: str, boilerplate: AbstractSet[int]) -> str:
    """`text` without the lines whose hash is in `boilerplate` (blank-line runs collapsed
    again)."""
    if not boilerplate:
        return text
    kept = [line for line in text.split("\n") if not line or line_hash(line) not in
            boilerplate]
    return _MANY_BREAKS.sub("\n\n", "\n".join(kept)).strip()


def text_hash(text: str) -> str:
    """The exact-dedupe key: 128-bit BLAKE2b of the normalised text, hex."""
    return hashlib.blake2b(text.encode("utf8"), digest_size=16).hexdigest()
