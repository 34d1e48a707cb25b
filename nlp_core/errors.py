"""One catalogue of error messages.

Every message names the input (key, file, value) and says what to change. Raise them as
`raise ValueError(Errors.E002.format(...))`; the code prefix lets users search for help.
"""
import difflib
from typing import Iterable


class _Catalogue(type):
    def __getattribute__(cls, name: str) -> str:
        message = type.__getattribute__(cls, name)
        if name.startswith("E") and isinstance(message, str):
            return f"[{name}] {message}"
        return message


class Errors(metaclass=_Catalogue):
    E001 = "Expected a str for the text to tokenize, got {type}. Decode bytes first or pass a Doc."
    E002 = ("Unknown string key {key!r}: it is not in this StringStore. Strings are added when a "
            "document or component uses them; add it with `strings.add(...)`.")
    E003 = "Expected a str or int key for the StringStore, got {type}."
    E004 = "Unknown attribute {name!r}. Known attributes include: {known}."
    E005 = ("Doc words and spaces must have the same length: got {n_words} words and {n_spaces} "
            "spaces.")
    E006 = "Doc words must be non-empty strings: word {i} is {word!r}."
    E007 = "Token index {i} is out of range for a Doc of {n} tokens."
    E008 = ("Cannot iterate over sentences: the Doc has neither sentence boundaries nor a "
            "dependency parse. Add a parser or sentence segmenter, or set `token.is_sent_start`.")
    E009 = ("Entity spans overlap: {span1!r} ({start1}-{end1}) and {span2!r} ({start2}-{end2}). "
            "A token can be in one entity only; use `doc.spans[...]` for overlapping spans.")
    E010 = "Invalid IOB value {value!r} for token {i}: expected one of 'B', 'I', 'O' or ''."
    E011 = "Invalid span boundaries {start}:{end} for a Doc of {n} tokens."
    E012 = ("Extension {name!r} already exists on {obj}. Pass `force=True` to overwrite it, or "
            "choose another name.")
    E013 = ("Extension {name!r} needs exactly one of `default`, `getter` or `method` "
            "(a setter only together with a getter).")
    E014 = ("{obj} has no extension {name!r}. Register it first with "
            "`{obj}.set_extension({name!r}, default=...)`.")
    E015 = "Cannot set extension {name!r}: it has a getter but no setter."
    E016 = "alignment_mode must be one of 'strict', 'contract', 'expand', got {mode!r}."
    E017 = "Invalid part-of-speech {value!r}: expected a Universal POS tag such as {known}."
    E018 = "Cannot merge an empty list of Docs with Doc.from_docs."
    E019 = "All Docs passed to Doc.from_docs must share one Vocab."
    E020 = "from_array got an array of shape {shape} for {n_attrs} attributes and {n} tokens."
    E021 = ("Head index {head} of token {i} is out of range for a Doc of {n} tokens. Heads are "
            "absolute token indices within the same Doc.")
    E022 = "Span group {name!r} got a span from another Doc."
    E023 = "Cannot set a Span's label to {value!r}: expected str or int."


class Warnings(metaclass=_Catalogue):
    W001 = "Skipped {n} bad records in {path}: {reason}"


def nearest(name: str, known: Iterable[str], n: int = 3) -> str:
    """Return the known names closest to `name`, formatted for an error message."""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=n, cutoff=0.5)
    if not close:
        close = sorted(known)[:n]
    return ", ".join(repr(k) for k in close)
