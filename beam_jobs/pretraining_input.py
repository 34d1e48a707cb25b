"""The per-input-shard step of the pretraining-corpus job, which makes its runs resumable.

The input is cut into shards that depend only on the files, the format and
--input-shard-mb (shards.py): a plain JSONL file, or plain text read by line, in byte
ranges of that size; a compressed file, text read by paragraph, a .spacy or a Parquet file
whole. `CleanShards` takes one shard from start to commit in one DoFn call: read and check
its records (pretraining_read.py), normalise and, unless boilerplate lines are counted over
the whole corpus, filter them (pretraining_clean.py), and write under temporary names in
the partial area beside --output

    OUTPUT.partial/docs/part-i-of-n.parquet         the kept documents (doc_id, text)
    OUTPUT.partial/dead_letter/part-i-of-n.parquet  the shard's dead letters
    OUTPUT.partial/removed/part-i-of-n.parquet      with --write-removed: filtered documents
    OUTPUT.partial/manifests/part-i-of-n.json       last: records read, count events, dead
                                                    letters by reason, the files

Everything after (exact and near dedupe, pieces, shuffle, shards, stats) needs the whole
corpus; it reads the committed documents back (`ReadCleaned`) and is redone by every run,
resumed or not, from the same committed rows, so a resumed run writes what an
uninterrupted one does. Reading, checking, normalising and filtering (with --lang the
language model) are the part a crash would otherwise cost again.
"""
import logging
import time
from collections import Counter
from typing import Any, Dict, Iterator, List, Optional, Sequence

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.range_trackers import OffsetRangeTracker

from schemas import dead_letter, pretraining_removed

from .arrow import dead_letters_to_record_batch
from .pretraining_clean import Filter, Normalise, removed_to_record_batch
from .pretraining_filters import FilterSettings
from .pretraining_read import PARQUET, TEXT, CheckRecords, ReadParquetFn, TextSource
from .records import JSONL, CheckOptions, DeadLetter
from .shard_annotating import read_shard
from .shards import MANIFESTS, PartialRun, Shard, TableFile

DOCS = "docs"
DEAD_TABLE = dead_letter.NAME
REMOVED = "removed"
BATCH = 1000  # rows per Arrow batch written
ROW_GROUP_BYTES = 16 << 20
DOCS_SCHEMA = pa.schema([pa.field("doc_id", pa.string(), nullable=False),
                         pa.field("text", pa.string(), nullable=False)],
                        metadata={b"table": b"pretraining_partial_docs", b"version": b"1"})


def input_shards(paths: Sequence[str], kind: str, paragraphs: bool, shard_bytes: int
                 ) -> List[Shard]:
    """The shards of the (sorted) input files (see the module docstring)."""
    pieces = []
    for path in sorted(paths):
        size = FileSystems.match([path])[0].metadata_list[0].size_in_bytes
        plain = CompressionTypes.detect_compression_type(path) == CompressionTypes.UNCOMPRESSED
        if plain and (kind == JSONL or (kind == TEXT and not paragraphs)):
            pieces += [(path, start, min(start + shard_bytes, size), size)
                       for start in range(0, max(size, 1), shard_bytes)]
        else:
            pieces.append((path, 0, None, size))
    return [Shard(i, len(pieces), kind, *piece) for i, piece in enumerate(pieces)]


def shard_tables(write_removed: bool) -> List[str]:
    """The partial area's tables each committed shard has a file in."""
    return [DOCS, DEAD_TABLE] + ([REMOVED] if write_removed else [])


def read_input_shard(shard: Shard, rules: CheckOptions, paragraphs: bool) -> Iterator:
    """The shard's records as RawChunks (dead letters of unreadable parts included)."""
    if shard.kind == TEXT:
        end = OffsetRangeTracker.OFFSET_INFINITY if shard.end is None else shard.end
        source = TextSource(shard.path, paragraphs, rules.max_line_bytes)
        yield from source.read_records(shard.path, OffsetRangeTracker(shard.start, end))
    elif shard.kind == PARQUET:
        metadata = FileSystems.match([shard.path])[0].metadata_list[0]
        yield from ReadParquetFn(rules).process(fileio.ReadableFile(metadata))
    else:
        yield from read_shard(shard, rules)


class CleanShards(beam.DoFn):
    """Input shards -> their committed manifests (see the module docstring).

    Args:
        output: --output (the shards go to its partial area, `PartialRun(output)`).
        rules: the record checks.
        paragraphs: plain text is read by paragraph.
        form: the Unicode normalisation form.
        filters: the quality filters, or None when Filter runs over the whole corpus
            (with --boilerplate-min-docs).
        languages, min_lang_score: --lang, --min-lang-score.
        write_removed: also write the filtered documents (--write-removed).
    """

    def __init__(self, output: str, rules: CheckOptions, paragraphs: bool, form: str,
                 filters: Optional[FilterSettings], languages: Sequence[str] = (),
                 min_lang_score: float = 0.0, write_removed: bool = False):
        self.output = output
        self.rules = rules
        self.paragraphs = paragraphs
        self.form = form
        self.filters = filters
        self.languages = list(languages)
        self.min_lang_score = min_lang_score
        self.write_removed = write_removed

    def setup(self):
        self.partial = PartialRun(self.output)
        self.normalise = Normalise(self.form)
        self.filter = None
        if self.filters is not None:
            self.filter = Filter(self.filters, self.languages, self.min_lang_score)
            self.filter.setup()

    def process(self, shard: Shard, duplicates: Dict) -> Iterator[Dict[str, Any]]:
        start = time.perf_counter()
        files = {DOCS: TableFile(self.partial.table_file(DOCS, shard), DOCS_SCHEMA,
                                 ROW_GROUP_BYTES),
                 DEAD_TABLE: TableFile(self.partial.table_file(DEAD_TABLE, shard),
                                       dead_letter.SCHEMA, ROW_GROUP_BYTES)}
        if self.write_removed:
            files[REMOVED] = TableFile(self.partial.table_file(REMOVED, shard),
                                       pretraining_removed.SCHEMA, ROW_GROUP_BYTES)
        work = _ShardWork(files)
        try:
            checker = CheckRecords(self.rules)
            for chunk in read_input_shard(shard, self.rules, self.paragraphs):
                for out in checker.process(chunk, duplicates):
                    work.take(out, self.normalise, self.filter)
            work.flush()
            for table_file in files.values():
                table_file.commit()
        except BaseException:
            for table_file in files.values():
                table_file.abandon()
            raise
        manifest = {"counts": work.counts(), "files": {t: f.path for t, f in files.items()},
                    "shard_seconds": round(time.perf_counter() - start, 3)}
        self.partial.commit_shard(shard, manifest)
        yield manifest


class _ShardWork:
    """What one shard has produced so far: counts, rows waiting to be written."""

    def __init__(self, files: Dict[str, TableFile]):
        self.files = files
        self.read = self.blank = 0
        self.events: Dict[str, List[int]] = {}
        self.by_reason: Counter = Counter()
        self.docs: List = []
        self.dead: List[DeadLetter] = []
        self.removed: List = []

    def take(self, out, normalise: Normalise, filter_: Optional[Filter]) -> None:
        """Route one output of CheckRecords (a document is normalised and filtered here)."""
        if isinstance(out, beam.pvalue.TaggedOutput):
            if out.tag == CheckRecords.COUNTS:
                self.read += out.value[0]
                self.blank += out.value[1]
            else:
                self.by_reason[out.value.error_type] += 1
                self._add(self.dead, out.value, DEAD_TABLE)
            return
        for doc in self._main(normalise.process(out)):
            if filter_ is None:
                self._add(self.docs, doc, DOCS)
                continue
            for kept in self._main(filter_.process(doc)):
                self._add(self.docs, kept, DOCS)

    def _main(self, outputs) -> Iterator:
        """A DoFn's main outputs; its events counted, its Removed rows kept."""
        for out in outputs:
            if not isinstance(out, beam.pvalue.TaggedOutput):
                yield out
            elif out.tag == Filter.REMOVED:
                if REMOVED in self.files:
                    self._add(self.removed, out.value, REMOVED)
            else:
                name, (docs, words) = out.value
                total = self.events.setdefault(name, [0, 0])
                total[0] += docs
                total[1] += words

    def _add(self, rows: List, row, table: str) -> None:
        rows.append(row)
        if len(rows) >= BATCH:
            self._write(table)

    def _write(self, table: str) -> None:
        if table == DOCS and self.docs:
            ids, texts = zip(*self.docs)
            self.files[DOCS].write(pa.RecordBatch.from_arrays(
                [pa.array(ids, pa.string()), pa.array(texts, pa.string())],
                schema=DOCS_SCHEMA))
            self.docs = []
        elif table == DEAD_TABLE and self.dead:
            self.files[DEAD_TABLE].write(dead_letters_to_record_batch(self.dead))
            self.dead = []
        elif table == REMOVED and self.removed:
            self.files[REMOVED].write(removed_to_record_batch(self.removed))
            self.removed = []

    def flush(self) -> None:
        for table in (DOCS, DEAD_TABLE, REMOVED):
            self._write(table)

    def counts(self) -> Dict[str, Any]:
        return {"read": self.read, "blank_lines": self.blank,
                "events": dict(sorted(self.events.items())),
                "dead_letter_by_reason": dict(sorted(self.by_reason.items()))}


class ReadCleaned(beam.DoFn):
    """A committed shard's manifest -> its kept documents, (doc_id, text), read back one
    row group at a time."""

    def process(self, manifest: Dict[str, Any]) -> Iterator:
        with FileSystems.open(manifest["files"][DOCS]) as handle:
            for batch in pq.ParquetFile(handle).iter_batches(batch_size=BATCH):
                yield from zip(batch.column(0).to_pylist(), batch.column(1).to_pylist())


def drop_unreadable(partial: PartialRun, committed: Dict[str, Dict[str, Any]],
                    filtered: bool) -> Dict[str, Dict[str, Any]]:
    """The committed shards whose documents file reads as a Parquet file of as many rows
    as the manifest counts (`filtered`: documents after the filters, else as read); any
    other shard's manifest is deleted, so that this run redoes the shard."""
    step = "after_filters" if filtered else "input"
    kept = {}
    for name, manifest in committed.items():
        path = manifest["files"][DOCS]
        expected = manifest["counts"]["events"].get(step, [0, 0])[0]
        try:
            with FileSystems.open(path) as handle:
                rows = pq.ParquetFile(handle).metadata.num_rows
        except Exception as err:  # a damaged file is the shard's, redone
            rows = None
            logging.warning("%s: unreadable (%s: %s), redoing input shard %s", path,
                            type(err).__name__, err, name)
        if rows == expected:
            kept[name] = manifest
            continue
        if rows is not None:
            logging.warning("%s holds %d documents where its manifest counts %d, redoing "
                            "input shard %s", path, rows, expected, name)
        FileSystems.delete([partial.path(MANIFESTS, name + ".json")])
    return kept


def manifest_events(manifest: Dict[str, Any]) -> Iterator:
    """A manifest's count events, as the pipeline's (name, (documents, words))."""
    yield from ((name, tuple(value)) for name, value in manifest["counts"]["events"].items())
