"""Pure-Python reference of the native hot loop (`native/tokenizer.pyx`), used by tests.

It applies the same whitespace convention with no cache: one ' ' after a token is that
token's trailing whitespace; every other run of whitespace (extra spaces, newlines, tabs,
no-break spaces, a leading space) is a token of its own.
"""
from typing import Callable, List, Tuple


def split_whitespace(text: str) -> List[Tuple[str, bool]]:
    """The chunks of `text` with, for each, whether one ' ' follows it as its whitespace.

    A chunk is either a run of non-whitespace (to be split further by the rules) or a run of
    whitespace that becomes one token.
    """
    chunks: List[Tuple[str, bool]] = []
    start = 0
    in_space = False
    for i, char in enumerate(text):
        is_space = char.isspace()
        if is_space == in_space:
            continue
        if start < i:
            chunks.append((text[start:i], False))
        if char == " " and chunks and not in_space:
            chunks[-1] = (chunks[-1][0], True)
            start = i + 1
        else:
            start = i
        in_space = is_space
    if start < len(text):
        chunks.append((text[start:], False))
    return chunks


def tokenize_reference(text: str, split: Callable[[str], List[str]],
                       split_final: Callable[[str], List[str]] | None = None
                       ) -> Tuple[List[str], List[bool]]:
    """Words and trailing-space flags of `text`, splitting chunks with `split` (and the last
    non-whitespace chunk with `split_final`, when given)."""
    words: List[str] = []
    spaces: List[bool] = []
    chunks = split_whitespace(text)
    last = max((i for i, (c, _) in enumerate(chunks) if not c.isspace()), default=-1)
    for i, (chunk, space) in enumerate(chunks):
        pieces = split_final(chunk) if i == last and split_final else split(chunk)
        words.extend(pieces)
        spaces.extend([False] * (len(pieces) - 1) + [space])
    return words, spaces
