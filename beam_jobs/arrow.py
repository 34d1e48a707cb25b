"""Arrow record batches built from a batch of annotated Docs, column by column.

Each token-level column is one numpy concatenation over the batch plus a list offsets array;
string attributes become dictionary arrays whose dictionary holds each distinct string of
the batch once (`numpy.unique` over the uint64 string IDs), so no Python object is made per
token. A document that lacks an attribute gets a null list (see schemas/annotations.py).
"""
from typing import Any, List, Optional, Sequence, Tuple

import numpy
import pyarrow as pa

from nlp_core.tokens import Doc
from nlp_core.tokens.annotation import CORE_COLUMNS
from schemas import annotations, dead_letter

from .extensions import ExtensionReader
from .records import DeadLetter, Record

STRING_COLUMNS = ("tag", "pos", "lemma", "dep")


def _annotated(docs: Sequence[Doc], name: str) -> Tuple[List[bool], List[numpy.ndarray]]:
    """Per doc, whether any token has a value in column `name` (`Doc.has_annotation`,
    without its attribute-name lookup: this runs for every column of every document); and
    the column of each doc that has one (views, no copies)."""
    has, values = [], []
    for doc in docs:
        col = doc.column(name) if doc.has_column(name) else None
        found = col is not None and bool(col.any())
        has.append(found)
        if found:
            values.append(col)
    return has, values


def _offsets(lengths: numpy.ndarray) -> pa.Array:
    offsets = numpy.zeros(len(lengths) + 1, dtype=numpy.int32)
    numpy.cumsum(lengths, out=offsets[1:])
    return pa.array(offsets)


def _concat(arrays: List[numpy.ndarray], dtype) -> numpy.ndarray:
    return numpy.concatenate(arrays).astype(dtype, copy=False) if arrays else \
        numpy.zeros(0, dtype=dtype)


def _list_column(docs: Sequence[Doc], has: List[bool], values: List[numpy.ndarray],
                 value_array) -> pa.Array:
    """A list column: `values` holds one array per doc that `has` the attribute."""
    has = numpy.array(has, dtype=bool)
    lengths = numpy.fromiter((d.length for d in docs), dtype=numpy.int32, count=len(docs))
    return pa.ListArray.from_arrays(_offsets(lengths * has), value_array(values),
                                    mask=pa.array(~has))


def _string_values(strings, ids: numpy.ndarray) -> pa.DictionaryArray:
    """uint64 string IDs -> dictionary array; ID 0 (unset) -> null."""
    unique, inverse = numpy.unique(ids, return_inverse=True)
    dictionary = pa.array([strings[int(u)] if u else "" for u in unique.tolist()],
                          type=pa.string())
    indices = pa.array(inverse.astype(numpy.int32).reshape(-1), mask=ids == 0)
    return pa.DictionaryArray.from_arrays(indices, dictionary)


def _string_column(docs: Sequence[Doc], name: str) -> pa.Array:
    has, values = _annotated(docs, name)
    strings = docs[0].vocab.strings
    return _list_column(docs, has, values,
                        lambda v: _string_values(strings, _concat(v, numpy.uint64)))


def _head_column(docs: Sequence[Doc]) -> pa.Array:
    has, _deps = _annotated(docs, "dep")
    values = [d.column("head") + numpy.arange(d.length, dtype=numpy.int32)
              for d, h in zip(docs, has) if h]
    return _list_column(docs, has, values, lambda v: pa.array(_concat(v, numpy.int32)))


def _sent_start_column(docs: Sequence[Doc]) -> pa.Array:
    # set sentence starts, or a parse whose boundaries were never materialised
    has = [doc.ensure_sent_starts() for doc in docs]
    values = [doc.column("sent_start") for doc, h in zip(docs, has) if h]

    def to_array(v):
        starts = _concat(v, numpy.int8)
        return pa.array(starts == 1, mask=starts == 0)

    return _list_column(docs, has, values, to_array)


def _ents_column(docs: Sequence[Doc]) -> pa.Array:
    """Entities from the IOB / type arrays, all docs of the batch at once (the same spans
    `Doc.ents` gives: B starts one, I continues one of the same label, else starts one)."""
    has, iobs = _annotated(docs, "ent_iob")
    ner_docs = [d for d, h in zip(docs, has) if h]
    iob = _concat(iobs, numpy.uint8)
    typ = _concat([d.column("ent_type") for d in ner_docs], numpy.uint64)
    idx = _concat([d.column("idx") for d in ner_docs], numpy.int32)
    end_chars = idx + _concat([d.column("length") for d in ner_docs], numpy.int32)
    lengths = numpy.array([d.length for d in ner_docs], dtype=numpy.int64)
    first = numpy.zeros(len(iob), dtype=bool)  # has_annotation is False for empty docs
    first[numpy.cumsum(lengths) - lengths] = True
    inside = (iob == 1) | (iob == 3)
    prev_inside = numpy.zeros_like(inside)
    prev_inside[1:] = inside[:-1]
    prev_inside &= ~first
    prev_type = numpy.zeros_like(typ)  # (concatenating with a Python 0 would go via float64)
    prev_type[1:] = typ[:-1]
    starts = inside & ((iob == 3) | ~prev_inside | (typ != prev_type))
    stops = numpy.concatenate([numpy.nonzero(starts | ~inside | first)[0], [len(iob)]])
    start_tokens = numpy.nonzero(starts)[0]
    end_tokens = stops[numpy.searchsorted(stops, start_tokens, side="right")]
    doc_of_token = numpy.repeat(numpy.arange(len(ner_docs)), lengths)
    per_doc = numpy.bincount(doc_of_token[start_tokens], minlength=len(ner_docs))
    strings = docs[0].vocab.strings
    labels = typ[start_tokens]
    label_of = {int(u): strings[int(u)] if u else None for u in numpy.unique(labels)}
    spans = pa.StructArray.from_arrays(
        [pa.array(idx[start_tokens]), pa.array(end_chars[end_tokens - 1]),
         pa.array([label_of[int(u)] for u in labels.tolist()], type=pa.string())],
        fields=list(annotations.SPAN))
    counts = numpy.zeros(len(docs), dtype=numpy.int32)
    counts[numpy.nonzero(has)[0]] = per_doc
    mask = pa.array([not h for h in has], type=pa.bool_())
    return pa.ListArray.from_arrays(_offsets(counts), spans, mask=mask)


def _spans_column(docs: Sequence[Doc]) -> pa.Array:
    """Span groups are few and small: built from Span views."""
    rows = []
    for doc in docs:
        if not len(doc.spans):
            rows.append(None)
            continue
        rows.append([{"group": name, "start_char": s.start_char, "end_char": s.end_char,
                      "label": s.label_ or None}
                     for name, group in doc.spans.items() for s in group])
    return pa.array(rows, type=pa.list_(annotations.GROUP_SPAN))


def docs_to_record_batch(records: Sequence[Record], docs: Sequence[Doc], *, keep_text: bool,
                         pipeline_name: str, pipeline_version: str,
                         extensions: Optional[ExtensionReader] = None,
                         extension_values: Sequence[Sequence[Any]] = ()) -> pa.RecordBatch:
    """One `annotations` row per (record, annotated doc); with `extensions`, its columns
    after the others, from `extension_values` (`ExtensionReader.read` of `docs`)."""
    n = len(docs)
    specs = extensions.specs if extensions is not None else ()
    schema = annotations.schema(specs)
    if n == 0:
        return pa.RecordBatch.from_pylist([], schema=schema)
    lengths = numpy.fromiter((d.length for d in docs), dtype=numpy.int32, count=n)
    idx = _concat([d.column("idx") for d in docs], numpy.int32)
    ends = idx + _concat([d.column("length") for d in docs], numpy.int32)
    offsets = _offsets(lengths)
    pipeline = pa.StructArray.from_arrays(
        [pa.array([pipeline_name] * n, type=pa.string()),
         pa.array([pipeline_version] * n, type=pa.string())], fields=list(annotations.PIPELINE))
    columns = {
        "doc_id": pa.array([r.doc_id for r in records], type=pa.string()),
        "source": pa.array([r.source for r in records], type=pa.string()),
        "offset": pa.array([r.offset for r in records], type=pa.int64()),
        "text": pa.array([d.text for d in docs] if keep_text else [None] * n, type=pa.string()),
        "token_start": pa.ListArray.from_arrays(offsets, pa.array(idx)),
        "token_end": pa.ListArray.from_arrays(offsets, pa.array(ends)),
        "spans": _spans_column(docs),
        "pipeline": pipeline,
    }
    if any(len(d.column_names) > len(CORE_COLUMNS) for d in docs):
        columns.update({name: _string_column(docs, name) for name in STRING_COLUMNS})
        columns.update(head=_head_column(docs), sent_start=_sent_start_column(docs),
                       ents=_ents_column(docs))
    else:  # tokenizer output only: every annotation column is null
        for name in (*STRING_COLUMNS, "head", "sent_start", "ents"):
            columns[name] = pa.nulls(n, annotations.SCHEMA.field(name).type)
    if extensions is not None:
        columns.update(zip((s.column for s in specs),
                           extensions.columns(extension_values, columns["ents"])))
    return pa.RecordBatch.from_arrays([columns[f.name] for f in schema], schema=schema)


def dead_letters_to_record_batch(letters: Sequence[DeadLetter]) -> pa.RecordBatch:
    """One `dead_letter` row per DeadLetter."""
    columns = list(zip(*letters)) if letters else [[] for _ in DeadLetter._fields]
    arrays = [pa.array(list(values), type=dead_letter.SCHEMA.field(name).type)
              for name, values in zip(DeadLetter._fields, columns)]
    return pa.RecordBatch.from_arrays(arrays, schema=dead_letter.SCHEMA)
