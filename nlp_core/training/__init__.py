"""Training: examples and alignment, corpora, batchers, the training loop and scoring.

Importing this package registers the corpus readers, batchers and loggers. `init_nlp` and
`train` come from `training.loop` on first use: the loop builds a `Language`, and the
pipeline object itself uses `Example` and the scorers from this package, so importing the
package must not import the loop.
"""
import importlib
from typing import Any

from .alignment import Alignment
from .batchers import minibatch, minibatch_by_padded_size, minibatch_by_words
from .corpus import Corpus, JsonlCorpus
from .example import Example
from .logger import console_logger
from .scorer import (
    PRFScore,
    score_deps,
    score_sents,
    score_spans,
    score_token_attr,
    score_tokenization,
)

__all__ = ["Alignment", "Corpus", "Example", "JsonlCorpus", "PRFScore", "console_logger",
           "init_nlp", "minibatch", "minibatch_by_padded_size", "minibatch_by_words",
           "score_deps", "score_sents", "score_spans", "score_token_attr",
           "score_tokenization", "train"]

_LAZY = {"init_nlp": "loop", "train": "loop"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
