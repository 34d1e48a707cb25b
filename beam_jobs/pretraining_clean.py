"""The per-document steps of the pretraining-corpus job: normalising and filtering.

    Normalise   Text -> (doc_id, normalised text) (pretraining_text.py)
    Filter      boilerplate lines out (with --boilerplate-min-docs), then the quality
                filters (pretraining_filters.py), then --lang (pretraining_langid.py); the
                first failed rule -> a Removed row naming it

Both emit count events `(step, (documents, words))` for stats.json. They run inside the
per-input-shard step (pretraining_input.py), or, Filter with a boilerplate side input, over
the whole corpus (prepare_pretraining.py).
"""
from typing import AbstractSet, Any, Dict, Iterator, Optional, Sequence

import apache_beam as beam
import pyarrow as pa
from apache_beam.metrics import Metrics

from schemas import pretraining_removed

from .pretraining_exact import Removed
from .pretraining_filters import FilterSettings, check_quality
from .pretraining_langid import language_reason
from .pretraining_read import Text
from .pretraining_stats import FILTER_PREFIX
from .pretraining_text import line_hashes, normalise, remove_lines


class Normalise(beam.DoFn):
    """Text -> (doc_id, normalised text), and an ("input", (1, words)) count event."""

    EVENTS = "events"

    def __init__(self, form: str):
        self.form = form

    def process(self, record: Text) -> Iterator:
        yield beam.pvalue.TaggedOutput(self.EVENTS, ("input", (1, len(record.text.split()))))
        yield record.doc_id, normalise(record.text, self.form)


class Filter(beam.DoFn):
    """(doc_id, text) -> kept documents (main); Removed rows ("removed") for an empty text
    after cleaning and for each quality filter's rejects; count events ("events")."""

    REMOVED = "removed"
    EVENTS = "events"

    def __init__(self, settings: FilterSettings, languages: Sequence[str] = (),
                 min_lang_score: float = 0.0):
        self.settings = settings
        self.languages = list(languages)
        self.min_lang_score = min_lang_score

    def setup(self):
        self._counters: Dict[str, Any] = {}

    def process(self, doc, boilerplate: Optional[AbstractSet[int]] = None) -> Iterator:
        doc_id, text = doc
        if boilerplate:
            text = remove_lines(text, boilerplate)
        words = text.split()
        yield beam.pvalue.TaggedOutput(self.EVENTS, ("cleaned", (1, len(words))))
        reason = "empty_after_cleaning" if not words else check_quality(
            text, self.settings, words)
        if reason is None and self.languages:
            reason = language_reason(text, self.languages, self.min_lang_score)
        if reason is None:
            yield beam.pvalue.TaggedOutput(self.EVENTS, ("after_filters", (1, len(words))))
            yield doc_id, text
            return
        counter = self._counters.get(reason)
        if counter is None:
            counter = self._counters[reason] = Metrics.counter("prepare_pretraining",
                                                               f"filtered_{reason}")
        counter.inc()
        yield beam.pvalue.TaggedOutput(self.EVENTS, (FILTER_PREFIX + reason, (1, len(words))))
        yield beam.pvalue.TaggedOutput(self.REMOVED, Removed(doc_id, reason, None, None, text))


def boilerplate_lines(docs, min_docs: int):
    """Documents -> the hashes of lines that at least `min_docs` documents hold, as a
    (hash, True) PCollection for an AsDict side input."""
    return (docs
            | "LineHashes" >> beam.FlatMap(lambda doc: line_hashes(doc[1]))
            | "CountLines" >> beam.combiners.Count.PerElement()
            | "Frequent" >> beam.Filter(lambda kv: kv[1] >= min_docs)
            | "AsFlags" >> beam.Map(lambda kv: (kv[0], True)))


def removed_event(removed: Removed):
    return removed.reason, (1, len(removed.text.split()))


def removed_to_record_batch(rows: Sequence[Removed]) -> pa.RecordBatch:
    """One `pretraining_removed` row per Removed."""
    columns = list(zip(*rows)) if rows else [[] for _ in Removed._fields]
    schema = pretraining_removed.SCHEMA
    arrays = [pa.array(list(values), type=schema.field(name).type)
              for name, values in zip(Removed._fields, columns)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
