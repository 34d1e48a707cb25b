"""Recovering each token's trailing space from the raw text the tokens came from."""
from typing import List, Sequence


def spaces_from_text(words: Sequence[str], text: str) -> List[bool] | None:
    """Trailing-space flags that make `words` joined with them equal `text` exactly.

    Tokens must appear in order with nothing, or one " ", between them; anything else (a
    different spelling, two spaces, a tab) cannot be expressed by spaces and returns None.

    Args:
        words: the tokens, non-empty strings.
        text: the raw text, e.g. a CoNLL-U or IOB `# text = ...` comment.

    Returns:
        one bool per word, or None when the words do not align with the text.
    """
    spaces: List[bool] = []
    pos = 0
    n = len(words)
    for i, word in enumerate(words):
        if not text.startswith(word, pos):
            return None
        pos += len(word)
        space = False
        if pos < len(text) and text[pos] == " ":
            nxt = words[i + 1] if i + 1 < n else None
            # a following token may itself start with a space; prefer reading the space as
            # this token's trailing space unless only the other reading aligns
            space = nxt is None or text.startswith(nxt, pos + 1) or not text.startswith(nxt, pos)
        if space:
            pos += 1
        spaces.append(space)
    return spaces if pos == len(text) else None
