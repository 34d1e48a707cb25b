"""The transformer embedding: a HF encoder as a thinc model, span getters, the per-doc
output (`doc._.trf_data`) and the listener through which components reuse it.

Importing this package registers `TransformerModel.v3`, `TransformerListener.v1`, the
span getters and the null annotation setter under their `nlp_core.*` names and the
seed's `spacy-transformers.*` aliases. torch is used through thinc's PyTorch shim;
`transformers` is imported only when a model is loaded.
"""
from .annotation_setters import null_annotation_setter
from .data import FullTransformerBatch, TransformerData, WordpieceBatch, install_extensions
from .listener import TransformerListener, find_transformer_listeners
from .model import TransformerModel
from .pooling import pool_tokens
from .span_getters import get_doc_spans, get_sent_spans, get_strided_spans

__all__ = [
    "FullTransformerBatch", "TransformerData", "TransformerListener", "TransformerModel",
    "WordpieceBatch", "find_transformer_listeners", "get_doc_spans", "get_sent_spans",
    "get_strided_spans", "install_extensions", "null_annotation_setter", "pool_tokens",
]
