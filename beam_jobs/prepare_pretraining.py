"""The pretraining-corpus job: raw text -> cleaned, filtered, deduplicated, shuffled shards.

    python -m beam_jobs.prepare_pretraining --input 'dump/*.jsonl.gz' --output corpus/

Steps (the annotate job's shape: plan, build_pipeline, run, main; see ARCHITECTURE.md):

    ReadForIds -> FindDuplicateIds   records sharing an explicit id (checking.py); not for
                                     plain text, whose ids are positions
    ReadTexts, CheckRecords          JSONL / text lines or paragraphs / .spacy / Parquet
                                     (pretraining_read.py) -> Text or dead letter
    Normalise                        Unicode form, controls, whitespace (pretraining_text)
    CountLines -> Boilerplate        with --boilerplate-min-docs: lines held by that many
                                     documents, a side input
    Filter                           boilerplate lines out, then the Gopher rules
                                     (pretraining_filters.py), then --lang
                                     (pretraining_langid.py), each reason counted
    ExactDedupe                      by hash of the normalised text (pretraining_exact.py)
    NearDedupe -> DropNear           MinHash + LSH, verified pairs, label propagation
                                     (near_dedupe.py); the named documents dropped
    MakePieces                       with --split-sentences / --max-tokens
                                     (pretraining_pieces.py)
    WriteShards                      seeded content-hash shuffle, fixed-size shards
                                     (pretraining_shards.py)
    WriteRemoved, WriteDeadLetters   Parquet (schemas/pretraining_removed.py, dead_letter)
    WriteStats                       stats.json, reconciled (pretraining_stats.py)

The pipeline writes into a staging area beside --output; `run` locks --output and swaps
the new output in once the run has succeeded and its counts reconcile (output_dir.py).
"""
import sys
import time
from typing import AbstractSet, Any, Dict, Iterator, List, NamedTuple, Optional, Sequence

import apache_beam as beam
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from schemas import dead_letter, pretraining_removed, pretraining_shard

from . import job_runner, output_dir
from .arrow import dead_letters_to_record_batch
from .checking import FindDuplicateIds
from .io import match_inputs
from .model import forget_preloaded, pipeline_info, preload_pipeline
from .near_dedupe import NearDedupe, NearDedupeSettings
from .output_dir import OutputDir
from .parquet import WriteParquet
from .pretraining_exact import (
    DropRemoved,
    ExactDedupe,
    PickExact,
    Removed,
    SplitRemoved,
    near_cluster_sizes,
)
from .pretraining_filters import FilterSettings, check_quality, settings_summary
from .pretraining_langid import check_available, language_reason
from .pretraining_options import (
    PreparePretrainingOptions,
    dedupe_steps,
    filter_settings,
    help_parser,
    job_option_names,
    languages,
    parse_options,
)
from .pretraining_pieces import MakePieces, check_sentence_pipeline
from .pretraining_read import TEXT, CheckRecords, ReadTexts, Text, resolve_input_format
from .pretraining_shards import WriteShards
from .pretraining_stats import FILTER_PREFIX, STATS_NAME, WriteStats, count_event
from .pretraining_text import line_hashes, normalise, remove_lines
from .records import CheckOptions
from .summary import read_json, write_json

SHARDS = "shards"
REMOVED = "removed"
DEAD_TABLE = dead_letter.NAME
ENTRIES = (SHARDS, REMOVED, DEAD_TABLE, STATS_NAME)
BATCH = 1000  # rows per Arrow batch of the removed / dead-letter tables
PIECE_BATCH = 64  # documents per pipeline call of MakePieces


class JobPlan(NamedTuple):
    """Everything decided before the pipeline is built."""

    options: PipelineOptions
    job: PreparePretrainingOptions
    kind: str
    n_files: int
    filters: FilterSettings
    languages: List[str]
    dedupe: List[str]
    near: NearDedupeSettings
    pipeline: Optional[Dict[str, Any]]  # the --model's info when a step loads it
    out: OutputDir

    def staged(self, *parts: str) -> str:
        return self.out.staged(*parts)


class PretrainingOutputs(NamedTuple):
    docs: beam.PCollection          # (id, text) as written to the shards, before shuffling
    removed: beam.PCollection       # exact_dedupe.Removed: filtered and duplicate documents
    dead_letters: beam.PCollection  # records.DeadLetter
    shards: beam.PCollection        # pretraining_shards.ShardInfo
    stats: beam.PCollection         # the stats dict


def plan(argv: Sequence[str]) -> JobPlan:
    """Parse and check the options, the input files, the output directory and (when a step
    needs it) the model. Writes nothing.

    Raises:
        ValueError / OSError: naming the flag or file to fix.
    """
    options = parse_options(argv)
    job = options.view_as(PreparePretrainingOptions)
    try:
        near = NearDedupeSettings(num_perm=job.minhash_perm, ngram=job.ngram,
                                  threshold=job.threshold, keep=job.keep, seed=job.seed)
    except ValueError as err:
        raise ValueError(f"--minhash-perm / --ngram / --threshold: {err}") from None
    if languages(job):
        try:
            check_available()
        except ImportError as err:
            raise ValueError(str(err)) from None
    paths = match_inputs(job.input)
    kind = resolve_input_format(job.input_format, paths)
    output_dir.check_output(job.output, job.overwrite, ENTRIES)
    out = output_dir.staging_for(job.output, output_dir.new_run_id())
    info = None
    if _needs_model(job):
        nlp = preload_pipeline(job.model)
        info = pipeline_info(nlp)
        if job.split_sentences:
            check_sentence_pipeline(info["components"], job.model)
    return JobPlan(options, job, kind, len(paths), filter_settings(job), languages(job),
                   dedupe_steps(job.dedupe), near, info, out)


def _needs_model(job: PreparePretrainingOptions) -> bool:
    return job.split_sentences or job.max_tokens > 0 or job.output_format == "spacy"


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


def _boilerplate(docs, min_docs: int):
    """Documents -> the hashes of lines that at least `min_docs` documents hold, as a
    (hash, True) PCollection for an AsDict side input."""
    return (docs
            | "LineHashes" >> beam.FlatMap(lambda doc: line_hashes(doc[1]))
            | "CountLines" >> beam.combiners.Count.PerElement()
            | "Frequent" >> beam.Filter(lambda kv: kv[1] >= min_docs)
            | "AsFlags" >> beam.Map(lambda kv: (kv[0], True)))


def _removed_event(removed: Removed):
    return removed.reason, (1, len(removed.text.split()))


def removed_to_record_batch(rows: Sequence[Removed]) -> pa.RecordBatch:
    """One `pretraining_removed` row per Removed."""
    columns = list(zip(*rows)) if rows else [[] for _ in Removed._fields]
    schema = pretraining_removed.SCHEMA
    arrays = [pa.array(list(values), type=schema.field(name).type)
              for name, values in zip(Removed._fields, columns)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def build_pipeline(p: beam.Pipeline, plan: JobPlan) -> PretrainingOutputs:
    """Add the job's transforms to `p` (see the module docstring)."""
    job = plan.job
    rules = CheckOptions(job.text_field, job.id_field, job.max_chars, job.max_decompressed_mb)
    paragraphs = job.text_format == "paragraphs"
    if plan.kind == TEXT:
        duplicates = p | "NoDuplicateCheck" >> beam.Create([])
    else:
        duplicates = (p
                      | "ReadForIds" >> ReadTexts(job.input, plan.kind, rules, paragraphs)
                      | "FindDuplicateIds" >> FindDuplicateIds(rules))
    checked = (p
               | "ReadTexts" >> ReadTexts(job.input, plan.kind, rules, paragraphs)
               | "CheckRecords" >> beam.ParDo(
                   CheckRecords(rules), beam.pvalue.AsDict(duplicates)).with_outputs(
                       CheckRecords.DEAD, CheckRecords.COUNTS, main="texts"))
    normalised = (checked.texts
                  | "Normalise" >> beam.ParDo(Normalise(job.normalize)).with_outputs(
                      Normalise.EVENTS, main="docs"))
    side = []
    if job.boilerplate_min_docs > 0:
        side = [beam.pvalue.AsDict(_boilerplate(normalised.docs, job.boilerplate_min_docs))]
    filtered = (normalised.docs
                | "Filter" >> beam.ParDo(Filter(plan.filters, plan.languages,
                                                job.min_lang_score), *side).with_outputs(
                    Filter.REMOVED, Filter.EVENTS, main="kept"))
    docs = filtered.kept
    removed_parts = [filtered[Filter.REMOVED]]
    events = [normalised[Normalise.EVENTS], filtered[Filter.EVENTS]]
    exact_sizes = near_sizes = None
    if "exact" in plan.dedupe:
        exact = docs | "ExactDedupe" >> ExactDedupe()
        docs = exact.kept
        removed_parts.append(exact[PickExact.REMOVED])
        exact_sizes = exact[PickExact.CLUSTERS]
        events += [docs | "CountAfterExact" >> beam.Map(count_event("after_exact")),
                   exact[PickExact.REMOVED]
                   | "CountExact" >> beam.Map(_removed_event)]
    if "near" in plan.dedupe:
        near = docs | "NearDedupe" >> NearDedupe(plan.near)
        dropped = (docs, near) | "DropNear" >> DropRemoved()
        docs = dropped.kept
        removed_parts.append(dropped[SplitRemoved.REMOVED])
        near_sizes = near_cluster_sizes(near)
        events += [docs | "CountAfterNear" >> beam.Map(count_event("after_near")),
                   dropped[SplitRemoved.REMOVED] | "CountNear" >> beam.Map(_removed_event)]
    dead_parts = [checked[CheckRecords.DEAD]]
    if job.split_sentences or job.max_tokens > 0:
        pieces = (docs
                  | "BatchForPieces" >> beam.BatchElements(min_batch_size=PIECE_BATCH,
                                                           max_batch_size=PIECE_BATCH)
                  | "MakePieces" >> beam.ParDo(MakePieces(
                      job.model, job.split_sentences, job.max_tokens, job.input)).with_outputs(
                          MakePieces.DEAD, MakePieces.DONE, main="pieces"))
        dead_parts.append(pieces[MakePieces.DEAD])
        events.append(pieces[MakePieces.DONE]
                      | "CountWritten" >> beam.Map(lambda done: ("written", (1, done[2]))))
        docs = pieces.pieces
    else:
        events.append(docs | "CountWritten" >> beam.Map(count_event("written")))
    events.append(docs | "CountPieces" >> beam.Map(count_event("pieces")))
    shard_bytes = job.shard_mb << 20
    shards = docs | "WriteShards" >> WriteShards(
        plan.staged(SHARDS), job.output_format, job.seed, job.shard_docs, shard_bytes,
        job.model, plan.out.final_path)
    removed = tuple(removed_parts) | "AllRemoved" >> beam.Flatten()
    removed_files = p | "RemovedNotWritten" >> beam.Create([])
    if job.write_removed:
        removed_files = (removed
                         | "BatchRemoved" >> beam.BatchElements(min_batch_size=BATCH,
                                                                max_batch_size=BATCH)
                         | "RemovedToArrow" >> beam.Map(removed_to_record_batch)
                         | "WriteRemoved" >> WriteParquet(plan.staged(REMOVED, "part"),
                                                          pretraining_removed.SCHEMA))
    dead = tuple(dead_parts) | "AllDeadLetters" >> beam.Flatten()
    dead_files = (dead
                  | "BatchDeadLetters" >> beam.BatchElements(min_batch_size=BATCH,
                                                             max_batch_size=BATCH)
                  | "DeadLettersToArrow" >> beam.Map(dead_letters_to_record_batch)
                  | "WriteDeadLetters" >> WriteParquet(plan.staged(DEAD_TABLE, "part"),
                                                       dead_letter.SCHEMA))
    if exact_sizes is None:
        exact_sizes = p | "NoExactClusters" >> beam.Create([])
    if near_sizes is None:
        near_sizes = p | "NoNearClusters" >> beam.Create([])
    all_events = tuple(events) | "AllEvents" >> beam.Flatten()
    stats = ((checked[CheckRecords.COUNTS], all_events, dead, exact_sizes, near_sizes,
              shards, dead_files, removed_files)
             | "WriteStats" >> WriteStats(plan.staged(STATS_NAME), _static(plan),
                                          plan.out.final_path))
    return PretrainingOutputs(docs, removed, dead, shards, stats)


def _static(plan: JobPlan) -> Dict[str, Any]:
    job = plan.job
    names = set(job_option_names())
    return {
        "job": "beam_jobs.prepare_pretraining", "input": job.input,
        "input_format": plan.kind, "input_files": plan.n_files, "output": job.output,
        "shards_dir": plan.out.path(SHARDS), "output_format": job.output_format,
        "model": None if plan.pipeline is None else {"spec": job.model, **plan.pipeline},
        "filters": settings_summary(plan.filters),
        "languages": {"keep": plan.languages, "min_score": job.min_lang_score}
        if plan.languages else None,
        "dedupe": plan.dedupe,
        "schemas": {dead_letter.NAME: dead_letter.VERSION,
                    **({pretraining_removed.NAME: pretraining_removed.VERSION}
                       if job.write_removed else {}),
                    **({pretraining_shard.NAME: pretraining_shard.VERSION}
                       if job.output_format == "parquet" else {})},
        "runner": str(plan.options.view_as(StandardOptions).runner),
        "options": {k: v for k, v in job.get_all_options().items() if k in names},
    }


def run(argv: Optional[Sequence[str]] = None, test_pipeline: Optional[beam.Pipeline] = None
        ) -> Dict[str, Any]:
    """Run the job to completion and return its stats.

    Args:
        argv: command-line flags (default: sys.argv[1:]).
        test_pipeline: a pipeline to build into instead of one made from `argv`.

    Raises:
        OutputInUse: when another run holds --output's lock.
        RuntimeError: when the counts do not reconcile (a bug); the new output is then not
            committed.
    """
    job_plan = plan(sys.argv[1:] if argv is None else argv)
    try:
        return job_runner.run_committed(job_plan.job.output, job_plan.out,
                                        lambda: _run_staged(job_plan, test_pipeline),
                                        ENTRIES)
    finally:
        forget_preloaded()


def _run_staged(job_plan: JobPlan, test_pipeline: Optional[beam.Pipeline]) -> Dict[str, Any]:
    start = time.perf_counter()
    p = test_pipeline if test_pipeline is not None else beam.Pipeline(options=job_plan.options)
    build_pipeline(p, job_plan)
    p.run().wait_until_finish()
    path = job_plan.staged(STATS_NAME)
    stats = read_json(path)
    seconds = time.perf_counter() - start
    input_bytes = sum(m.size_in_bytes for m in
                      FileSystems.match([job_plan.job.input])[0].metadata_list)
    stats["wall_seconds"] = round(seconds, 3)
    stats["input_bytes"] = input_bytes
    stats["per_wall_second"] = {"documents": round(stats["counts"]["read"] / seconds, 1),
                                "mb": round(input_bytes / 1e6 / seconds, 3)}
    write_json(path, stats)
    if not stats["reconciled"]:
        raise RuntimeError(f"Counts do not reconcile: {stats['counts']}; --output "
                           f"{job_plan.job.output!r} was left as it was.")
    return stats


def report_lines(stats: Dict[str, Any]) -> List[str]:
    """What `main` prints at the end: stats.json in short."""
    c = stats["counts"]
    check = "reconciled" if stats["reconciled"] else "NOT RECONCILED"
    steps = stats["steps"]
    lines = [f"read {c['read']} documents = {c['written']} written + {c['filtered']} "
             f"filtered + {c['exact_duplicates']} exact duplicates + {c['near_duplicates']} "
             f"near duplicates + {c['dead_lettered']} dead-lettered ({check})"]
    for name, reasons in (("filtered", c["filtered_by_reason"]),
                          ("dead letters", c["dead_letter_by_reason"])):
        text = ", ".join(f"{k}: {v}" for k, v in reasons.items())
        lines.append(f"  {name} by reason: {text or 'none'}")
    lines.append(f"  words: {steps['input']['words']} in, "
                 f"{steps['written']['documents']['words']} written")
    clusters = stats["duplicate_clusters"]
    lines.append(f"  duplicate clusters: {clusters['exact']['clusters']} exact, "
                 f"{clusters['near']['clusters']} near")
    shards = stats["shards"]
    lines.append(f"shards: {len(shards)} in {stats['shards_dir']} ({c['pieces']} "
                 f"{stats['output_format']} entries)")
    if "removed" in stats["files"]:
        lines.append(f"removed: {FileSystems.join(stats['output'], REMOVED)}")
    lines.append(f"stats: {FileSystems.join(stats['output'], STATS_NAME)}")
    lines.append(f"{stats['per_wall_second']['documents']:.0f} documents/s, "
                 f"{stats['per_wall_second']['mb']:.2f} MB/s ({stats['wall_seconds']:.1f} s)")
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    return job_runner.main(argv, run, report_lines, help_parser)


if __name__ == "__main__":
    sys.exit(main())
