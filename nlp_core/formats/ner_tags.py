"""Per-token entity tags (IOB1, IOB2, BILUO, IOBES) -> entity spans."""
from typing import List, Sequence, Tuple

from ..errors import Errors

# prefix -> (starts an entity, ends it)
_PREFIXES = {"B": (True, False), "I": (False, False), "L": (False, True), "E": (False, True),
             "U": (True, True), "S": (True, True)}


class TagError(ValueError):
    """An entity tag that is not O or PREFIX-LABEL; `index` is the token."""

    def __init__(self, index: int, tag: str):
        super().__init__(Errors.E181.format(tag=tag))
        self.index = index


def split_tag(tag: str, index: int = 0) -> Tuple[str, str]:
    """"B-PER" -> ("B", "PER"); "O" -> ("O", ""). Raises TagError for anything else."""
    if tag == "O":
        return "O", ""
    prefix, sep, label = tag.partition("-")
    if not sep or not label or prefix not in _PREFIXES:
        raise TagError(index, tag)
    return prefix, label


def tags_to_spans(tags: Sequence[str]) -> List[Tuple[str, int, int]]:
    """Entity spans (label, start, end) from one sentence's tags, read leniently.

    B-/U-/S- always start an entity; I- continues one of the same label and otherwise starts
    one (IOB1, and IOB2 written loosely); L-/E- end an entity (starting one when none is
    open); U-/S- and "O" close what is open.

    Raises:
        TagError: for a tag that is not O or PREFIX-LABEL, with the token index.
    """
    spans: List[Tuple[str, int, int]] = []
    start, label = -1, ""
    for i, tag in enumerate(tags):
        prefix, tag_label = split_tag(tag, i)
        if prefix == "O":
            if start >= 0:
                spans.append((label, start, i))
            start = -1
            continue
        begins, ends = _PREFIXES[prefix]
        if start >= 0 and (begins or tag_label != label):
            spans.append((label, start, i))
            start = -1
        if start < 0:
            start, label = i, tag_label
        if ends:
            spans.append((label, start, i + 1))
            start = -1
    if start >= 0:
        spans.append((label, start, len(tags)))
    return spans
