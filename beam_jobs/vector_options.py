"""Command-line options of the vector-conversion job (a Beam `PipelineOptions` subclass).

Job flags use dashes (`--skip-bad-lines`); standard Beam flags keep Beam's spelling. An
unknown flag is an error, as in the annotate job (options.py).
"""
import argparse
from typing import List, Sequence

from apache_beam.options.pipeline_options import PipelineOptions

from .options import EPILOG, SharedFlags, add_run_flags, parse_job_options

PROG = "python -m beam_jobs.convert_vectors"

DESCRIPTION = """\
Convert a word-vector file (or several: their rows in the order of the sorted file names)
into a pipeline directory with the vectors table, on Apache Beam: the same directory
`python -m nlp_core init vectors` writes, byte for byte.

Reads word2vec text / fastText .vec (header 'rows dims'), GloVe text (no header) and, with
--mode floret, floret text, plain or compressed, in byte ranges in parallel; word2vec
binary files are read whole, one file per worker. Writes
  OUTPUT/config.cfg, meta.json, tokenizer     a blank LANG pipeline
  OUTPUT/vocab/vectors, key2row, vectors.cfg, strings.json   the table (spaCy's layout)
  OUTPUT/prune_report.json                    with --prune: what the remaps cost
  OUTPUT/vector_dead_letter/part-*.parquet    one row per bad line (with --skip-bad-lines)
  OUTPUT/run_summary.json                     lines read = rows kept + rows remapped +
                                              dead-lettered + duplicate keys (+ past
                                              --truncate)
  OUTPUT/_SUCCESS                             written last
The run commits each input shard's work to OUTPUT.partial/ as it goes (a killed run is
finished with --resume), writes into OUTPUT.tmp-<run id>/ beside OUTPUT and moves its
outputs in only once it has succeeded; OUTPUT/_LOCK keeps a second run off the same
directory.
"""


class ConvertVectorsOptions(PipelineOptions):
    """The job's own flags."""

    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser = SharedFlags(parser)
        parser.add_argument("--input", help="Vector file glob (local, gs://, s3://; quote "
                                            "it). Several files are one table, in the order "
                                            "of their sorted names.")
        parser.add_argument("--output", help="Output directory (created if missing).")
        parser.add_argument("--lang", default="en",
                            help="Language code of the blank pipeline (default: en).")
        parser.add_argument("--prune", type=int, default=0,
                            help="Keep the first N distinct rows (file order) and map every "
                                 "other word to its nearest kept row by cosine; writes "
                                 "prune_report.json. 0 keeps every row.")
        parser.add_argument("--truncate", type=int, default=0,
                            help="Keep only the first N distinct rows. 0 keeps all.")
        parser.add_argument("--mode", default="default", choices=["default", "floret"],
                            help="default: one row per word; floret: a floret table of "
                                 "hashed subword rows (one file; its header gives the "
                                 "settings; no --prune, --truncate or --skip-bad-lines).")
        parser.add_argument("--attr", default="ORTH", choices=["ORTH", "LOWER", "NORM"],
                            help="Token attribute that looks the table up (default: ORTH; "
                                 "LOWER for uncased tables such as GloVe).")
        parser.add_argument("--name", default=None,
                            help="The table's name (default: LANG_pipeline.vectors).")
        parser.add_argument("--batch-size", type=int, default=1024,
                            help="With --prune: rows compared with the kept table at once "
                                 "(default: 1024).")
        parser.add_argument("--skip-bad-lines", action="store_true",
                            help="Dead-letter lines that are not good rows and finish the "
                                 "run; without it a bad line fails the run, naming it.")
        add_run_flags(parser, resumed="the shards' passes it committed to OUTPUT.partial/ "
                                      "are kept, the rest done",
                      retried="run it again this many times over the shards not committed "
                              "yet")
        parser.add_argument("--shard-mb", type=int, default=64,
                            help="A plain file is read and committed in shards of this many "
                                 "MiB (compressed and binary files: one shard each); a "
                                 "crash costs only the shards in flight (default: 64).")


def help_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    ConvertVectorsOptions._add_argparse_args(parser)
    return parser


def job_option_names() -> List[str]:
    return [a.dest for a in help_parser()._actions if a.dest != "help"]


def parse_options(argv: Sequence[str]) -> PipelineOptions:
    """PipelineOptions from the command line; ValueError naming an unknown, missing or
    out-of-range flag."""
    return parse_job_options(argv, ConvertVectorsOptions, PROG, ("input", "output"),
                             {"prune": 0, "truncate": 0, "batch_size": 1, "retries": 0,
                              "shard_mb": 1})
