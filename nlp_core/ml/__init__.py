"""thinc model factories: embeddings, encoders, Tok2Vec and the listener.

Importing this package registers every architecture and layer under its `nlp_core.*`
name and the seed's `spacy.*` alias.
"""
from .charembed import CharacterEmbed
from .encoders import MaxoutWindowEncoder, MishWindowEncoder
from .featureextractor import FeatureBatch, FeatureExtractor, extract_features
from .listener import SharedGradient, Tok2VecListener, batch_id, broadcast, find_listeners
from .maxout_ln import MaxoutLN
from .mish_ln import MishLN
from .multihashembed import MultiHashEmbed
from .pretrain_objectives import PretrainCharacters, PretrainVectors
from .staticvectors import StaticVectors
from .tok2vec import Tok2Vec

__all__ = [
    "CharacterEmbed", "FeatureBatch", "FeatureExtractor", "MaxoutLN", "MaxoutWindowEncoder",
    "MishLN", "MishWindowEncoder", "MultiHashEmbed", "PretrainCharacters", "PretrainVectors",
    "SharedGradient", "StaticVectors",
    "Tok2Vec", "Tok2VecListener", "batch_id", "broadcast", "extract_features", "find_listeners",
]
