"""Pipeline components. Importing this package registers every built-in factory
("tok2vec", "transformer", "tagger", "parser", "ner") and the architectures and scorers they use."""
from .ner import EntityRecognizer
from .parser import DependencyParser
from .tagger import Tagger
from .tok2vec import Tok2Vec
from .trainable import TrainablePipe
from .transformer import Transformer

__all__ = ["DependencyParser", "EntityRecognizer", "Tagger", "Tok2Vec", "TrainablePipe",
           "Transformer"]
