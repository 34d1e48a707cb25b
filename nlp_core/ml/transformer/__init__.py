"""The transformer embedding: a HF encoder as a thinc model, span getters, the per-doc
output (`doc._.trf_data`) and the listener through which components reuse it.

Importing this package registers `TransformerModel.v3`, `TransformerListener.v1`, the
span getters and the null annotation setter under their `nlp_core.*` names and the
seed's `spacy-transformers.*` aliases, without importing torch or transformers: they are
the optional `nlp-core[transformers]` extra (extra.py), used through thinc's PyTorch shim
once a model is loaded; building a TransformerModel without them raises MissingExtraError.
"""
from .annotation_setters import null_annotation_setter
from .data import FullTransformerBatch, TransformerData, WordpieceBatch, install_extensions
from .extra import MissingExtraError
from .listener import TransformerListener, find_transformer_listeners
from .model import TransformerModel
from .pooling import pool_tokens
from .span_getters import get_doc_spans, get_sent_spans, get_strided_spans

__all__ = [
    "FullTransformerBatch", "MissingExtraError", "TransformerData", "TransformerListener",
    "TransformerModel", "WordpieceBatch", "find_transformer_listeners", "get_doc_spans",
    "get_sent_spans", "get_strided_spans", "install_extensions", "null_annotation_setter",
    "pool_tokens",
]
