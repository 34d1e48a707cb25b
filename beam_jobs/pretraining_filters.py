"""Quality filters of the pretraining-corpus job: the Gopher rules (Rae et al. 2021,
"Scaling Language Models: Methods, Analysis & Insights from Training Gopher", appendix A.1,
the MassiveText quality and repetition filters), as pure functions of a normalised text.

Words are the text's whitespace-separated tokens; lines are split on "\\n", paragraphs on
blank lines. A document is removed by the first rule it breaks, in the order of `RULES`;
`check_quality` returns that rule's reason (the stats.json / removed-table key) or None.
Each threshold is a field of `FilterSettings`, defaulting to the published value:

    words          min_words 50, max_words 100,000
    mean word len  3 to 10 characters
    symbols        ("#" and "..."/"…") per word at most 0.1
    bullets        at most 90% of lines start with a bullet point
    ellipsis       at most 30% of lines end with an ellipsis
    alphabetic     at least 80% of words hold an alphabetic character
    stop words     at least 2 of "the be to of and that have with"
    repetition     duplicate lines <= 30% of lines and <= 20% of characters, duplicate
                   paragraphs likewise; the most frequent 2/3/4-gram covers <= 20/18/16% of
                   the word characters; characters in duplicated 5..10-grams <= 15, 14, 13,
                   12, 11, 10%

The n-gram rules count characters of words (spaces excluded). A duplicated n-gram's
characters are those of every word inside some occurrence of an n-gram that occurs more
than once, each word counted once. Line and paragraph duplicates count every occurrence
after the first.
"""
import re
from collections import Counter
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

BULLETS = ("•", "●", "○", "▪", "◦", "‣", "⁃", "-", "*", "·", "–")
ELLIPSES = ("...", "…")
STOP_WORDS = frozenset(("the", "be", "to", "of", "and", "that", "have", "with"))
TOP_NGRAM_MAX = ((2, 0.20), (3, 0.18), (4, 0.16))
DUPLICATE_NGRAM_MAX = ((5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10))
_LETTER = re.compile(r"[^\W\d_]")


class FilterSettings(NamedTuple):
    """The thresholds (see the module docstring); `gopher` False keeps only the word and
    character counts."""

    min_words: int = 50
    max_words: int = 100_000
    min_chars: int = 0
    min_mean_word_length: float = 3.0
    max_mean_word_length: float = 10.0
    max_symbol_word_ratio: float = 0.1
    max_bullet_lines: float = 0.9
    max_ellipsis_lines: float = 0.3
    min_alpha_words: float = 0.8
    min_stop_words: int = 2
    max_duplicate_lines: float = 0.3
    max_duplicate_line_chars: float = 0.2
    max_duplicate_paragraphs: float = 0.3
    max_duplicate_paragraph_chars: float = 0.2
    gopher: bool = True


# every reason `check_quality` can return, in the order the rules run
RULES = ("too_few_chars", "too_few_words", "too_many_words", "mean_word_length",
         "symbol_ratio", "bullet_lines", "ellipsis_lines", "alpha_words", "stop_words",
         "duplicate_lines", "duplicate_line_chars", "duplicate_paragraphs",
         "duplicate_paragraph_chars",
         *(f"top_{n}gram" for n, _ in TOP_NGRAM_MAX),
         *(f"duplicate_{n}gram" for n, _ in DUPLICATE_NGRAM_MAX))


def duplicate_share(parts: Sequence[str]) -> Tuple[float, float]:
    """(share of parts, share of characters) taken by parts that repeat an earlier one."""
    if not parts:
        return 0.0, 0.0
    seen = set()
    n_dup = chars_dup = total = 0
    for part in parts:
        total += len(part)
        if part in seen:
            n_dup += 1
            chars_dup += len(part)
        else:
            seen.add(part)
    return n_dup / len(parts), (chars_dup / total if total else 0.0)


def top_ngram_share(words: Sequence[str], n: int, total_chars: int) -> float:
    """Share of the word characters taken by the most frequent n-gram's occurrences (0 when
    no n-gram occurs twice)."""
    return _top_ngram(words, n, total_chars)[0]


def _top_ngram(words: Sequence[str], n: int, total_chars: int) -> Tuple[float, int]:
    """(top_ngram_share, the most frequent n-gram's count)."""
    if len(words) < n or total_chars == 0:
        return 0.0, 0
    counts = Counter(zip(*(words[i:] for i in range(n))))
    count = max(counts.values())
    if count < 2:
        return 0.0, count
    chars = max(sum(len(w) for w in gram) for gram, c in counts.items() if c == count)
    return chars * count / total_chars, count


def duplicate_ngram_share(words: Sequence[str], n: int, total_chars: int) -> float:
    """Share of the word characters inside occurrences of n-grams that occur more than
    once (each word counted once)."""
    if len(words) < n or total_chars == 0:
        return 0.0
    grams = list(zip(*(words[i:] for i in range(n))))
    counts = Counter(grams)
    if len(counts) == len(grams):
        return 0.0
    covered = bytearray(len(words))
    for start, gram in enumerate(grams):
        if counts[gram] > 1:
            covered[start:start + n] = b"\1" * n
    return sum(len(w) for w, c in zip(words, covered) if c) / total_chars


def check_quality(text: str, settings: FilterSettings = FilterSettings(),
                  words: Optional[List[str]] = None) -> Optional[str]:
    """The reason (one of RULES) of the first rule `text` breaks, or None when it passes.

    Args:
        text: normalised text (see pretraining_text.normalise).
        words: `text.split()` when the caller has it already.
    """
    s = settings
    if len(text) < s.min_chars:
        return "too_few_chars"
    words = text.split() if words is None else words
    if len(words) < s.min_words:
        return "too_few_words"
    if len(words) > s.max_words:
        return "too_many_words"
    if not s.gopher or not words:
        return None
    lengths = list(map(len, words))
    word_chars = sum(lengths)
    mean = word_chars / len(words)
    if not s.min_mean_word_length <= mean <= s.max_mean_word_length:
        return "mean_word_length"
    symbols = text.count("#") + text.count("...") + text.count("…")
    if symbols / len(words) > s.max_symbol_word_ratio:
        return "symbol_ratio"
    lines = [line for line in text.split("\n") if line.strip()]
    if lines:
        if sum(line.lstrip().startswith(BULLETS) for line in lines) / len(lines) \
                > s.max_bullet_lines:
            return "bullet_lines"
        if sum(line.rstrip().endswith(ELLIPSES) for line in lines) / len(lines) \
                > s.max_ellipsis_lines:
            return "ellipsis_lines"
    with_letters = sum(map(str.isalpha, words))  # most words: letters only
    if with_letters < s.min_alpha_words * len(words):
        with_letters += sum(1 for w in words if not w.isalpha() and _LETTER.search(w))
        if with_letters < s.min_alpha_words * len(words):
            return "alpha_words"
    if s.min_stop_words and _stop_words(words, s.min_stop_words) < s.min_stop_words:
        return "stop_words"
    line_share, line_chars = duplicate_share(lines)
    if line_share > s.max_duplicate_lines:
        return "duplicate_lines"
    if line_chars > s.max_duplicate_line_chars:
        return "duplicate_line_chars"
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    para_share, para_chars = duplicate_share(paragraphs)
    if para_share > s.max_duplicate_paragraphs:
        return "duplicate_paragraphs"
    if para_chars > s.max_duplicate_paragraph_chars:
        return "duplicate_paragraph_chars"
    # An n-gram occurs at most as often as the most frequent (n-1)-gram, and holds at most
    # n x the longest word's characters: when that bound is within the limit, skip it.
    longest = max(lengths)
    count = len(words)
    for n, limit in TOP_NGRAM_MAX:
        if count * n * longest <= limit * word_chars:
            continue
        share, count = _top_ngram(words, n, word_chars)
        if share > limit:
            return f"top_{n}gram"
    # A word inside a repeated (n+1)-gram is inside a repeated n-gram too, so the shares
    # only fall as n grows: once one is within the smallest limit, all larger n pass.
    floor = min(limit for _, limit in DUPLICATE_NGRAM_MAX)
    for n, limit in DUPLICATE_NGRAM_MAX:
        share = duplicate_ngram_share(words, n, word_chars)
        if share > limit:
            return f"duplicate_{n}gram"
        if share <= floor:
            break
    return None


def _stop_words(words: Sequence[str], enough: int) -> int:
    """How many distinct stop words the text holds (counting stops at `enough`)."""
    found = set()
    for word in words:
        lower = word.lower()
        if lower in STOP_WORDS:
            found.add(lower)
            if len(found) >= enough:
                break
    return len(found)


def settings_summary(settings: FilterSettings) -> Dict[str, object]:
    """The thresholds as stats.json reports them."""
    return dict(settings._asdict())
