"""Compile lists of rule patterns into the search functions the tokenizer calls."""
import re
from typing import Iterable, Pattern


def compile_prefix_regex(entries: Iterable[str]) -> Pattern:
    """One pattern matching any prefix rule at the start of a string (`.search`); the first
    listed rule that matches wins. A single leading `^` lets the regex engine try position 0
    only, instead of failing every rule at every position of a long string."""
    return re.compile("^(?:" + "|".join(f"(?:{entry})" for entry in entries) + ")")


def compile_suffix_regex(entries: Iterable[str]) -> Pattern:
    """One pattern matching any suffix rule at the end of a string (`.search`)."""
    return re.compile("|".join(f"(?:{entry})$" for entry in entries))


def compile_infix_regex(entries: Iterable[str]) -> Pattern:
    """One pattern finding every infix rule inside a string (`.finditer`)."""
    return re.compile("|".join(f"(?:{entry})" for entry in entries))
