"""The vector-conversion job: a word-vector file into the pipeline directory that
`python -m nlp_core init vectors` writes, on any Beam runner.

    python -m beam_jobs.convert_vectors --input glove.6B.50d.txt --output out/ --prune 20000

Steps (the annotate job's shape: plan, build_pipeline, run, main):

    ReadLines      text vector files in byte ranges (compressed: whole), each line with its
                   (file, byte offset) position (vector_rows.py)
    ParseRows      lines -> RowBlocks (word, key, float32 vector) and dead letters
    GroupBuckets   rows by 4 MiB position buckets, sorted (vector_table.py)
    SelectRows     one worker, keys only: the first occurrence of each key, each bucket's
                   first rank, the --truncate cut
    RankRows       distinct rows with their rank: the table (rank < --prune) and the rest
    NearestRows    with --prune: the kept table as a side input, the others in batches ->
                   nearest kept row by cosine
    WriteTable     one writer: the table into a preallocated .npy memory map by rank, then
                   the files as `init vectors` writes them (vector_writer.py)
    WriteDeadLetters, WriteSummary   vector_dead_letter Parquet, run_summary.json

The pipeline writes into a staging area beside --output; `run` locks --output and swaps the
new output in once the run has succeeded and its counts reconcile (output_dir.py).
"""
import sys
import time
from typing import Any, Dict, List, NamedTuple, Optional, Sequence

import apache_beam as beam
import pyarrow as pa
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from nlp_core.vectors_reading import VectorFileError, VectorFileReader
from schemas import vector_dead_letter

from . import job_runner, output_dir
from .io import match_inputs
from .output_dir import OutputDir
from .parquet import WriteParquet
from .summary import SUMMARY_NAME, read_json, tuple_sum, write_json
from .vector_memory import note_peak_rss, peak_rss_by_worker, peak_rss_kib
from .vector_options import ConvertVectorsOptions, help_parser, job_option_names, parse_options
from .vector_rows import VectorDeadLetter, VectorLinesSource, parse_chunk
from .vector_table import (
    NearestRows,
    RankRows,
    assemble_kept,
    bucket_keys,
    merge_bucket,
    select_rows,
    split_buckets,
)
from .vector_writer import PIPELINE_ENTRIES, TableSettings, WriteTable

DEAD_TABLE = vector_dead_letter.NAME
ENTRIES = PIPELINE_ENTRIES + (DEAD_TABLE, SUMMARY_NAME)
DEAD_LETTER_BATCH = 1000
FIRST_BAD = 5


class JobPlan(NamedTuple):
    """Everything decided before the pipeline is built."""

    options: PipelineOptions
    job: ConvertVectorsOptions
    paths: List[str]
    format: str
    dims: int
    out: OutputDir
    desired_bundle_size: Optional[int] = None  # tests: small, to split files

    def staged(self, *parts: str) -> str:
        return self.out.staged(*parts)


class ConvertOutputs(NamedTuple):
    rows: beam.PCollection         # Ranked pieces of the table (rank < --prune, or all)
    remapped: beam.PCollection     # Ranked pieces with their nearest kept row (--prune)
    dead_letters: beam.PCollection  # VectorDeadLetter
    written: beam.PCollection      # the writer's counts dict
    summary: beam.PCollection      # the run_summary dict


def plan(argv: Sequence[str], desired_bundle_size: Optional[int] = None) -> JobPlan:
    """Parse and check the options, the input files (each file's first line gives its
    format and width, as `init vectors` reads it; all must agree) and the output
    directory. Writes nothing.

    Raises:
        ValueError / OSError: naming the flag or file to fix.
    """
    options = parse_options(argv)
    job = options.view_as(ConvertVectorsOptions)
    paths = match_inputs(job.input)
    formats = []
    for path in paths:
        try:
            with VectorFileReader(path, mode=job.mode) as reader:
                formats.append((reader.info.format, reader.info.dims, path))
        except VectorFileError as err:
            raise ValueError(f"--input {job.input!r}: {err}") from None
    kind, dims, first = formats[0]
    for other_kind, other_dims, path in formats[1:]:
        if (other_kind, other_dims) != (kind, dims):
            raise ValueError(f"--input {job.input!r}: {first} is {kind} of width {dims} but "
                             f"{path} is {other_kind} of width {other_dims}: convert files "
                             "of one format and width together.")
    if kind not in ("word2vec-text", "glove-text"):
        raise ValueError(f"--input {job.input!r}: {first} is {kind}; the job reads word2vec "
                         "text, fastText .vec and GloVe text. Convert it with `python -m "
                         "nlp_core init vectors` instead.")
    output_dir.check_output(job.output, job.overwrite, ENTRIES)
    out = output_dir.staging_for(job.output, output_dir.new_run_id())
    return JobPlan(options, job, paths, kind, dims, out, desired_bundle_size)


class ParseRows(beam.DoFn):
    """LineChunk -> (bucket, RowBlock) pieces; outputs DEAD (VectorDeadLetter) and COUNTS
    ((non-blank lines read, blank lines) per chunk)."""

    DEAD = "dead"
    COUNTS = "counts"

    def __init__(self, dims: int):
        self.dims = dims

    def process(self, chunk):
        block, dead = parse_chunk(chunk, self.dims)
        yield beam.pvalue.TaggedOutput(self.COUNTS, (len(chunk.items) + sum(
            1 for letter in chunk.dead if letter.error_type == "line_too_long"),
            chunk.n_blank))
        for letter in dead:
            yield beam.pvalue.TaggedOutput(self.DEAD, letter)
        yield from split_buckets(block)
        note_peak_rss()


def _measured(element, function, *args):
    """`function(element, *args)`, then this worker's peak RSS noted (vector_memory.py)."""
    result = function(element, *args)
    note_peak_rss()
    return result


def _settings(plan: JobPlan) -> TableSettings:
    job = plan.job
    source = plan.paths[0] if len(plan.paths) == 1 else job.input
    return TableSettings(job.lang, plan.dims, job.prune, job.name or f"{job.lang}_pipeline"
                         ".vectors", job.attr, source)


def build_pipeline(p: beam.Pipeline, plan: JobPlan) -> ConvertOutputs:
    """Add the job's transforms to `p` (see the module docstring)."""
    job = plan.job
    dims = plan.dims
    source = VectorLinesSource(job.input, plan.paths, header=plan.format == "word2vec-text",
                               dims=dims, desired_bundle_size=plan.desired_bundle_size)
    parsed = (p
              | "ReadLines" >> beam.io.Read(source)
              | "ParseRows" >> beam.ParDo(ParseRows(dims)).with_outputs(
                  ParseRows.DEAD, ParseRows.COUNTS, main="rows"))
    buckets = (parsed.rows
               | "GroupBuckets" >> beam.GroupByKey()
               | "SortBuckets" >> beam.Map(_measured, merge_bucket, dims))
    selection = (buckets
                 | "BucketKeys" >> beam.Map(bucket_keys)
                 | "CollectKeys" >> beam.combiners.ToList()
                 | "SelectRows" >> beam.Map(_measured, select_rows, job.truncate))
    ranked = (buckets
              | "RankRows" >> beam.ParDo(RankRows(job.prune),
                                         beam.pvalue.AsSingleton(selection))
              .with_outputs(RankRows.REMAP, main="table"))
    if job.prune:
        kept = (ranked.table
                | "CollectKept" >> beam.combiners.ToList()
                | "AssembleKept" >> beam.Map(lambda pieces, sel: _measured(
                    pieces, assemble_kept, min(sel.n_distinct, job.prune), dims),
                    beam.pvalue.AsSingleton(selection)))
        remapped = (ranked[RankRows.REMAP]
                    | "NearestRows" >> beam.ParDo(NearestRows(job.batch_size),
                                                  beam.pvalue.AsSingleton(kept)))
    else:
        remapped = p | "NothingToRemap" >> beam.Create([])
    written = ((ranked.table, remapped)
               | "AllRows" >> beam.Flatten()
               | "ToOneWriter" >> beam.Map(lambda piece: (None, piece))
               | "GatherRows" >> beam.GroupByKey()
               | "WriteTable" >> beam.ParDo(WriteTable(plan.out.staging, _settings(plan)),
                                            beam.pvalue.AsSingleton(selection)))
    dead = parsed[ParseRows.DEAD]
    dead_files = (dead
                  | "BatchDeadLetters" >> beam.BatchElements(
                      min_batch_size=DEAD_LETTER_BATCH, max_batch_size=DEAD_LETTER_BATCH)
                  | "DeadLettersToArrow" >> beam.Map(dead_letters_to_record_batch)
                  | "WriteDeadLetters" >> WriteParquet(plan.staged(DEAD_TABLE, "part"),
                                                       vector_dead_letter.SCHEMA))
    read_total = parsed[ParseRows.COUNTS] | "SumReads" >> beam.CombineGlobally(tuple_sum(2))
    by_reason = (dead
                 | "Reasons" >> beam.Map(lambda letter: letter.error_type)
                 | "CountReasons" >> beam.combiners.Count.PerElement())
    first_bad = (dead
                 | "FirstBad" >> beam.combiners.Top.Smallest(
                     FIRST_BAD, key=lambda letter: (letter.source, letter.offset)))
    summary = (p
               | "Once" >> beam.Create([None])
               | "WriteSummary" >> beam.Map(
                   _write_summary, plan.staged(SUMMARY_NAME), _static(plan),
                   plan.out.final_path, beam.pvalue.AsSingleton(read_total),
                   beam.pvalue.AsDict(by_reason), beam.pvalue.AsSingleton(written),
                   beam.pvalue.AsList(dead_files), beam.pvalue.AsSingleton(first_bad)))
    return ConvertOutputs(ranked.table, remapped, dead, written, summary)


def dead_letters_to_record_batch(letters: Sequence[VectorDeadLetter]) -> pa.RecordBatch:
    """One `vector_dead_letter` row per letter."""
    columns = list(zip(*letters)) if letters else [[] for _ in VectorDeadLetter._fields]
    arrays = [pa.array(list(values), type=vector_dead_letter.SCHEMA.field(name).type)
              for name, values in zip(VectorDeadLetter._fields, columns)]
    return pa.RecordBatch.from_arrays(arrays, schema=vector_dead_letter.SCHEMA)


def _static(plan: JobPlan) -> Dict[str, Any]:
    job = plan.job
    names = set(job_option_names())
    return {"job": "beam_jobs.convert_vectors", "input": job.input,
            "input_files": len(plan.paths), "input_format": plan.format, "dims": plan.dims,
            "output": job.output,
            "schemas": {vector_dead_letter.NAME: vector_dead_letter.VERSION},
            "runner": str(plan.options.view_as(StandardOptions).runner),
            "options": {k: v for k, v in job.get_all_options().items() if k in names}}


def _write_summary(_, path, static, final_path, read_total, by_reason, written, dead_files,
                   first_bad) -> Dict[str, Any]:
    n_read, n_blank = read_total
    n_dead = sum(by_reason.values())
    counts = {"lines_read": n_read, "rows_kept": written["rows_kept"],
              "rows_remapped": written["rows_remapped"], "dead_lettered": n_dead,
              "duplicate_keys": written["duplicates"], "truncated": written["truncated"],
              "dead_letter_by_reason": dict(sorted(by_reason.items())),
              "blank_lines": n_blank, "keys": written["keys"]}
    summary = dict(static)
    summary["counts"] = counts
    summary["reconciled"] = n_read == (counts["rows_kept"] + counts["rows_remapped"] + n_dead
                                       + counts["duplicate_keys"] + counts["truncated"])
    summary["first_bad_lines"] = [
        {"source": letter.source, "line": letter.line,
         "offset": letter.offset, "error_type": letter.error_type, "message": letter.message}
        for letter in first_bad]
    summary["files"] = {DEAD_TABLE: sorted(final_path(f) for f in dead_files)}
    write_json(path, summary)
    return summary


def run(argv: Optional[Sequence[str]] = None, test_pipeline: Optional[beam.Pipeline] = None,
        *, desired_bundle_size: Optional[int] = None) -> Dict[str, Any]:
    """Run the job to completion and return its run summary.

    Args:
        argv: command-line flags (default: sys.argv[1:]).
        test_pipeline: a pipeline to build into instead of one made from `argv`.
        desired_bundle_size: bytes per initial split of a plain file (tests).

    Raises:
        OutputInUse: when another run holds --output's lock.
        ValueError: bad lines without --skip-bad-lines (naming the first ones); the new
            output is then not committed.
        RuntimeError: when the counts do not reconcile (a bug).
    """
    job_plan = plan(sys.argv[1:] if argv is None else argv, desired_bundle_size)
    return job_runner.run_committed(job_plan.job.output, job_plan.out,
                                    lambda: _run_staged(job_plan, test_pipeline), ENTRIES)


def _run_staged(job_plan: JobPlan, test_pipeline: Optional[beam.Pipeline]) -> Dict[str, Any]:
    start = time.perf_counter()
    p = test_pipeline if test_pipeline is not None else beam.Pipeline(options=job_plan.options)
    build_pipeline(p, job_plan)
    result = p.run()
    result.wait_until_finish()
    path = job_plan.staged(SUMMARY_NAME)
    summary = read_json(path)
    summary["wall_seconds"] = round(time.perf_counter() - start, 3)
    summary["peak_rss_mb"] = {"launcher": round(peak_rss_kib() / 1024, 1),
                              "workers": peak_rss_by_worker(result)}
    write_json(path, summary)
    counts = summary["counts"]
    if counts["dead_lettered"] and not job_plan.job.skip_bad_lines:
        first = "; ".join(f"{b['source']} line {b['line']} (byte {b['offset']}): "
                          f"{b['message']}" for b in summary["first_bad_lines"])
        raise ValueError(f"--input {job_plan.job.input!r}: {counts['dead_lettered']} bad "
                         f"line(s), e.g. {first}. Fix them, or pass --skip-bad-lines to "
                         "dead-letter them and convert the rest; --output was left as it "
                         "was.")
    if not summary["reconciled"]:
        raise RuntimeError(f"Counts do not reconcile: {counts}; --output "
                           f"{job_plan.job.output!r} was left as it was.")
    return summary


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
