"""Training: examples and alignment, corpora, batchers, the training loop and scoring.

Importing this package registers the corpus readers, batchers and loggers.
"""
from .alignment import Alignment
from .batchers import minibatch, minibatch_by_padded_size, minibatch_by_words
from .corpus import Corpus, JsonlCorpus
from .example import Example
from .logger import console_logger
from .loop import init_nlp, train
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
