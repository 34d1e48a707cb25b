"""The vector-conversion job: a word-vector file into the pipeline directory that
`python -m nlp_core init vectors` writes, on any Beam runner.

    python -m beam_jobs.convert_vectors --input glove.6B.50d.txt --output out/ --prune 20000

Steps (the annotate job's shape: plan, build_pipeline, run, main); the input is read in
three passes, so that vectors cross the runner only as the kept table and the table's
rows to the one writer (vector_table.py):

    ReadLines      text vector files (word2vec, GloVe, floret) in byte ranges (compressed:
                   whole), each line with its (file, byte offset) position (vector_rows.py);
                   word2vec binary files whole, one file per worker
    ParseRows      lines -> the good rows' (position, key), and dead letters
    SelectRows     one worker, positions and keys only: the first occurrence of each key
                   and the --truncate cut -> the distinct rows' positions (a row's rank is
                   its index there)
    KeptRows       the input again: the rows of rank < --prune (or all) with vectors
    RemapRows      with --prune, the input a third time: the kept table as a side input,
                   every other row -> nearest kept row by cosine (rank, row, score only)
    WriteTable     one writer: the table into a preallocated .npy memory map by rank, then
                   the files as `init vectors` writes them (vector_writer.py)
    WriteDeadLetters, WriteSummary   vector_dead_letter Parquet, run_summary.json

The pipeline writes into a staging area beside --output; `run` locks --output and swaps the
new output in once the run has succeeded and its counts reconcile (output_dir.py).
"""
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import apache_beam as beam
import pyarrow as pa
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from nlp_core.cli.init_vectors import check_options
from nlp_core.errors import Errors
from nlp_core.vectors_reading import VectorFileError, VectorFileReader
from schemas import vector_dead_letter

from . import job_runner, output_dir
from .io import match_inputs
from .output_dir import OutputDir
from .parquet import WriteParquet
from .summary import SUMMARY_NAME, read_json, tuple_sum, write_json
from .vector_memory import (
    note_peak_rss,
    peak_rss_by_worker,
    peak_rss_kib,
    return_freed_memory,
)
from .vector_options import ConvertVectorsOptions, help_parser, job_option_names, parse_options
from .vector_rows import (
    FILE_SHIFT,
    LineChunk,
    RowBlock,
    VectorDeadLetter,
    VectorLinesSource,
    parse_chunk,
    read_binary_file,
)
from .vector_table import (
    KeptRows,
    ParseStep,
    RemapRows,
    Selection,
    assemble_kept,
    key_piece,
    select_rows,
)
from .vector_writer import PIPELINE_ENTRIES, TableSettings, WriteTable

DEAD_TABLE = vector_dead_letter.NAME
ENTRIES = PIPELINE_ENTRIES + (DEAD_TABLE, SUMMARY_NAME)
DEAD_LETTER_BATCH = 1000
FIRST_BAD = 5
FORMATS = ("word2vec-text", "glove-text", "word2vec-binary", "floret-text")
# the writer's counts when no row reached it (every line bad): the run then fails
NOTHING_WRITTEN = {"rows_kept": 0, "rows_remapped": 0, "keys": 0, "duplicates": 0,
                   "truncated": 0}


class JobPlan(NamedTuple):
    """Everything decided before the pipeline is built."""

    options: PipelineOptions
    job: ConvertVectorsOptions
    paths: List[str]
    format: str
    dims: int
    out: OutputDir
    desired_bundle_size: Optional[int] = None  # tests: small, to split files
    declared: Tuple[Optional[int], ...] = ()   # each file's header row count (or None)
    floret: Optional[Dict[str, Any]] = None    # floret mode: the header's settings

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
    # the command's own checks (floret mode takes no --prune / --truncate /
    # --skip-bad-lines); the output directory is checked below, for any file system
    try:
        check_options(mode=job.mode, prune=job.prune, truncate=job.truncate,
                      batch_size=None, skip_bad_lines=job.skip_bad_lines,
                      output_dir=Path("/nonexistent/-"))
    except ValueError as err:
        raise ValueError(str(err).replace("init vectors: ", "", 1)) from None
    paths = match_inputs(job.input)
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
    output_dir.check_output(job.output, job.overwrite, ENTRIES)
    out = output_dir.staging_for(job.output, output_dir.new_run_id())
    return JobPlan(options, job, paths, first.format, first.dims, out, desired_bundle_size,
                   tuple(info.rows for info in infos), first.floret)


class ParseRows(beam.DoFn):
    """Pass 1: a LineChunk (text) or (file index, path) (binary) -> (positions, keys) of
    its good rows; outputs DEAD (VectorDeadLetter) and COUNTS ((file index, (non-blank
    lines read, blank lines)) per element)."""

    DEAD = "dead"
    COUNTS = "counts"

    def __init__(self, dims: int, binary: bool):
        self.dims = dims
        self.binary = binary

    def setup(self):
        return_freed_memory()

    def process(self, element):
        if self.binary:
            file_index, path = element
            parts = read_binary_file(file_index, path, self.dims)
        else:
            file_index = element.file_index
            block, dead = parse_chunk(element, self.dims)
            n_read = len(element.items) + sum(
                1 for letter in element.dead if letter.error_type == "line_too_long")
            parts = [(block, dead, n_read)]
        for block, dead, n_read in parts:
            blank = 0 if self.binary else element.n_blank
            yield beam.pvalue.TaggedOutput(self.COUNTS, (file_index, (n_read, blank)))
            for letter in dead:
                yield beam.pvalue.TaggedOutput(self.DEAD, letter)
            if len(block.keys):
                yield key_piece(block)
            note_peak_rss()


def parse_text(chunk: LineChunk, step, selection: Selection, *, dims: int
               ) -> Iterator[RowBlock]:
    """Passes 2 and 3 on a text chunk: its good rows, unless `step` skips the chunk."""
    if not chunk.items:
        return
    base = chunk.file_index << FILE_SHIFT
    if step.skip(base + chunk.items[0][0], base + chunk.items[-1][0], selection):
        return
    yield parse_chunk(chunk, dims)[0]


def parse_binary(item: Tuple[int, str], step, selection: Selection, *, dims: int
                 ) -> Iterator[RowBlock]:
    """Passes 2 and 3 on a binary file: its good rows, batch by batch, unless `step`
    skips the batch."""
    file_index, path = item
    for block, _, _ in read_binary_file(file_index, path, dims):
        if len(block.keys) and not step.skip(int(block.positions[0]),
                                             int(block.positions[-1]), selection):
            yield block


def _measured(element, function, *args):
    """`function(element, *args)`, then this worker's peak RSS noted (vector_memory.py)."""
    result = function(element, *args)
    note_peak_rss()
    return result


def _settings(plan: JobPlan) -> TableSettings:
    job = plan.job
    source = plan.paths[0] if len(plan.paths) == 1 else job.input
    return TableSettings(job.lang, plan.dims, job.prune, job.name or f"{job.lang}_pipeline"
                         ".vectors", job.attr, source, plan.floret)


def build_pipeline(p: beam.Pipeline, plan: JobPlan) -> ConvertOutputs:
    """Add the job's transforms to `p` (see the module docstring)."""
    job = plan.job
    dims = plan.dims
    binary = plan.format == "word2vec-binary"
    parse = partial(parse_binary if binary else parse_text, dims=dims)

    def read(label: str) -> beam.PCollection:
        """The input once more: LineChunks in byte ranges, or the binary files' names."""
        if binary:
            return (p | f"{label}Files" >> beam.Create(list(enumerate(plan.paths)))
                    | f"{label}ToWorkers" >> beam.Reshuffle())
        return p | label >> beam.io.Read(VectorLinesSource(
            job.input, plan.paths, header=plan.format != "glove-text", dims=dims,
            desired_bundle_size=plan.desired_bundle_size))

    parsed = (read("ReadLines")
              | "ParseRows" >> beam.ParDo(ParseRows(dims, binary)).with_outputs(
                  ParseRows.DEAD, ParseRows.COUNTS, main="keys"))
    selection = (parsed.keys
                 | "CollectKeys" >> beam.combiners.ToList()
                 | "SelectRows" >> beam.Map(_measured, select_rows, job.truncate))
    table = (read("ReadKeptLines")
             | "KeptRows" >> beam.ParDo(ParseStep(KeptRows(job.prune), parse),
                                        beam.pvalue.AsSingleton(selection)))
    if job.prune:
        kept = (table
                | "CollectKept" >> beam.combiners.ToList()
                | "AssembleKept" >> beam.Map(lambda pieces, sel: _measured(
                    pieces, assemble_kept, min(sel.n_distinct, job.prune), dims),
                    beam.pvalue.AsSingleton(selection)))
        remapped = (read("ReadOtherLines")
                    | "RemapRows" >> beam.ParDo(
                        ParseStep(RemapRows(job.prune, job.batch_size), parse),
                        beam.pvalue.AsSingleton(selection), beam.pvalue.AsSingleton(kept)))
    else:
        remapped = p | "NothingToRemap" >> beam.Create([])
    written = ((table, remapped)
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
    read_by_file = parsed[ParseRows.COUNTS] | "SumReads" >> beam.CombinePerKey(tuple_sum(2))
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
                   list(zip(plan.paths, plan.declared)), plan.out.final_path, beam.pvalue.AsDict(read_by_file),
                   beam.pvalue.AsDict(by_reason), beam.pvalue.AsSingleton(written, default_value=NOTHING_WRITTEN),
                   beam.pvalue.AsList(dead_files), beam.pvalue.AsSingleton(first_bad)))
    return ConvertOutputs(table, remapped, dead, written, summary)


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


def _write_summary(_, path, static, headers, final_path, read_by_file, by_reason, written,
                   dead_files, first_bad) -> Dict[str, Any]:
    n_read = sum(read for read, _ in read_by_file.values())
    n_blank = sum(blank for _, blank in read_by_file.values())
    n_dead = sum(by_reason.values())
    counts = {"lines_read": n_read, "rows_kept": written["rows_kept"],
              "rows_remapped": written["rows_remapped"], "dead_lettered": n_dead,
              "duplicate_keys": written["duplicates"], "truncated": written["truncated"],
              "dead_letter_by_reason": dict(sorted(by_reason.items())),
              "blank_lines": n_blank, "keys": written["keys"]}
    summary = dict(static)
    summary["counts"] = counts
    if "floret_index_errors" in written:
        summary["floret_index_errors"] = written["floret_index_errors"]
    summary["reconciled"] = n_read == (counts["rows_kept"] + counts["rows_remapped"] + n_dead
                                       + counts["duplicate_keys"] + counts["truncated"])
    # like `init vectors` (E086): a header's row count is checked against the rows (good
    # and bad, not blank lines) that follow it, unless --truncate stopped the reading
    summary["header_rows"] = [
        {"source": source, "declared": declared, "lines_read": read_by_file.get(i, (0, 0))[0]}
        for i, (source, declared) in enumerate(headers) if declared is not None]
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
    _check_headers(job_plan, summary)
    if counts["dead_lettered"] and not job_plan.job.skip_bad_lines:
        first = "; ".join(f"{b['source']} line {b['line']} (byte {b['offset']}): "
                          f"{b['message']}" for b in summary["first_bad_lines"])
        raise ValueError(f"--input {job_plan.job.input!r}: {counts['dead_lettered']} bad "
                         f"line(s), e.g. {first}. Fix them, or pass --skip-bad-lines to "
                         "dead-letter them and convert the rest; --output was left as it "
                         "was.")
    if not counts["rows_kept"]:
        raise ValueError(Errors.E082.format(path=job_plan.job.input, detail=(
            f"none of its {counts['lines_read']} lines is a good row (see "
            f"{DEAD_TABLE}/ in a run with --skip-bad-lines)")) + " --output was left as "
            "it was.")
    if not summary["reconciled"]:
        raise RuntimeError(f"Counts do not reconcile: {counts}; --output "
                           f"{job_plan.job.output!r} was left as it was.")
    return summary


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
