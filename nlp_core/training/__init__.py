"""Training: examples and alignment, corpora, batchers, the training loop and scoring."""
from .alignment import Alignment
from .example import Example

__all__ = ["Alignment", "Example"]
