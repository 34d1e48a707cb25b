"""Pipeline components. Importing this package registers every built-in factory
("tok2vec", "tagger") and the architectures and scorers they use."""
from .tagger import Tagger
from .tok2vec import Tok2Vec
from .trainable import TrainablePipe

__all__ = ["Tagger", "Tok2Vec", "TrainablePipe"]
