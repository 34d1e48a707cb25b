"""The main job: annotate a corpus with an nlp_core pipeline and write Parquet.

    python -m beam_jobs.annotate --input 'corpus/*.jsonl.gz' --output out/ --model blank:en

Steps (see ARCHITECTURE.md, "The annotate job"):

    ReadRecords    JSONL (split by byte ranges) or .spacy files -> chunks of raw records
    CheckAndBatch  every record checked (records.py); bad ones -> dead letters; good ones
                   sorted by length within a pool and cut into batches
    Annotate       the pipeline (loaded once per worker process) on each batch, long
                   documents in pieces (pieces.py) -> one Arrow record batch per batch,
                   built from the Doc arrays
    Write*         annotations and dead-letter Parquet (schemas/), the tensors table with
                   --tensors (tensors.py), then run_summary.json

Before that, unless --allow-duplicate-ids, a first pass over the input finds records whose id
an earlier record already has (checking.py). `run(argv, test_pipeline)` runs it all;
`plan` and `build_pipeline` let tests drive the pieces with `assert_that`.

The pipeline writes into a staging area beside --output, never into it; `run` holds a lock
on --output and, once the run has succeeded, swaps the new output in and writes `_SUCCESS`
(output_dir.py). A failed or interrupted run leaves --output as it was.
"""
import sys
import time
from collections import Counter
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, PortableOptions, StandardOptions

from schemas import annotations, dead_letter, tensors

from . import extensions, job_runner, output_dir, workers
from .annotating import (
    BATCH_ITEMS_NAMESPACE,
    PEAK_GPU_NAMESPACE,
    PEAK_RSS_NAMESPACE,
    AnnotateBatches,
)
from .duplicate_ids import FindDuplicateIds, id_buckets
from .extensions import UserCode
from .io import match_inputs, resolve_format
from .model import check_gpu, forget_preloaded, pipeline_info, preload_pipeline
from .options import (
    AnnotateOptions,
    gpu_id,
    help_parser,
    job_option_names,
    model_config,
    parse_options,
)
from .output_dir import OutputDir
from .peak_memory import max_by_name, peak_rss_by_worker, peak_rss_kib
from .pieces import PIECE_CHARS
from .records import CheckOptions
from .shard_annotating import AnnotateShards, read_shard
from .shards import (
    PartialRun,
    Shard,
    move_table,
    plan_shards,
    run_with_retries,
    start_or_resume,
)
from .stage_times import stage_seconds, stage_share
from .summary import SUMMARY_NAME, make_summary, read_json, write_json
from .tensors import check_pipeline, tensor_summary

# runners whose SDK workers run on this machine: --gpu is checked here before the job starts
LOCAL_RUNNERS = ("FnApiRunner", "DirectRunner", "BundleBasedDirectRunner",
                 "SwitchingDirectRunner", "PrismRunner")


class JobPlan(NamedTuple):
    """Everything decided before the pipeline is built."""

    options: PipelineOptions
    job: AnnotateOptions
    kind: str
    n_files: int
    pipeline: Dict[str, Any]
    out: OutputDir  # --output and the staging area the pipeline writes to
    shards: Sequence[Shard] = ()  # the input's shards (shards.py)
    extensions: Tuple[str, ...] = ()  # "LEVEL:NAME:TYPE" columns to write (extensions.py)
    code: Optional[UserCode] = None  # --code, imported before the pipeline
    shard_bytes: int = 0  # a plain JSONL file's shard size (workers.shard_bytes)

    def path(self, *parts: str) -> str:
        """A path in --output (where the outputs are once the run is committed)."""
        return self.out.path(*parts)

    def staged(self, *parts: str) -> str:
        """A path in the staging area (where the pipeline writes)."""
        return self.out.staged(*parts)


class AnnotateOutputs(NamedTuple):
    annotations: beam.PCollection      # pyarrow.RecordBatch, schemas.annotations
    dead_letters: beam.PCollection     # records.DeadLetter
    manifests: beam.PCollection        # one dict per shard committed by this run


def plan(argv: Sequence[str]) -> JobPlan:
    """Parse and check the options, the input files, the output directory and the model
    (in that order: the cheap checks come before the model loads). Writes nothing.

    Raises:
        ValueError / OSError: with a message naming the flag or path to fix
            (output_lock.OutputInUse when another run holds --output).
    """
    options = parse_options(argv)
    job = options.view_as(AnnotateOptions)
    if gpu_id(job) >= 0 and _workers_are_local(options):
        check_gpu(gpu_id(job))
    paths = match_inputs(job.input)
    kind = resolve_format(job.input_format, paths)
    partial = PartialRun(job.output).read_plan()
    if partial is not None and not PartialRun(job.output).has_committed():
        partial = None  # nothing was committed: debris, which the run removes
    if partial is not None and not (job.resume or job.overwrite):
        raise ValueError(f"--output {job.output!r} holds a partial run that did not finish "
                         f"({PartialRun(job.output).root}): pass --resume to finish it "
                         "(the shards it committed are kept), or --overwrite to discard it "
                         "and start afresh.")
    # a partial run being resumed was allowed to replace --output when it started
    output_dir.check_output(job.output, job.overwrite or (job.resume and partial is not None))
    out = output_dir.staging_for(job.output, output_dir.new_run_id())
    shard_bytes = _shard_bytes(options, paths, kind, partial if job.resume else None)
    shards = plan_shards(paths, kind, shard_bytes)
    code = extensions.read_user_code(job.code)
    extensions.import_user_code(code)  # the pipeline's custom components
    # the in-memory runner annotates in this process: its malloc settings from the start
    workers.steady_malloc()
    nlp = preload_pipeline(job.model, model_config(job))
    check_pipeline(nlp, job.tensors)
    specs = extensions.resolve(job.extensions, nlp, job.model, code)
    job_plan = JobPlan(options, job, kind, len(paths), pipeline_info(nlp), out, shards,
                       extensions.spec_strings(specs), code, shard_bytes)
    if partial is not None and job.resume:
        PartialRun(job.output).check_plan(shards, shard_settings(job_plan), job.output)
    return job_plan


def shard_settings(plan: JobPlan) -> Dict[str, Any]:
    """What shapes a shard's rows: a partial run resumes only with the same."""
    job = plan.job
    names = ("model", "text_field", "id_field", "max_chars", "max_line_bytes",
             "max_decompressed_mb", "keep_text", "batch_size", "batch_chars", "batch_tokens",
             "allow_duplicate_ids", "tensors", "tensor_dtype", "shard_mb", "row_group_mb")
    settings = {name: getattr(job, name) for name in names}
    settings.update(kind=plan.kind, pipeline=[plan.pipeline["name"], plan.pipeline["version"]],
                    model_config=model_config(job),
                    extensions=list(plan.extensions),
                    code=plan.code.digest if plan.code is not None else None,
                    shard_bytes=plan.shard_bytes, piece_chars=PIECE_CHARS)
    return settings


def _shard_bytes(options: PipelineOptions, paths: Sequence[str], kind: str,
                 resumed: Optional[Dict[str, Any]]) -> int:
    """The shard size: the partial run's when resuming one (so that it resumes with any
    number of workers), else --shard-mb, cut smaller so that every worker process gets
    shards (workers.py)."""
    job = options.view_as(AnnotateOptions)
    if resumed is not None and resumed.get("settings", {}).get("shard_bytes"):
        return int(resumed["settings"]["shard_bytes"])
    return workers.shard_bytes(workers.plain_sizes(paths, kind), job.shard_mb,
                               workers.planned_processes(options))


def _workers_are_local(options: PipelineOptions) -> bool:
    runner = options.view_as(StandardOptions).runner
    name = runner if isinstance(runner, str) or runner is None else type(runner).__name__
    return (str(name).rsplit(".", 1)[-1] in LOCAL_RUNNERS
            or options.view_as(PortableOptions).environment_type in ("LOOPBACK", "loopback"))


def build_pipeline(p: beam.Pipeline, plan: JobPlan,
                   shards: Optional[Sequence[Shard]] = None) -> AnnotateOutputs:
    """Add the job's transforms to `p`: the shards (default: all of the plan's) are
    annotated and committed to the partial area one by one (shard_annotating.py)."""
    job = plan.job
    rules = CheckOptions(job.text_field, job.id_field, job.max_chars, job.max_decompressed_mb,
                         job.max_line_bytes or 0)
    if job.allow_duplicate_ids:
        duplicates = p | "NoDuplicateCheck" >> beam.Create([])
    else:
        # every shard (committed ones too: their ids still count), read by the workers
        # in parallel with the main pass's reader
        duplicates = (p
                      | "ShardsForIds" >> beam.Create(list(plan.shards))
                      | "SpreadShardsForIds" >> beam.Reshuffle()
                      | "ReadForIds" >> beam.FlatMap(read_shard, rules)
                      | "FindDuplicateIds" >> FindDuplicateIds(
                          rules, id_buckets(sum({s.path: s.size for s in plan.shards}.values()))))
    annotate = AnnotateBatches(job.model, job.keep_text, job.tensors, job.tensor_dtype,
                               gpu_id(job), plan.extensions, plan.code,
                               workers.worker_threads(plan.options), model_config(job),
                               workers.gpu_parse_threads(plan.options, job.parse_threads)
                               if gpu_id(job) >= 0 else job.parse_threads)
    todo = list(plan.shards if shards is None else shards)
    done = (p
            | "Shards" >> beam.Create(todo)
            | "SpreadShards" >> beam.Reshuffle()
            | "AnnotateShards" >> beam.ParDo(
                AnnotateShards(job.output, rules, job.batch_size, job.batch_chars, annotate,
                               job.row_group_mb << 20,
                               job.tensor_dtype if job.tensors != "none" else None,
                               job.batch_tokens),
                beam.pvalue.AsDict(duplicates)).with_outputs(
                    AnnotateShards.ROWS, AnnotateShards.DEAD, main="manifests"))
    # Consumed, so that the runner reads the stage's data from its workers: a local
    # runner waiting on a stage with no outputs does not notice a worker that died, and
    # hangs; one reading its data fails the job, which is then retried.
    _ = done.manifests | "CountCommitted" >> beam.combiners.Count.Globally()
    return AnnotateOutputs(done[AnnotateShards.ROWS], done[AnnotateShards.DEAD],
                           done.manifests)


def _static(plan: JobPlan) -> Dict[str, Any]:
    job = plan.job
    names = set(job_option_names())  # (builds a parser: once, not per option)
    return {
        "job": "beam_jobs.annotate",
        "input": job.input, "input_format": plan.kind, "input_files": plan.n_files,
        "output": job.output,
        "model": {"spec": job.model, **plan.pipeline},
        "extensions": list(plan.extensions),
        "schemas": {annotations.NAME: annotations.VERSION,
                    dead_letter.NAME: dead_letter.VERSION,
                    **({tensors.NAME: tensors.VERSION} if job.tensors != "none" else {})},
        "runner": str(plan.options.view_as(StandardOptions).runner),
        "options": {k: v for k, v in job.get_all_options().items() if k in names},
    }


def finish_summary(plan: JobPlan, wall_seconds: float, result: Any = None
                   ) -> Dict[str, Any]:
    """Add wall-clock time, throughput and peak memory (the launcher's, and each worker
    process's from the finished pipeline `result`'s metrics) to the staged
    run_summary.json; returns the summary."""
    path = plan.staged(SUMMARY_NAME)
    summary = read_json(path)
    counts = summary["counts"]
    summary["wall_seconds"] = round(wall_seconds, 3)
    summary["peak_rss_mb"] = {
        "launcher": round(peak_rss_kib() / 1024, 1),
        "workers": {} if result is None else peak_rss_by_worker(result, PEAK_RSS_NAMESPACE)}
    stages = {} if result is None else stage_seconds(result)
    if stages:
        summary["stage_seconds"] = stages
        summary["stage_share"] = stage_share(stages)
    if gpu_id(plan.job) >= 0 and result is not None:
        summary["peak_gpu_mb"] = peak_rss_by_worker(result, PEAK_GPU_NAMESPACE)
        # "component@worker": the max_batch_items its "auto" chose there
        summary["max_batch_items"] = max_by_name(result, BATCH_ITEMS_NAMESPACE)
    summary["per_wall_second"] = {
        "docs": round(counts["annotated"] / wall_seconds, 1),
        "words": round(counts["tokens"] / wall_seconds, 1)}
    if plan.job.tensors != "none":
        written = tensor_summary(plan.out.staging, plan.job.tensors, plan.job.tensor_dtype,
                                 wall_seconds)
        written["files"] = [plan.out.final_path(f) for f in written["files"]]
        summary["tensors"] = written
    write_json(path, summary)
    return summary


def run(argv: Optional[Sequence[str]] = None, test_pipeline: Optional[beam.Pipeline] = None
        ) -> Dict[str, Any]:
    """Run the job to completion and return its run summary.

    Args:
        argv: command-line flags (default: sys.argv[1:]).
        test_pipeline: a pipeline to build into (e.g. a TestPipeline) instead of one made
            from `argv`'s Beam options.

    --output changes only when the run succeeds: it is locked for the run's duration, each
    shard of the input is committed to the partial area beside it as it is done
    (shards.py), and once all are, the tables are staged and replace the old output
    (output_dir.py, output_lock.py). Whatever ends the run early (an error,
    KeyboardInterrupt, SIGKILL) leaves --output as it was and the committed shards in the
    partial area, for a rerun with --resume.

    Raises:
        OutputInUse: when another run holds --output's lock.
        RuntimeError: when the counts do not reconcile (a bug: a record got lost); the new
            output is then not committed.
    """
    job_plan = plan(sys.argv[1:] if argv is None else argv)
    try:
        return job_runner.run_committed(job_plan.job.output, job_plan.out,
                                        lambda: _run_staged(job_plan, test_pipeline),
                                        after_commit=PartialRun(job_plan.job.output).discard)
    finally:
        forget_preloaded()


def _run_staged(job_plan: JobPlan, test_pipeline: Optional[beam.Pipeline]) -> Dict[str, Any]:
    """Annotate the shards not committed yet into the partial area, move the tables into
    the staging area; the finished, reconciled summary."""
    start = time.perf_counter()
    job = job_plan.job
    partial = PartialRun(job.output)
    tables = _tables(job)
    committed = start_or_resume(partial, job_plan.shards, shard_settings(job_plan), tables,
                                job.resume, job.output)
    result, attempts = _annotate_shards(job_plan, test_pipeline, partial, tables, committed)
    manifests = partial.committed(job_plan.shards, tables)
    missing = [shard.name for shard in job_plan.shards if shard.name not in manifests]
    if missing:
        raise RuntimeError(f"{len(missing)} shard(s) were not committed (e.g. {missing[0]}); "
                           f"--output {job.output!r} was left as it was: rerun with --resume.")
    files = {table: [job_plan.staged(table, shard.name + ".parquet")
                     for shard in job_plan.shards] for table in tables}
    for table in tables:
        move_table(partial, table, job_plan.staged(table))
    write_json(job_plan.staged(SUMMARY_NAME), _shard_summary(job_plan, manifests, files))
    summary = finish_summary(job_plan, time.perf_counter() - start, result)
    summary["shards"] = {"total": len(job_plan.shards), "resumed_from": len(committed),
                         "attempts": attempts}
    write_json(job_plan.staged(SUMMARY_NAME), summary)
    if not summary["reconciled"]:
        raise RuntimeError(f"Counts do not reconcile: {summary['counts']}; --output "
                           f"{job_plan.job.output!r} was left as it was.")
    return summary


def _annotate_shards(job_plan: JobPlan, test_pipeline: Optional[beam.Pipeline],
                     partial: PartialRun, tables: List[str], committed: Dict[str, Any]):
    """Run pipelines over the shards not committed yet: again, over those still left,
    when one fails (a worker process lost mid-bundle fails a local runner's whole job),
    up to --retries times (shards.run_with_retries; a TestPipeline runs once). Returns
    (the last pipeline result, the number of attempts)."""

    def attempt(todo: List[Shard]):
        p = test_pipeline if test_pipeline is not None else beam.Pipeline(
            options=job_plan.options)
        build_pipeline(p, job_plan, todo)
        result = p.run()
        result.wait_until_finish()
        return result

    return run_with_retries(job_plan.shards, partial, tables, committed, attempt,
                            job_plan.job.retries, once=test_pipeline is not None)


def _tables(job: AnnotateOptions) -> List[str]:
    return ["annotations", "dead_letter"] + (["tensors"] if job.tensors != "none" else [])


def _shard_summary(plan: JobPlan, manifests: Dict[str, Dict[str, Any]],
                   files: Dict[str, List[str]]) -> Dict[str, Any]:
    """run_summary.json from the shards' manifests (the same, resumed or not)."""
    read = blank = docs = tokens = chars = 0
    seconds = 0.0
    by_reason: Counter = Counter()
    for manifest in manifests.values():
        counts = manifest["counts"]
        read += counts["read"]
        blank += counts["blank_lines"]
        docs += counts["annotated"]
        tokens += counts["tokens"]
        chars += counts["chars"]
        seconds += counts["annotate_seconds"]
        by_reason.update(counts["dead_letter_by_reason"])
    final = plan.out.final_path
    return make_summary(_static(plan), (read, blank), (docs, tokens, chars, seconds),
                        dict(by_reason), [final(f) for f in files["annotations"]],
                        [final(f) for f in files["dead_letter"]])


def main(argv: Optional[Sequence[str]] = None) -> int:
    return job_runner.main(argv, run, report_lines, help_parser)


def report_lines(summary: Dict[str, Any]) -> List[str]:
    """What `main` prints at the end: the reconciled counts, where each output is, speed."""
    counts = summary["counts"]
    reasons = ", ".join(f"{k}: {v}" for k, v in counts["dead_letter_by_reason"].items())
    check = "reconciled" if summary["reconciled"] else "NOT RECONCILED"
    lines = [f"read {counts['read']} records = {counts['annotated']} annotated + "
             f"{counts['dead_lettered']} dead-lettered ({check})",
             f"  dead letters by reason: {reasons or 'none'}"]
    files = summary.get("files", {})
    lines.append(f"annotations:  {_where(summary, 'annotations', files)} "
                 f"({counts['annotated']} rows)")
    lines.append(f"dead letters: {_where(summary, 'dead_letter', files)} "
                 f"({counts['dead_lettered']} rows)")
    if "tensors" in summary:
        written = summary["tensors"]
        lines.append(f"tensors:      {_where(summary, 'tensors', files)} ({written['kind']}, "
                     f"{written['dtype']}: {written['bytes_written'] / 1e6:.1f} MB, "
                     f"{written['mb_per_second']} MB/s)")
    lines.append(f"run summary:  {FileSystems.join(summary['output'], SUMMARY_NAME)}")
    peaks = summary.get("peak_rss_mb")
    if peaks:
        workers = peaks["workers"]
        most = f", workers up to {max(workers.values())} MiB ({len(workers)} processes)" \
            if workers else ""
        lines.append(f"peak RSS:     launcher {peaks['launcher']} MiB{most}")
    lines.append(f"{summary['per_wall_second']['docs']:.0f} docs/s, "
                 f"{summary['per_wall_second']['words']:.0f} words/s "
                 f"({summary['wall_seconds']:.1f} s, pipeline {summary['model']['name']} "
                 f"{summary['model']['version']})")
    return lines


def _where(summary: Dict[str, Any], table: str, files: Dict[str, List[str]]) -> str:
    """The table's file when there is one, else its glob and the number of files."""
    paths = files.get(table)
    if paths and len(paths) == 1:
        return paths[0]
    glob = FileSystems.join(summary["output"], table, "part-*.parquet")
    return f"{glob} ({len(paths)} files)" if paths else glob


if __name__ == "__main__":
    sys.exit(main())
