"""English prefix, suffix and infix rules: the generic ones plus clitics and hyphen prefixes.

Clitics split off the end of any word: "Bush's" -> "Bush" "'s", "mustn't" -> "must" "n't",
"we'd" -> "we" "'d". A hyphen between letters splits ("search-engine" -> "search" "-"
"engine") except after a bound prefix written with a hyphen ("non-stop", "e-mail",
"re-read"), which UD English EWT keeps as one token.
"""
from typing import List

from ..char_classes import ALNUM_CLASS, ALPHA_CLASS
from ..punctuation import HYPHEN_INFIX as BASE_HYPHEN_INFIX
from ..punctuation import HYPHENS_CLASS
from ..punctuation import INFIXES as BASE_INFIXES
from ..punctuation import PREFIXES as BASE_PREFIXES
from ..punctuation import SUFFIXES as BASE_SUFFIXES

_APOSTROPHE = "['\u2019`]"

CLITIC_SUFFIXES = [
    f"(?<={ALPHA_CLASS})[nN]{_APOSTROPHE}[tT]",
    f"(?<={ALPHA_CLASS}){_APOSTROPHE}(?:[sSmMdD]|re|RE|Re|ve|VE|ll|LL)",
]

HYPHEN_PREFIXES = (
    "e", "non", "pre", "post", "co", "anti", "mid", "re", "multi", "semi", "ex", "pro",
    "over", "under", "neo", "cross", "counter", "sub", "micro", "macro", "intra", "inter",
    "un", "socio", "psycho", "arch", "bi", "tri", "de", "mis", "ultra", "mega", "hyper",
    "extra", "mini", "meta", "quasi", "pseudo", "infra", "trans", "auto", "eco", "geo",
)


def _not_after_prefix(prefix: str) -> str:
    """Lookbehind failing when the word so far is exactly `prefix`, in any case."""
    letters = "".join(f"[{c}{c.upper()}]" for c in prefix)
    return f"(?<!\\b{letters})"


HYPHEN_INFIX = (f"(?<={ALNUM_CLASS})"
                + "".join(_not_after_prefix(p) for p in HYPHEN_PREFIXES)
                + f"{HYPHENS_CLASS}(?={ALNUM_CLASS})")

# "w/" (with) before a word: "w/investors", "w/out".
PREFIXES: List[str] = [f"[wW]/(?={ALPHA_CLASS})", *BASE_PREFIXES]
SUFFIXES: List[str] = CLITIC_SUFFIXES + list(BASE_SUFFIXES)
INFIXES: List[str] = [HYPHEN_INFIX if rule == BASE_HYPHEN_INFIX else rule
                      for rule in BASE_INFIXES]
