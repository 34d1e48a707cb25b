"""Command-line options of the annotate job (a Beam `PipelineOptions` subclass).

Job flags use dashes (`--input-format`); standard Beam flags keep Beam's spelling
(`--runner`, `--direct_num_workers`, `--setup_file`, ...). An unknown flag is an error, not
silently dropped as `PipelineOptions` would do.
"""
import argparse
from typing import Any, Dict, List, Sequence, Set

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from nlp_core.config import parse_config_overrides

from .batching import BATCH_TOKENS

DEFAULT_RUNNER = "FnApiRunner"

DESCRIPTION = """\
Annotate a corpus with an nlp_core pipeline on Apache Beam and write Parquet.

Reads JSONL records ({"text": ..., "id": ...}; plain, .gz, .bz2, .zst, ...) or .spacy
files, checks every record, runs the pipeline on batches of similar length, and writes
  OUTPUT/annotations/part-*.parquet   one row per document (schemas/annotations.py)
  OUTPUT/dead_letter/part-*.parquet   one row per rejected record, with its reason
  OUTPUT/tensors/part-*.parquet       with --tensors: one tensor per document
  OUTPUT/run_summary.json             counts (read = annotated + dead-lettered), speed
  OUTPUT/_SUCCESS                     written last: the directory holds a finished run
The run writes into OUTPUT.tmp-<run id>/ beside OUTPUT and moves its outputs in only once
it has succeeded; OUTPUT/_LOCK keeps a second run off the same directory.
"""

EPILOG = """\
Standard Beam options go on the same command line, e.g.
  --runner=FnApiRunner (the default here: Beam's local runner; DirectRunner first tries
      to download the Prism runner)
  --direct_running_mode=multi_processing --direct_num_workers=N   (N local processes)
  --runner=PortableRunner --job_endpoint=HOST:PORT --environment_type=LOOPBACK
  --runner=DataflowRunner --project=... --region=... --temp_location=gs://...
      --setup_file=./setup.py
See README.md, "Running on Beam", for complete commands.
"""


class AnnotateOptions(PipelineOptions):
    """The job's own flags."""

    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument("--input", help="Input file glob (local, gs://, s3://; quote it).")
        parser.add_argument("--output", help="Output directory (created if missing).")
        parser.add_argument("--model",
                            help="Pipeline: blank:LANG (tokenizer only, e.g. blank:en), a "
                                 "directory written by nlp.to_disk (local or gs://...), or an "
                                 "installed pipeline package name.")
        parser.add_argument("--model-config", action="append", default=None,
                            metavar="KEY=VALUE",
                            help="Change a setting of the pipeline's config when it loads, "
                                 "as a dotted key (repeatable), e.g. "
                                 "components.transformer.cpu_inference=bfloat16. VALUE is "
                                 "read as JSON where it parses, else as a string.")
        # no argparse `choices`: Beam parses every job's flags with one parser, and the
        # pretraining job's --input-format takes more formats (checked in parse_options)
        parser.add_argument("--input-format", default="auto",
                            help="auto, jsonl or spacy. auto: .spacy files are DocBins, "
                                 "anything else is JSONL.")
        parser.add_argument("--text-field", default="text",
                            help="JSONL field holding the text (default: text).")
        parser.add_argument("--id-field", default="id",
                            help="JSONL field (or .spacy user_data key) holding the document "
                                 "id; records without one get '<file>@<byte offset>'.")
        parser.add_argument("--keep-text", action="store_true",
                            help="Also write the text to the annotations table.")
        parser.add_argument("--batch-size", type=int, default=256,
                            help="Documents per nlp.pipe batch at most (default: 256).")
        parser.add_argument("--batch-chars", type=int, default=500_000,
                            help="Characters per batch at most; a longer document is a "
                                 "batch of its own (default: 500000).")
        parser.add_argument("--batch-tokens", type=int, default=BATCH_TOKENS,
                            help="Estimated tokens per batch at most (characters / the mean "
                                 "characters per token measured so far; counted padded: "
                                 "documents x the longest), in length buckets: documents "
                                 "of similar length are batched together and a longer "
                                 "document is a batch of its own. 0: batch by --batch-size "
                                 "and --batch-chars from pools sorted by length, as earlier "
                                 f"versions did (default: {BATCH_TOKENS}).")
        parser.add_argument("--max-chars", type=int, default=1_000_000,
                            help="Longer texts are dead-lettered as text_too_long "
                                 "(default: 1000000). A text over 5000 characters is "
                                 "annotated in pieces, so memory stays bounded.")
        parser.add_argument("--max-line-bytes", type=int, default=None,
                            help="A JSONL line longer than this many bytes is dead-lettered "
                                 "as line_too_long, skipped in bounded reads (never held in "
                                 "memory whole). Default: what a record of --max-chars "
                                 "characters can take (12 bytes a character, + 1 MiB).")
        parser.add_argument("--max-decompressed-mb", type=int, default=512,
                            help="A .spacy file is inflated whole in memory: one that "
                                 "would inflate to more MiB is dead-lettered as "
                                 "file_too_large, before the memory is spent (default: 512).")
        parser.add_argument("--row-group-mb", type=int, default=64,
                            help="Arrow data per Parquet row group, in MiB (default: 64). "
                                 "A full row group is written on a writer thread while the "
                                 "next one fills, so a table file holds up to two in memory.")
        parser.add_argument("--allow-duplicate-ids", action="store_true",
                            help="Skip the duplicate-id pass (one less read of the input): "
                                 "doc_id is then not kept unique. Records sharing an id, and a "
                                 "record without one whose '<file>@<offset>' id another record "
                                 "gives as its id, are all annotated.")
        parser.add_argument("--tensors", default="none",
                            choices=["none", "trf_tokens", "trf_wordpieces", "tok2vec"],
                            help="Also write OUTPUT/tensors/ (schemas/tensors.py): token "
                                 "vectors of the transformer (trf_tokens) or tok2vec, or the "
                                 "transformer's wordpiece vectors (default: none).")
        parser.add_argument("--tensor-dtype", default="float32",
                            choices=["float16", "float32"],
                            help="Element type of the tensors table (default: float32).")
        parser.add_argument("--gpu", action="store_true",
                            help="Run the pipeline on a CUDA GPU (thinc's require_gpu, as "
                                 "`nlp_core train --gpu-id`; needs cupy: pip install "
                                 "nlp-core[gpu]). Each worker process loads its own copy: "
                                 "run one worker process per GPU (see README.md, GPU).")
        parser.add_argument("--gpu-id", type=int, default=None,
                            help="Which GPU with --gpu (default: 0); implies --gpu.")
        parser.add_argument("--parse-threads", type=int, default=None,
                            help="Threads of each worker process for the parser's and "
                                 "NER's transition loops, which run on the CPU also with "
                                 "--gpu (default: with --gpu the cores the worker may use "
                                 "but one, at most 8, and with multi_processing each "
                                 "worker's share of them but one; on the CPU 1, the "
                                 "worker processes filling the cores). Set it with "
                                 "several GPU workers on one machine under other runners, "
                                 "so that their threads do not exceed its cores.")
        add_run_flags(parser, resumed="the input shards it committed to OUTPUT.partial/ are "
                                      "kept, the rest annotated",
                      retried="run it again this many times over the shards not committed "
                              "yet")
        parser.add_argument("--extensions", default=None,
                            help="Extension attributes to write as typed columns of the "
                                 "annotations table: comma-separated LEVEL:NAME:TYPE specs, "
                                 "LEVEL doc, token or span (entity spans), TYPE int, float, "
                                 "bool, string or list[T] of them, e.g. "
                                 "doc:score:float,token:is_name:bool (column "
                                 "ext_<level>_<name>). Default: the pipeline meta's "
                                 "\"extensions\" list, if any. A value that does not fit its "
                                 "type dead-letters its document as extension_value.")
        parser.add_argument("--code", default=None,
                            help="A Python file imported before the pipeline loads, in the "
                                 "launcher and in every worker (its text travels with the "
                                 "job): registers the pipeline's custom components and "
                                 "extension attributes.")
        parser.add_argument("--shard-mb", type=int, default=64,
                            help="A plain JSONL file is processed and committed in shards of "
                                 "at most this many MiB (compressed and .spacy files: one "
                                 "shard each); smaller ones when that gives local worker "
                                 "processes (multi_processing) fewer than 4 shards each, so "
                                 "that all get work; a crash costs only the shards in flight "
                                 "(default: 64).")


class SharedFlags:
    """A parser wrapper for the other jobs' options: adds a flag unless the parser has it
    already. Beam builds one parser from every PipelineOptions subclass in the process, and
    AnnotateOptions (defined first: the other jobs' option modules import this one) also
    has --input, --output, --overwrite, ..., with the same meaning and defaults."""

    def __init__(self, parser):
        self.parser = parser

    def add_argument(self, flag: str, **kwargs) -> None:
        if flag not in self.parser._option_string_actions:
            self.parser.add_argument(flag, **kwargs)


def add_run_flags(parser, resumed: str, retried: str) -> None:
    """--overwrite, --resume and --retries, which mean the same in every job: `resumed`
    says what a resumed run keeps and redoes, `retried` how a failed pipeline is rerun."""
    parser.add_argument("--overwrite", action="store_true",
                        help="Replace the outputs of an earlier run in --output, once the new "
                             "run has succeeded (a failed run leaves them as they were); "
                             "without it, existing outputs are an error.")
    parser.add_argument("--resume", action="store_true",
                        help=f"Finish a run that did not (killed, crashed, failed): {resumed}; "
                             "the result is that of an uninterrupted run. Needs the same "
                             "input and settings.")
    parser.add_argument("--retries", type=int, default=2,
                        help="When the pipeline fails (e.g. a worker process dies: the local "
                             f"runners then fail the whole job), {retried} (default: 2; 0: "
                             "fail at once).")


def gpu_id(job: AnnotateOptions) -> int:
    """The GPU the pipeline runs on: --gpu-id, else 0 with --gpu; -1 for the CPU."""
    if job.gpu_id is not None:
        return job.gpu_id
    return 0 if job.gpu else -1


def help_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m beam_jobs.annotate",
                                     description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    AnnotateOptions._add_argparse_args(parser)
    return parser


def job_option_names() -> List[str]:
    """The attribute names of the job's own flags (e.g. "input_format")."""
    return [a.dest for a in help_parser()._actions if a.dest != "help"]


def _flag_names(job_class: type) -> Set[str]:
    """The attribute names of the flags `job_class` itself defines."""
    parser = argparse.ArgumentParser(add_help=False)
    job_class._add_argparse_args(parser)
    return {action.dest for action in parser._actions}


def _foreign_flags(argv: Sequence[str], job_class: type) -> List[str]:
    """The flags in `argv` that only other jobs of this package define. Beam parses every
    command line with one parser built from all PipelineOptions subclasses imported, so
    without this check `--prune` would be silently accepted (and ignored) by the annotate
    job."""
    others: Set[str] = set()
    pending = list(PipelineOptions.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls is not job_class and cls.__module__.startswith("beam_jobs."):
            others |= _flag_names(cls)
    others -= _flag_names(job_class)
    return [arg.split("=")[0] for arg in argv if arg.startswith("--")
            and arg[2:].split("=")[0].replace("-", "_") in others]


def parse_job_options(argv: Sequence[str], job_class: type, prog: str,
                      required: Sequence[str], minimums: Dict[str, int]) -> PipelineOptions:
    """PipelineOptions from a job's command line, the checks every job makes: ValueError
    naming an unknown flag, a missing one of `required`, or one below its minimum; the
    runner defaults to DEFAULT_RUNNER.

    Args:
        job_class: the job's PipelineOptions subclass.
        prog: the job's command, for "See `PROG --help`".
        required: attribute names of the flags that must be given.
        minimums: attribute name -> the least value the flag takes.
    """
    options = PipelineOptions(list(argv))
    known = options.get_all_options()
    with_unknown = options.get_all_options(retain_unknown_options=True)
    unknown = set(with_unknown) - set(known)
    if unknown:
        flags: List[str] = [arg.split("=")[0] for arg in argv if arg.startswith("--")
                            and arg[2:].split("=")[0].replace("-", "_") in unknown]
        raise ValueError("Unknown option(s): " + ", ".join(flags or sorted(unknown))
                         + f". See `{prog} --help`.")
    foreign = _foreign_flags(argv, job_class)
    if foreign:
        raise ValueError("Not an option of this job: " + ", ".join(foreign) + " (another "
                         f"job of this package takes it). See `{prog} --help`.")
    job = options.view_as(job_class)
    missing = [flag for flag in required if not getattr(job, flag)]
    if missing:
        raise ValueError("Missing " + ", ".join("--" + m for m in missing)
                         + f". See `{prog} --help`.")
    for flag, least in minimums.items():
        if getattr(job, flag) < least:
            raise ValueError(f"--{flag.replace('_', '-')} must be at least {least}, got "
                             f"{getattr(job, flag)}.")
    standard = options.view_as(StandardOptions)
    if not standard.runner:
        standard.runner = DEFAULT_RUNNER
    return options


def model_config(job: AnnotateOptions) -> Dict[str, Any]:
    """--model-config as config overrides {dotted key: value}.

    Raises:
        ValueError: naming the flag, for an item that is not KEY=VALUE with a dotted KEY.
    """
    items = list(job.model_config or [])
    for item in items:
        key = item.split("=", 1)[0]
        if "=" not in item or "." not in key or not all(key.split(".")):
            raise ValueError(f"--model-config {item!r}: give a dotted config key and a value, "
                             "e.g. --model-config components.transformer.cpu_inference="
                             "bfloat16.")
    return parse_config_overrides(["--" + item for item in items])


def parse_options(argv: Sequence[str]) -> PipelineOptions:
    """PipelineOptions from the command line; ValueError for an unknown or missing flag."""
    options = parse_job_options(
        argv, AnnotateOptions, "python -m beam_jobs.annotate", ("input", "output", "model"),
        {flag: 1 for flag in ("batch_size", "batch_chars", "max_chars", "max_decompressed_mb",
                              "row_group_mb", "shard_mb")})
    job = options.view_as(AnnotateOptions)
    if job.input_format not in ("auto", "jsonl", "spacy"):
        raise ValueError(f"--input-format must be auto, jsonl or spacy, got "
                         f"{job.input_format!r}.")
    if job.batch_tokens < 0:
        raise ValueError(f"--batch-tokens must be 0 or more, got {job.batch_tokens} (0: "
                         "batch by --batch-size and --batch-chars only).")
    if job.retries is not None and job.retries < 0:
        raise ValueError(f"--retries must be 0 or more, got {job.retries}.")
    if job.max_line_bytes is not None and job.max_line_bytes < 1:
        raise ValueError(f"--max-line-bytes must be at least 1, got {job.max_line_bytes} "
                         "(leave it out for the limit that --max-chars implies).")
    model_config(job)  # raises on a malformed --model-config
    if job.gpu_id is not None and job.gpu_id < 0:
        raise ValueError(f"--gpu-id must be 0 or more, got {job.gpu_id} (leave out --gpu and "
                         "--gpu-id to run on the CPU).")
    if job.parse_threads is not None and job.parse_threads < 1:
        raise ValueError(f"--parse-threads must be at least 1, got {job.parse_threads} "
                         "(1: the loops run on the worker's own thread).")
    return options
