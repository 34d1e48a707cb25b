"""The vector-conversion job: a word-vector file into the pipeline directory that
`python -m nlp_core init vectors` writes, on any Beam runner.

    python -m beam_jobs.convert_vectors --input glove.6B.50d.txt --output out/ --prune 20000

Steps (the annotate job's shape: plan, build_pipeline, run, main). The input is cut into
shards (a plain file in --shard-mb byte ranges, a compressed or binary file whole) and read
in three passes, each committed per shard to the partial area beside --output
(vector_shards.py), so that rows cross the runner only as files and a killed run resumes
(--resume) where it stopped:

    ParseKeys      each shard's lines parsed -> the good rows' (position, key) and dead
                   letters (vector_rows.py: a row's position is its file and byte offset)
    SelectRows     one worker, positions and keys only: the first occurrence of each key
                   and the --truncate cut -> the distinct rows' positions (a row's rank is
                   its index there)
    KeptRows       the shards again: the rows of rank < --prune (or all) with vectors
    AssembleKept   with --prune, one worker: the kept table by rank (kept_table.npy)
    RemapRows      with --prune, the shards a third time, the kept table loaded once per
                   worker: every other row -> nearest kept row by cosine (rank, row, score)

Then, in the launcher, the one writer streams the shards' rows into the table by rank and
writes the files as `init vectors` writes them (vector_writer.py); the dead letters'
Parquet files and run_summary.json come from the shards' manifests. The output is staged
beside --output; `run` locks --output and swaps it in once the run has succeeded and its
counts reconcile (output_dir.py), then the partial area goes.
"""
import logging
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from nlp_core.cli.init_vectors import check_options
from nlp_core.errors import Errors
from nlp_core.vectors_reading import VectorFileError, VectorFileReader
from schemas import vector_dead_letter

from . import job_runner, output_dir
from .io import match_inputs
from .output_dir import OutputDir
from .records import DOCBIN, JSONL
from .shards import PartialRun, Shard, check_partial, plan_shards, rename, run_with_retries
from .summary import SUMMARY_NAME, read_json, write_json
from .vector_memory import idle_rss_by_worker, peak_rss_by_worker, peak_rss_kib
from .vector_options import ConvertVectorsOptions, help_parser, job_option_names, parse_options
from .vector_shards import (
    KEPT,
    KEYS,
    REMAPPED,
    KeptShard,
    ParseKeys,
    RemapShard,
    ShardReader,
    VectorPartial,
    assemble_kept_step,
    ranked_pieces,
    select_step,
)
from .vector_writer import PIPELINE_ENTRIES, TableCounts, TableSettings, write_table

DEAD_TABLE = vector_dead_letter.NAME
ENTRIES = PIPELINE_ENTRIES + (DEAD_TABLE, SUMMARY_NAME)
FIRST_BAD = 5
FORMATS = ("word2vec-text", "glove-text", "word2vec-binary", "floret-text")

__all__ = ["plan", "build_pipeline", "run", "main", "report_lines", "peak_rss_kib"]


class JobPlan(NamedTuple):
    """Everything decided before the pipeline is built."""

    options: PipelineOptions
    job: ConvertVectorsOptions
    paths: List[str]
    format: str
    dims: int
    out: OutputDir
    shards: Tuple[Shard, ...]
    declared: Tuple[Optional[int], ...] = ()   # each file's header row count (or None)
    floret: Optional[Dict[str, Any]] = None    # floret mode: the header's settings

    def staged(self, *parts: str) -> str:
        return self.out.staged(*parts)

    @property
    def reader(self) -> ShardReader:
        return ShardReader(self.job.input, tuple(self.paths), self.dims,
                           self.format == "word2vec-binary", self.format != "glove-text")


class ConvertOutputs(NamedTuple):
    keys: beam.PCollection         # each shard's pass-1 manifest (counts, files)
    selection: beam.PCollection    # one SelectionInfo
    kept: beam.PCollection         # each shard's pass-2 manifest
    remapped: beam.PCollection     # each shard's pass-3 manifest (empty without --prune)


def plan(argv: Sequence[str], desired_bundle_size: Optional[int] = None) -> JobPlan:
    """Parse and check the options, the input files (each file's first line gives its
    format and width, as `init vectors` reads it; all must agree), the output directory
    and a partial run there (--resume / --overwrite). Writes nothing.

    Args:
        desired_bundle_size: bytes per shard of a plain file (tests: small, to cut files
            into many shards); default --shard-mb.

    Raises:
        ValueError / OSError: naming the flag or file to fix.
    """
    options = parse_options(argv)
    job = options.view_as(ConvertVectorsOptions)
    # the command's own checks (floret mode takes no --prune / --truncate /
    # --skip-bad-lines); the output directory is checked below, for any file system
    try:
        check_options(mode=job.mode, prune=job.prune, truncate=job.truncate,
                      batch_size=None, skip_bad_lines=job.skip_bad_lines,
                      output_dir=Path("/nonexistent/-"))
    except ValueError as err:
        raise ValueError(str(err).replace("init vectors: ", "", 1)) from None
    paths = sorted(match_inputs(job.input))
    infos = []
    for path in paths:
        try:
            with VectorFileReader(path, mode=job.mode) as reader:
                infos.append(reader.info)
        except VectorFileError as err:
            raise ValueError(f"--input {job.input!r}: {err}") from None
    first = infos[0]
    for info in infos[1:]:
        if (info.format, info.dims) != (first.format, first.dims):
            raise ValueError(f"--input {job.input!r}: {first.path} is {first.format} of "
                             f"width {first.dims} but {info.path} is {info.format} of width "
                             f"{info.dims}: convert files of one format and width together.")
    if first.format not in FORMATS:  # a format added to the reader but not to the job
        raise ValueError(f"--input {job.input!r}: {first.path} is {first.format}, which "
                         "the job does not read; convert it with `python -m nlp_core init "
                         "vectors`.")
    if first.format == "floret-text" and len(paths) > 1:
        raise ValueError(f"--input {job.input!r} matches {len(paths)} files; a floret table "
                         "is one file (its header gives the rows and hashing settings).")
    resuming = check_partial(job.output, job.resume, job.overwrite)
    # a partial run being resumed was allowed to replace --output when it started
    output_dir.check_output(job.output, job.overwrite or resuming, ENTRIES)
    out = output_dir.staging_for(job.output, output_dir.new_run_id())
    shard_bytes = desired_bundle_size or job.shard_mb << 20
    kind = DOCBIN if first.format == "word2vec-binary" else JSONL  # binary: whole files
    shards = tuple(plan_shards(paths, kind, shard_bytes))
    job_plan = JobPlan(options, job, paths, first.format, first.dims, out, shards,
                       tuple(info.rows for info in infos), first.floret)
    if resuming:
        PartialRun(job.output).check_plan(shards, shard_settings(job_plan), job.output)
    return job_plan


def shard_settings(plan: JobPlan) -> Dict[str, Any]:
    """What shapes the shards' results: a partial run resumes only with the same."""
    job = plan.job
    return {"job": "beam_jobs.convert_vectors", "format": plan.format, "dims": plan.dims,
            "mode": job.mode, "prune": job.prune, "truncate": job.truncate,
            "batch_size": job.batch_size,
            "files": [[path, declared] for path, declared in zip(plan.paths, plan.declared)]}


def _settings(plan: JobPlan) -> TableSettings:
    job = plan.job
    source = plan.paths[0] if len(plan.paths) == 1 else job.input
    return TableSettings(job.lang, plan.dims, job.prune, job.name or f"{job.lang}_pipeline"
                         ".vectors", job.attr, source, plan.floret)


def build_pipeline(p: beam.Pipeline, plan: JobPlan) -> ConvertOutputs:
    """Add the job's transforms to `p` (see the module docstring). Every shard goes
    through every step; a step whose result a shard committed earlier passes its manifest
    on without redoing it."""
    job = plan.job
    output = job.output
    reader = plan.reader

    def shards(label: str) -> beam.PCollection:
        return (p | f"{label}Shards" >> beam.Create(list(plan.shards))
                | f"{label}ToWorkers" >> beam.Reshuffle())

    keys = shards("Keys") | "ParseKeys" >> beam.ParDo(ParseKeys(output, reader))
    selection = (keys
                 | "CollectKeyFiles" >> beam.combiners.ToList()
                 | "SelectRows" >> beam.Map(select_step, output, job.prune, job.truncate))
    selected = beam.pvalue.AsSingleton(selection)
    kept = shards("Kept") | "KeptRows" >> beam.ParDo(KeptShard(output, reader, job.prune),
                                                     selected)
    if job.prune:
        table = (kept
                 | "CollectKeptFiles" >> beam.combiners.ToList()
                 | "AssembleKept" >> beam.Map(assemble_kept_step, output, selected,
                                              job.prune, plan.dims))
        remapped = shards("Remap") | "RemapRows" >> beam.ParDo(
            RemapShard(output, reader, job.prune, job.batch_size), selected,
            beam.pvalue.AsSingleton(table))
    else:
        remapped = p | "NothingToRemap" >> beam.Create([])
    return ConvertOutputs(keys, selection, kept, remapped)


def _static(plan: JobPlan) -> Dict[str, Any]:
    job = plan.job
    names = set(job_option_names())
    return {"job": "beam_jobs.convert_vectors", "input": job.input,
            "input_files": len(plan.paths), "input_format": plan.format, "dims": plan.dims,
            "output": job.output,
            "schemas": {vector_dead_letter.NAME: vector_dead_letter.VERSION},
            "runner": str(plan.options.view_as(StandardOptions).runner),
            "options": {k: v for k, v in job.get_all_options().items() if k in names}}


def make_summary(plan: JobPlan, keys: List[Dict[str, Any]], written: Dict[str, Any],
                 dead_files: List[str]) -> Dict[str, Any]:
    """run_summary.json from the shards' pass-1 manifests and the writer's counts (the
    same whether the run was resumed or not)."""
    read_by_file: Dict[int, List[int]] = {}
    by_reason: Dict[str, int] = {}
    first_bad: List[Dict[str, Any]] = []
    for manifest in keys:
        counts = read_by_file.setdefault(manifest["file_index"], [0, 0])
        counts[0] += manifest["lines_read"]
        counts[1] += manifest["blank_lines"]
        for reason, n in manifest["dead_letter_by_reason"].items():
            by_reason[reason] = by_reason.get(reason, 0) + n
        first_bad += manifest["first_bad"]
    first_bad = sorted(first_bad, key=lambda b: (b["source"], b["offset"]))[:FIRST_BAD]
    n_read = sum(read for read, _ in read_by_file.values())
    n_blank = sum(blank for _, blank in read_by_file.values())
    n_dead = sum(by_reason.values())
    counts = {"lines_read": n_read, "rows_kept": written["rows_kept"],
              "rows_remapped": written["rows_remapped"], "dead_lettered": n_dead,
              "duplicate_keys": written["duplicates"], "truncated": written["truncated"],
              "dead_letter_by_reason": dict(sorted(by_reason.items())),
              "blank_lines": n_blank, "keys": written["keys"]}
    summary = _static(plan)
    summary["counts"] = counts
    if "floret_index_errors" in written:
        summary["floret_index_errors"] = written["floret_index_errors"]
    summary["reconciled"] = n_read == (counts["rows_kept"] + counts["rows_remapped"] + n_dead
                                       + counts["duplicate_keys"] + counts["truncated"])
    # like `init vectors` (E086): a header's row count is checked against the rows (good
    # and bad, not blank lines) that follow it, unless --truncate stopped the reading
    summary["header_rows"] = [
        {"source": source, "declared": declared,
         "lines_read": read_by_file.get(i, (0, 0))[0]}
        for i, (source, declared) in enumerate(zip(plan.paths, plan.declared))
        if declared is not None]
    summary["first_bad_lines"] = [
        {"source": b["source"], "line": b["line"], "offset": b["offset"],
         "error_type": b["error_type"], "message": b["message"]} for b in first_bad]
    summary["files"] = {DEAD_TABLE: sorted(plan.out.final_path(f) for f in dead_files)}
    return summary


def run(argv: Optional[Sequence[str]] = None, test_pipeline: Optional[beam.Pipeline] = None,
        *, desired_bundle_size: Optional[int] = None) -> Dict[str, Any]:
    """Run the job to completion and return its run summary.

    Args:
        argv: command-line flags (default: sys.argv[1:]).
        test_pipeline: a pipeline to build into instead of one made from `argv`.
        desired_bundle_size: bytes per shard of a plain file (tests).

    --output changes only when the run succeeds; each shard's passes are committed to the
    partial area beside it as they are done, so whatever ends a run early (an error,
    KeyboardInterrupt, SIGKILL) leaves --output as it was and the committed work for a
    rerun with --resume.

    Raises:
        OutputInUse: when another run holds --output's lock.
        ValueError: bad lines without --skip-bad-lines (naming the first ones); the new
            output is then not committed.
        RuntimeError: when the counts do not reconcile (a bug).
    """
    job_plan = plan(sys.argv[1:] if argv is None else argv, desired_bundle_size)
    return job_runner.run_committed(job_plan.job.output, job_plan.out,
                                    lambda: _run_staged(job_plan, test_pipeline), ENTRIES,
                                    after_commit=PartialRun(job_plan.job.output).discard)


def _run_staged(job_plan: JobPlan, test_pipeline: Optional[beam.Pipeline]) -> Dict[str, Any]:
    """The shards' passes into the partial area (what is committed there already is
    kept with --resume), then the table and the summary into the staging area."""
    start = time.perf_counter()
    job = job_plan.job
    partial = VectorPartial(job.output, _steps(job))
    settings = shard_settings(job_plan)
    resumed = 0
    if job.resume and partial.has_committed():
        partial.check_plan(list(job_plan.shards), settings, job.output)
        resumed = sum(partial.manifest(shard, step) is not None
                      for shard in job_plan.shards for step in partial.steps)
        logging.warning("--resume: %d of %d shard steps were committed by an earlier run; "
                        "doing the others", resumed, len(job_plan.shards) * len(partial.steps))
    else:
        partial.discard()
        partial.start(list(job_plan.shards), settings)

    def run_once(_todo):
        p = test_pipeline if test_pipeline is not None else beam.Pipeline(
            options=job_plan.options)
        build_pipeline(p, job_plan)
        result = p.run()
        result.wait_until_finish()
        return result

    result, attempts = run_with_retries(list(job_plan.shards), partial, (), {}, run_once,
                                        job.retries, once=test_pipeline is not None,
                                        run_when_done=True)
    manifests = {step: [partial.manifest(shard, step) for shard in job_plan.shards]
                 for step in _steps(job)}
    missing = [(step, shard.name) for step, found in manifests.items()
               for shard, manifest in zip(job_plan.shards, found) if manifest is None]
    if missing:
        raise RuntimeError(f"{len(missing)} shard step(s) were not committed (e.g. "
                           f"{missing[0][1]}, {missing[0][0]}); --output {job.output!r} was "
                           "left as it was: rerun with --resume.")
    selection = read_json(partial.path("selection.json"))
    counts = TableCounts(selection["n_distinct"], selection["duplicates"],
                         selection["truncated"])
    if counts.n_distinct:
        written = write_table(
            job_plan.out.staging,
            lambda: ranked_pieces(manifests[KEPT], KEPT, job_plan.dims),
            lambda: ranked_pieces(manifests.get(REMAPPED, []), REMAPPED, job_plan.dims),
            counts, _settings(job_plan))
    else:  # every line bad: the run fails below (E082)
        written = {"rows_kept": 0, "rows_remapped": 0, "keys": 0,
                   "duplicates": counts.duplicates, "truncated": counts.truncated}
    moves = [(source, job_plan.staged(DEAD_TABLE, source.replace("\\", "/").rsplit("/", 1)[-1]))
             for source in (m["files"].get(DEAD_TABLE) for m in manifests[KEYS]) if source]
    dead_files = [target for _, target in moves]
    summary = make_summary(job_plan, manifests[KEYS], written, dead_files)
    summary["wall_seconds"] = round(time.perf_counter() - start, 3)
    summary["shards"] = {"total": len(job_plan.shards), "steps_resumed": resumed,
                         "attempts": attempts}
    summary["peak_rss_mb"] = {"launcher": round(peak_rss_kib() / 1024, 1),
                              "workers": peak_rss_by_worker(result),
                              "workers_idle": idle_rss_by_worker(result)}
    path = job_plan.staged(SUMMARY_NAME)
    write_json(path, summary)
    counts = summary["counts"]
    _check_headers(job_plan, summary)
    if counts["dead_lettered"] and not job.skip_bad_lines:
        first = "; ".join(f"{b['source']} line {b['line']} (byte {b['offset']}): "
                          f"{b['message']}" for b in summary["first_bad_lines"])
        raise ValueError(f"--input {job.input!r}: {counts['dead_lettered']} bad "
                         f"line(s), e.g. {first}. Fix them, or pass --skip-bad-lines to "
                         "dead-letter them and convert the rest (with --resume: the lines "
                         "already parsed are not parsed again); --output was left as it "
                         "was.")
    if not counts["rows_kept"]:
        raise ValueError(Errors.E082.format(path=job.input, detail=(
            f"none of its {counts['lines_read']} lines is a good row (see "
            f"{DEAD_TABLE}/ in a run with --skip-bad-lines)")) + " --output was left as "
            "it was.")
    if not summary["reconciled"]:
        raise RuntimeError(f"Counts do not reconcile: {counts}; --output "
                           f"{job.output!r} was left as it was.")
    # last: a run that failed above keeps its dead letters in the partial area
    for source, target in moves:
        rename(source, target)
    return summary


def _steps(job: ConvertVectorsOptions) -> Tuple[str, ...]:
    """The passes each shard goes through."""
    return (KEYS, KEPT, REMAPPED) if job.prune else (KEYS, KEPT)


def _check_headers(job_plan: JobPlan, summary: Dict[str, Any]) -> None:
    """E086 as `init vectors` raises it: a file whose header gives another number of rows
    than follow it (checked only when the whole file was read: not when --truncate cut
    it); in floret mode also E080 for bucket indices out of order or repeated."""
    counts = summary["counts"]
    truncate = job_plan.job.truncate
    if not (truncate and counts["keys"] >= truncate):
        for entry in summary["header_rows"]:
            if entry["declared"] != entry["lines_read"]:
                raise ValueError(Errors.E086.format(path=entry["source"],
                                                    declared=entry["declared"],
                                                    got=entry["lines_read"])
                                 + " --output was left as it was.")
    if job_plan.floret is not None:
        wrong = summary.get("floret_index_errors") or []
        if counts["duplicate_keys"] or wrong:
            where, reason = (wrong[0] if wrong else (
                "its rows", f"{counts['duplicate_keys']} bucket indices repeat"))
            raise ValueError(Errors.E080.format(path=job_plan.paths[0], where=where,
                                                reason=reason)
                             + " --output was left as it was.")


def report_lines(summary: Dict[str, Any]) -> List[str]:
    """What `main` prints: the reconciled counts and where the outputs are."""
    c = summary["counts"]
    check = "reconciled" if summary["reconciled"] else "NOT RECONCILED"
    lines = [f"read {c['lines_read']} lines = {c['rows_kept']} rows kept + "
             f"{c['rows_remapped']} remapped + {c['dead_lettered']} dead-lettered + "
             f"{c['duplicate_keys']} duplicate keys + {c['truncated']} past --truncate "
             f"({check})",
             f"table: {c['rows_kept']} x {summary['dims']}, {c['keys']} keys in "
             f"{summary['output']}",
             f"{summary['wall_seconds']:.1f} s"]
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    return job_runner.main(argv, run, report_lines, help_parser)


if __name__ == "__main__":
    sys.exit(main())
