"""Corpus formats: JSONL, CoNLL-U, IOB/BILUO and spaCy's `.spacy` DocBin files.

Readers yield Docs and take `on_error="raise" | "skip" | callable(BadRecord)`; writers take
an iterable of Docs and a path (gzip when it ends in .gz).
"""
from .bad_records import BadRecord, BadRecordPolicy, OnError
from .conllu import doc_to_conllu, read_conllu, write_conllu
from .detect import CONVERTERS, converter_for, read_docs
from .iob import read_iob
from .jsonl import doc_to_record, read_jsonl, record_to_doc, write_jsonl
from .ner_tags import tags_to_spans
from .spaces import spaces_from_text
from .spacy_files import read_spacy, write_spacy

__all__ = [
    "BadRecord", "BadRecordPolicy", "CONVERTERS", "OnError", "converter_for", "doc_to_conllu",
    "doc_to_record", "read_conllu", "read_docs", "read_iob", "read_jsonl", "read_spacy",
    "record_to_doc", "spaces_from_text", "tags_to_spans", "write_conllu", "write_jsonl",
    "write_spacy",
]
