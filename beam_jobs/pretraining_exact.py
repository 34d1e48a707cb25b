"""Removing duplicates in the pretraining-corpus job: exact duplicates by hash of the
normalised text, and the documents the near-dedupe step (near_dedupe.py) names.

Exact: documents are grouped by the 128-bit BLAKE2b of their normalised text; each group
keeps the document with the lowest id (identical texts are equally long, so --keep longest
keeps the lowest id too) and removes the others, naming the kept one. The decision depends
only on ids and texts, never on the order elements arrive in.

Near: NearDedupe outputs (doc_id, kept_doc_id, estimated Jaccard) per document to drop;
`DropRemoved` joins those with the documents by id (a CoGroupByKey, so neither side has to
fit in one worker's memory).
"""
from typing import Iterable, Iterator, NamedTuple, Optional, Tuple

import apache_beam as beam
from apache_beam.metrics import Metrics

from .pretraining_text import text_hash

Doc = Tuple[str, str]  # (doc_id, normalised text)


class Removed(NamedTuple):
    """One `pretraining_removed` row (schemas/pretraining_removed.py)."""

    doc_id: str
    reason: str
    kept_doc_id: Optional[str]
    jaccard: Optional[float]
    text: str


def keyed_by_hash(doc: Doc) -> Tuple[str, Doc]:
    return text_hash(doc[1]), doc


class PickExact(beam.DoFn):
    """(hash, docs with that text) -> the kept doc (main), Removed rows ("removed") and the
    size of each group of two or more ("clusters")."""

    REMOVED = "removed"
    CLUSTERS = "clusters"

    def setup(self):
        self._removed = Metrics.counter("prepare_pretraining", "exact_duplicates")

    def process(self, group: Tuple[str, Iterable[Doc]]) -> Iterator:
        _, docs = group
        kept_id = None
        kept_text = ""
        size = 0
        for doc_id, text in docs:  # first pass: the lowest id (re-iterable, not held)
            size += 1
            if kept_id is None or doc_id < kept_id:
                kept_id, kept_text = doc_id, text
        yield kept_id, kept_text
        if size == 1:
            return
        yield beam.pvalue.TaggedOutput(self.CLUSTERS, size)
        for doc_id, text in docs:
            if doc_id != kept_id:
                self._removed.inc()
                yield beam.pvalue.TaggedOutput(self.REMOVED, Removed(
                    doc_id, "exact_duplicate", kept_id, 1.0, text))


class ExactDedupe(beam.PTransform):
    """Docs -> tagged outputs: main (the kept docs), "removed" (Removed), "clusters" (group
    sizes)."""

    def expand(self, docs):
        return (docs
                | "ByTextHash" >> beam.Map(keyed_by_hash)
                | "GroupByText" >> beam.GroupByKey()
                | "KeepOne" >> beam.ParDo(PickExact()).with_outputs(
                    PickExact.REMOVED, PickExact.CLUSTERS, main="kept"))


class SplitRemoved(beam.DoFn):
    """(doc_id, {"doc": [text], "removed": [(kept_id, jaccard)]}) -> the doc when nothing
    removes it (main), else a Removed row ("removed")."""

    REMOVED = "removed"

    def setup(self):
        self._removed = Metrics.counter("prepare_pretraining", "near_duplicates")

    def process(self, joined) -> Iterator:
        doc_id, sides = joined
        texts = list(sides["doc"])
        removed = sorted(sides["removed"])
        for text in texts:
            if not removed:
                yield doc_id, text
                continue
            self._removed.inc()
            kept_id, jaccard = removed[0]
            yield beam.pvalue.TaggedOutput(self.REMOVED, Removed(
                doc_id, "near_duplicate", kept_id, float(jaccard), text))


class DropRemoved(beam.PTransform):
    """(docs, near-dedupe removals) -> main (docs kept) and "removed" (Removed rows)."""

    def expand(self, inputs):
        docs, removed = inputs
        return ({"doc": docs,
                 "removed": removed | "ByDocId" >> beam.Map(
                     lambda r: (r[0], (r[1], r[2])))}
                | "JoinRemovals" >> beam.CoGroupByKey()
                | "Split" >> beam.ParDo(SplitRemoved()).with_outputs(
                    SplitRemoved.REMOVED, main="kept"))


def near_cluster_sizes(removed) -> beam.PCollection:
    """Near-dedupe removals -> the size of each cluster (documents removed in favour of one
    kept document, plus that one)."""
    return (removed
            | "ByKept" >> beam.Map(lambda r: (r[1], 1))
            | "CountPerKept" >> beam.CombinePerKey(sum)
            | "ClusterSize" >> beam.Map(lambda kv: kv[1] + 1))
