"""Documents and their views: `from nlp_core.tokens import Doc, Span, Token, DocBin`."""
from .doc import Doc
from .docbin import DocBin
from .morphanalysis import MorphAnalysis
from .span import Span
from .span_group import SpanGroup, SpanGroups
from .token import Token

__all__ = ["Doc", "DocBin", "MorphAnalysis", "Span", "SpanGroup", "SpanGroups", "Token"]
