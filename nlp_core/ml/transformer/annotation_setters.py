"""Annotation setters: `set_extra_annotations(docs, trf_batch)` runs after the transformer
component has set `doc._.trf_data`, with the whole FullTransformerBatch, to store more
(e.g. pooled vectors in another extension attribute). Register your own with
`@registry.annotation_setters("name")`."""
from typing import Callable, List

from ...registry import registry
from ...tokens import Doc
from .data import FullTransformerBatch

AnnotationSetter = Callable[[List[Doc], FullTransformerBatch], None]


def null_annotation_setter(docs: List[Doc], trf_data: FullTransformerBatch) -> None:
    """Set nothing beyond `doc._.trf_data`."""


@registry.annotation_setters("nlp_core.null_annotation_setter.v1",
                             aliases=["spacy-transformers.null_annotation_setter.v1"])
def configure_null_annotation_setter() -> AnnotationSetter:
    return null_annotation_setter
