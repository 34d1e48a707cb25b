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

ReadTexts through Filter (Filter over the whole corpus with --boilerplate-min-docs) run
per input shard, each shard committed to OUTPUT.partial/ as it is done
(pretraining_input.py); the steps from ExactDedupe on read the committed
documents back. A run that stops is finished with --resume: the committed shards are kept,
the rest read, the whole-corpus steps redone, and the output is that of an uninterrupted
run. The pipeline writes into a staging area beside --output; `run` locks --output and
swaps the new output in once the run has succeeded and its counts reconcile
(output_dir.py).
"""
import sys
import time
from typing import Any, Dict, List, NamedTuple, Optional, Sequence

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
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
from .pretraining_clean import (
    Filter,
    boilerplate_lines,
    removed_event,
    removed_to_record_batch,
)
from .pretraining_exact import (
    DropRemoved,
    ExactDedupe,
    PickExact,
    SplitRemoved,
    near_cluster_sizes,
)
from .pretraining_filters import FilterSettings, settings_summary
from .pretraining_input import (
    CleanShards,
    ReadCleaned,
    drop_unreadable,
    input_shards,
    manifest_events,
    shard_tables,
)
from .pretraining_langid import check_available
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
from .pretraining_read import TEXT, ReadTexts, resolve_input_format
from .pretraining_shards import WriteShards
from .pretraining_stats import STATS_NAME, WriteStats, count_event, report_lines
from .records import CheckOptions
from .shards import (
    PartialRun,
    Shard,
    check_partial,
    move_table,
    run_with_retries,
    start_or_resume,
)
from .summary import read_json, write_json

SHARDS = "shards"
REMOVED = "removed"
DEAD_TABLE = dead_letter.NAME
ENTRIES = (SHARDS, REMOVED, DEAD_TABLE, STATS_NAME)
BATCH = 1000  # rows per Arrow batch of the removed / dead-letter tables
# the removed / dead-letter files of the whole-corpus steps, beside the input shards' part-*
CORPUS_PREFIX = "corpus"
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
    shards: Sequence[Shard] = ()  # the input shards (pretraining_input.py)

    def staged(self, *parts: str) -> str:
        return self.out.staged(*parts)


class PretrainingOutputs(NamedTuple):
    docs: beam.PCollection          # (id, text) as written to the shards, before shuffling
    removed: beam.PCollection       # exact_dedupe.Removed: documents removed by the steps
                                    # over the whole corpus (not those of CleanShards)
    dead_letters: beam.PCollection  # records.DeadLetter of MakePieces
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
    resuming = check_partial(job.output, job.resume, job.overwrite)
    # a partial run being resumed was allowed to replace --output when it started
    output_dir.check_output(job.output, job.overwrite or resuming, ENTRIES)
    out = output_dir.staging_for(job.output, output_dir.new_run_id())
    shards = input_shards(paths, kind, job.text_format == "paragraphs",
                          job.input_shard_mb << 20)
    info = None
    if _needs_model(job):
        nlp = preload_pipeline(job.model)
        info = pipeline_info(nlp)
        if job.split_sentences:
            check_sentence_pipeline(info["components"], job.model)
    job_plan = JobPlan(options, job, kind, len(paths), filter_settings(job), languages(job),
                       dedupe_steps(job.dedupe), near, info, out, shards)
    if resuming:
        PartialRun(job.output).check_plan(shards, shard_settings(job_plan), job.output)
    return job_plan


def shard_settings(plan: JobPlan) -> Dict[str, Any]:
    """What a partial run was made with: it resumes only with the same (every job flag but
    those that only say how to run)."""
    names = set(job_option_names()) - {"output", "overwrite", "resume", "retries"}
    settings = {k: v for k, v in plan.job.get_all_options().items() if k in names}
    settings.update(job="beam_jobs.prepare_pretraining", kind=plan.kind)
    return settings


def _needs_model(job: PreparePretrainingOptions) -> bool:
    return job.split_sentences or job.max_tokens > 0 or job.output_format == "spacy"


def build_pipeline(p: beam.Pipeline, plan: JobPlan, todo: Optional[Sequence[Shard]] = None,
                   committed: Sequence[Dict[str, Any]] = ()) -> PretrainingOutputs:
    """Add the job's transforms to `p` (see the module docstring): the input shards `todo`
    (default: all of the plan's) are read, cleaned and committed one by one to the partial
    area; the whole-corpus steps read their documents and those of the shards `committed`
    (manifests) by an earlier attempt or run."""
    job = plan.job
    rules = CheckOptions(job.text_field, job.id_field, job.max_chars, job.max_decompressed_mb)
    paragraphs = job.text_format == "paragraphs"
    todo = list(plan.shards if todo is None else todo)
    if plan.kind == TEXT or not todo:
        duplicates = p | "NoDuplicateCheck" >> beam.Create([])
    else:
        duplicates = (p
                      | "ReadForIds" >> ReadTexts(job.input, plan.kind, rules, paragraphs)
                      | "FindDuplicateIds" >> FindDuplicateIds(rules))
    whole_corpus_filter = job.boilerplate_min_docs > 0
    new = (p
           | "Shards" >> beam.Create(todo)
           | "SpreadShards" >> beam.Reshuffle()
           | "CleanShards" >> beam.ParDo(
               CleanShards(job.output, rules, paragraphs, job.normalize,
                           None if whole_corpus_filter else plan.filters, plan.languages,
                           job.min_lang_score, job.write_removed),
               beam.pvalue.AsDict(duplicates)))
    manifests = ((new, p | "Committed" >> beam.Create(list(committed)))
                 | "AllManifests" >> beam.Flatten())
    docs = (manifests
            | "SpreadCommitted" >> beam.Reshuffle()
            | "ReadCleaned" >> beam.ParDo(ReadCleaned()))
    removed_parts = []
    events = [manifests | "ShardEvents" >> beam.FlatMap(manifest_events)]
    if whole_corpus_filter:
        side = [beam.pvalue.AsDict(boilerplate_lines(docs, job.boilerplate_min_docs))]
        filtered = (docs
                    | "Filter" >> beam.ParDo(Filter(plan.filters, plan.languages,
                                                    job.min_lang_score), *side).with_outputs(
                        Filter.REMOVED, Filter.EVENTS, main="kept"))
        docs = filtered.kept
        removed_parts.append(filtered[Filter.REMOVED])
        events.append(filtered[Filter.EVENTS])
    exact_sizes = near_sizes = None
    if "exact" in plan.dedupe:
        exact = docs | "ExactDedupe" >> ExactDedupe()
        docs = exact.kept
        removed_parts.append(exact[PickExact.REMOVED])
        exact_sizes = exact[PickExact.CLUSTERS]
        events += [docs | "CountAfterExact" >> beam.Map(count_event("after_exact")),
                   exact[PickExact.REMOVED]
                   | "CountExact" >> beam.Map(removed_event)]
    if "near" in plan.dedupe:
        near = docs | "NearDedupe" >> NearDedupe(plan.near)
        dropped = (docs, near) | "DropNear" >> DropRemoved()
        docs = dropped.kept
        removed_parts.append(dropped[SplitRemoved.REMOVED])
        near_sizes = near_cluster_sizes(near)
        events += [docs | "CountAfterNear" >> beam.Map(count_event("after_near")),
                   dropped[SplitRemoved.REMOVED] | "CountNear" >> beam.Map(removed_event)]
    dead_reasons = [manifests | "ShardDeadLetters" >> beam.FlatMap(
        lambda m: m["counts"]["dead_letter_by_reason"].items())]
    shard_files = _shard_files(plan)
    dead_files = p | "ShardDeadLetterFiles" >> beam.Create(shard_files[DEAD_TABLE])
    dead = p | "NoPieceDeadLetters" >> beam.Create([])
    if job.split_sentences or job.max_tokens > 0:
        pieces = (docs
                  | "BatchForPieces" >> beam.BatchElements(min_batch_size=PIECE_BATCH,
                                                           max_batch_size=PIECE_BATCH)
                  | "MakePieces" >> beam.ParDo(MakePieces(
                      job.model, job.split_sentences, job.max_tokens, job.input)).with_outputs(
                          MakePieces.DEAD, MakePieces.DONE, main="pieces"))
        dead = pieces[MakePieces.DEAD]
        dead_reasons.append(dead | "PieceReasons" >> beam.Map(lambda d: (d.error_type, 1)))
        events.append(pieces[MakePieces.DONE]
                      | "CountWritten" >> beam.Map(lambda done: ("written", (1, done[2]))))
        docs = pieces.pieces
        piece_files = (dead
                       | "BatchDeadLetters" >> beam.BatchElements(min_batch_size=BATCH,
                                                                  max_batch_size=BATCH)
                       | "DeadLettersToArrow" >> beam.Map(dead_letters_to_record_batch)
                       | "WriteDeadLetters" >> WriteParquet(
                           plan.staged(DEAD_TABLE, CORPUS_PREFIX), dead_letter.SCHEMA))
        dead_files = (dead_files, piece_files) | "AllDeadLetterFiles" >> beam.Flatten()
    else:
        events.append(docs | "CountWritten" >> beam.Map(count_event("written")))
    events.append(docs | "CountPieces" >> beam.Map(count_event("pieces")))
    shard_bytes = job.shard_mb << 20
    shards = docs | "WriteShards" >> WriteShards(
        plan.staged(SHARDS), job.output_format, job.seed, job.shard_docs, shard_bytes,
        job.model, plan.out.final_path)
    removed = (tuple(removed_parts) | "AllRemoved" >> beam.Flatten() if removed_parts
               else p | "NoneRemoved" >> beam.Create([]))
    removed_files = p | "RemovedNotWritten" >> beam.Create([])
    if job.write_removed:
        corpus_files = (removed
                        | "BatchRemoved" >> beam.BatchElements(min_batch_size=BATCH,
                                                               max_batch_size=BATCH)
                        | "RemovedToArrow" >> beam.Map(removed_to_record_batch)
                        | "WriteRemoved" >> WriteParquet(
                            plan.staged(REMOVED, CORPUS_PREFIX), pretraining_removed.SCHEMA))
        removed_files = ((corpus_files, p | "ShardRemovedFiles" >> beam.Create(
                          shard_files[REMOVED])) | "AllRemovedFiles" >> beam.Flatten())
    if exact_sizes is None:
        exact_sizes = p | "NoExactClusters" >> beam.Create([])
    if near_sizes is None:
        near_sizes = p | "NoNearClusters" >> beam.Create([])
    all_events = tuple(events) | "AllEvents" >> beam.Flatten()
    read_counts = manifests | "ShardReads" >> beam.Map(
        lambda m: (m["counts"]["read"], m["counts"]["blank_lines"]))
    all_reasons = tuple(dead_reasons) | "AllDeadReasons" >> beam.Flatten()
    stats = ((read_counts, all_events, all_reasons, exact_sizes, near_sizes, shards,
              dead_files, removed_files)
             | "WriteStats" >> WriteStats(plan.staged(STATS_NAME), _static(plan),
                                          plan.out.final_path))
    return PretrainingOutputs(docs, removed, dead, shards, stats)


def _shard_files(plan: JobPlan) -> Dict[str, List[str]]:
    """The staged paths the input shards' dead-letter and removed files move to once the
    pipeline has run (`_move_shard_tables`)."""
    tables = [DEAD_TABLE] + ([REMOVED] if plan.job.write_removed else [])
    files = {table: [plan.staged(table, shard.name + ".parquet") for shard in plan.shards]
             for table in tables}
    files.setdefault(REMOVED, [])
    return files


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
                                        ENTRIES,
                                        after_commit=PartialRun(job_plan.job.output).discard)
    finally:
        forget_preloaded()


def _run_staged(job_plan: JobPlan, test_pipeline: Optional[beam.Pipeline]) -> Dict[str, Any]:
    """Clean the input shards not committed yet into the partial area and run the
    whole-corpus steps into the staging area (again, up to --retries times, when the
    pipeline fails); the finished, reconciled stats."""
    start = time.perf_counter()
    job = job_plan.job
    partial = PartialRun(job.output)
    tables = shard_tables(job.write_removed)
    committed = start_or_resume(partial, job_plan.shards, shard_settings(job_plan), tables,
                                job.resume, job.output)
    committed = drop_unreadable(partial, committed, job.boilerplate_min_docs == 0)
    resumed_from = len(committed)

    def attempt(todo: List[Shard]) -> None:
        output_dir.discard(job_plan.out)  # what a failed attempt staged
        done = partial.committed(job_plan.shards, tables)
        p = test_pipeline if test_pipeline is not None else beam.Pipeline(
            options=job_plan.options)
        build_pipeline(p, job_plan, todo, [done[s.name] for s in job_plan.shards
                                           if s.name in done and s not in todo])
        p.run().wait_until_finish()

    _, attempts = run_with_retries(job_plan.shards, partial, tables, committed, attempt,
                                   job.retries, once=test_pipeline is not None,
                                   run_when_done=True)
    manifests = partial.committed(job_plan.shards, tables)
    missing = [shard.name for shard in job_plan.shards if shard.name not in manifests]
    if missing:
        raise RuntimeError(f"{len(missing)} input shard(s) were not committed (e.g. "
                           f"{missing[0]}); --output {job.output!r} was left as it was: "
                           "rerun with --resume.")
    for table in tables[1:]:  # dead_letter (and removed): the input shards' files
        move_table(partial, table, job_plan.staged(table))
    path = job_plan.staged(STATS_NAME)
    stats = read_json(path)
    stats["input_shards"] = {"total": len(job_plan.shards), "resumed_from": resumed_from,
                             "attempts": attempts}
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


def main(argv: Optional[Sequence[str]] = None) -> int:
    return job_runner.main(argv, run, report_lines, help_parser)


if __name__ == "__main__":
    sys.exit(main())
