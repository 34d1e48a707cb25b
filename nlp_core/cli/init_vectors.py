"""`init vectors` converts a word-vector file into a blank pipeline that holds the table.

    python -m nlp_core init vectors en glove.6B.50d.txt.gz ./en_vectors --prune 20000
    python -m nlp_core init vectors en cc.en.300.floret ./en_floret --mode floret

The output is a pipeline directory (config.cfg, meta.json, tokenizer, vocab/ with spaCy's
`vectors`, `key2row` and `vectors.cfg`) that `nlp_core.load` and `spacy.load` open, and
that `[initialize] vectors` can name. With --prune, `prune_report.json` beside them says
what pruning did to the keys it remapped.
"""
import os
import shutil
import uuid
from enum import Enum
from pathlib import Path
from typing import List

import srsly
import typer

from ..errors import Errors
from ..language_disk import vectors_meta
from ..loading import blank
from ..malloc import set_malloc
from ..ml.parse_threads import usable_cpus
from ..training.loop import single_blas_thread
from ..vectors_building import Built, build_vectors, write_keys
from ..vectors_disk import write_vectors
from ._app import init_cli

# The table's .npy file in the staging directory while it is written (then vocab/vectors).
STREAMED_TABLE = "vectors.npy.partial"
# The [nlp] block names spaCy's registered functions too, so spaCy can load the output.
SPACY_NLP_FUNCTIONS = {"tokenizer": {"@tokenizers": "spacy.Tokenizer.v1"},
                       "vectors": {"@vectors": "spacy.Vectors.v1"}}


class Mode(str, Enum):
    default = "default"
    floret = "floret"


class Attr(str, Enum):
    ORTH = "ORTH"
    LOWER = "LOWER"
    NORM = "NORM"


def release_freed_memory() -> None:
    """Make this process hand freed buffers back to the system: glibc's malloc stops
    raising its mmap threshold (after a large buffer is freed it serves every smaller one
    from a heap that it rarely shrinks) and Arrow allocates with malloc, not mimalloc,
    whose segments stay mapped. For `init vectors`, a stream of ~1 MB blocks, that is
    ~20 MB less peak memory on GloVe 400k (measured). Process-wide: the command calls it,
    not `init_vectors`."""
    # pyarrow (~25 MB) is imported only by the command that reads vector files
    import pyarrow

    pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    set_malloc(mmap_threshold=128 * 1024)  # glibc's default, now fixed


def prune_threads() -> int:
    """Threads for the pruning search: the cores this process may use (at most 8), each
    running single-threaded BLAS on its own batches."""
    return max(1, min(8, usable_cpus()))


def _fail(err: Exception) -> None:
    typer.echo(str(err), err=True)
    raise typer.Exit(1)


def check_options(*, mode: str, prune: int, truncate: int, batch_size: int | None,
                  skip_bad_lines: bool, output_dir: Path) -> None:
    """E084 / E087 for settings that cannot work, before anything is read or written."""
    for option, value in (("--prune", prune), ("--truncate", truncate)):
        if value < 0:
            raise ValueError(Errors.E084.format(option=option, detail=f"{value} must be >= 0 "
                                                "(0 keeps every row)."))
    if batch_size is not None and batch_size < 1:
        raise ValueError(Errors.E084.format(option="--batch-size", detail=f"{batch_size} "
                                            "must be >= 1 (or leave it out)."))
    if mode == "floret":
        for option, given in (("--prune", prune), ("--truncate", truncate),
                              ("--skip-bad-lines", skip_bad_lines)):
            if given:
                raise ValueError(Errors.E084.format(option=option, detail=(
                    "does not apply in floret mode: a floret table is one row per hash "
                    "bucket and every word's vector sums several of them, so no row can be "
                    "dropped or skipped. Leave it out, or convert a word table in --mode "
                    "default.")))
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(Errors.E087.format(path=output_dir))


def summary_lines(built: Built, output_dir: Path) -> List[str]:
    """What the conversion did, for the terminal."""
    info, stats, vectors = built.info, built.stats, built.vectors
    lines = [f"Read {built.rows_in:,} rows of {info.dims} dims from {info.path} "
             f"({info.format})."]
    if stats.bad:
        first = "; ".join(f"line {line}: {reason}" for line, reason in sorted(stats.bad_examples)[:3])
        lines.append(f"Skipped {stats.bad:,} bad rows (first: {first}).")
    if built.duplicates:
        first = ", ".join(f"{word!r} at line {line}"
                          for word, line in built.duplicate_examples[:5])
        lines.append(f"Skipped {built.duplicates:,} repeated words; the first occurrence "
                     f"of each was kept (repeats: {first}).")
    if built.report is not None:
        report = built.report
        sims = report["similarity"]
        lines.append(f"Pruned to {report['rows_kept']:,} rows: {report['keys_remapped']:,} "
                     "keys remapped to their nearest kept row" + (
                         f" (cosine mean {sims['mean']:.3f}, 5th percentile "
                         f"{sims['p5']:.3f}); see {output_dir / 'prune_report.json'}."
                         if sims else "."))
    lines.append(f"Wrote {output_dir}: {vectors.shape[0]:,} x {vectors.shape[1]} table, "
                 f"{built.n_keys:,} keys, "
                 f"mode {vectors.mode}.")
    return lines


# What `init vectors` writes into its output directory; anything else there is left alone.
OUTPUT_ENTRIES = ("config.cfg", "meta.json", "tokenizer", "vocab", "prune_report.json")


def commit_staged(staging: Path, output_dir: Path) -> None:
    """Move the finished pipeline in `staging` into `output_dir`.

    A new output directory is one rename. An existing one gets each entry `init vectors`
    writes swapped in (the old entry renamed aside, the new one renamed in, the old one
    removed); a stale `prune_report.json` of an earlier pruned run goes; files of the
    user's own are kept. Until this runs, `output_dir` is untouched, so a failed or
    interrupted conversion never damages a good output.
    """
    if not output_dir.exists():
        os.replace(staging, output_dir)
        return
    for name in OUTPUT_ENTRIES:
        new, old = staging / name, output_dir / name
        aside = output_dir / f".{name}.old-{staging.name}"
        if old.exists() or old.is_symlink():
            os.replace(old, aside)
        if new.exists():
            os.replace(new, old)
        if aside.is_dir() and not aside.is_symlink():
            shutil.rmtree(aside)
        elif aside.exists() or aside.is_symlink():
            aside.unlink()
    shutil.rmtree(staging, ignore_errors=True)


def init_vectors(lang: str, vectors_file: str, output_dir: Path, *, prune: int = 0,
                 truncate: int = 0, mode: str = "default", name: str | None = None,
                 attr: str = "ORTH", batch_size: int | None = None,
                 skip_bad_lines: bool = False, progress: bool = True) -> Built:
    """Convert `vectors_file` and write the pipeline directory `output_dir` (see the
    command's help for the options). Returns what `build_vectors` reports."""
    output_dir = Path(output_dir)
    check_options(mode=mode, prune=prune, truncate=truncate, batch_size=batch_size,
                  skip_bad_lines=skip_bad_lines, output_dir=output_dir)
    nlp = blank(lang, config={"nlp": SPACY_NLP_FUNCTIONS})
    # Everything is written to a staging directory beside the output and moved in only
    # when complete (`commit_staged`); a table that keeps every row is written there as
    # it is read, never held in memory (`build_vectors`' table_path).
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = output_dir.parent / f".{output_dir.name}.tmp-{uuid.uuid4().hex[:12]}"
    try:
        staging.mkdir()
        # Pruning multiplies 1024 x width by width x 1024 blocks: BLAS threads gain little
        # there and on a busy machine made it 7-10x slower (1.5 s -> 11-15 s for 50k x
        # 20k); the batches are spread over threads instead (prune_threads), one BLAS
        # thread each.
        with single_blas_thread():
            built = build_vectors(vectors_file, nlp.vocab.strings, mode=mode,
                                  truncate=truncate, prune=prune, batch_size=batch_size,
                                  name=name or f"{lang}_pipeline.vectors", attr=attr,
                                  skip_bad_lines=skip_bad_lines, progress=progress,
                                  prune_threads=prune_threads(),
                                  table_path=staging / STREAMED_TABLE)
        # The table goes in without its keys; they are written from their arrays (a dict
        # and a StringStore of 400k words would cost more memory than the table itself).
        # A table already on disk is moved in, never read (its pages would count to this
        # process's memory).
        if built.table_file is None:
            nlp.vocab.vectors = built.vectors
        nlp.to_disk(staging)
        vocab_dir = staging / "vocab"
        if built.table_file is not None:
            write_vectors(built.vectors, vocab_dir, exclude=("strings",),
                          table_file=built.table_file)
        meta = srsly.read_json(staging / "meta.json")
        meta["vectors"] = vectors_meta(built.vectors)
        if built.vectors.mode == "default":
            write_keys(built, vocab_dir, nlp.vocab.strings)
            meta["vectors"]["keys"] = built.n_keys
        srsly.write_json(staging / "meta.json", meta)
        if built.report is not None:
            srsly.write_json(staging / "prune_report.json", built.report)
        commit_staged(staging, output_dir)
    finally:
        # On failure (or Ctrl-C) the half-written staging directory goes; on success it
        # was moved or emptied.
        shutil.rmtree(staging, ignore_errors=True)
    return built


@init_cli.command("vectors")
def init_vectors_cli(
    lang: str = typer.Argument(..., help="Language code of the blank pipeline that holds "
                               "the table (e.g. en; xx for any language)."),
    vectors_file: str = typer.Argument(..., help=(
        "The vector file: word2vec text (header 'rows dims'), GloVe text (no header), "
        "fastText .vec, word2vec binary (.bin, or detected after the header) or, with "
        "--mode floret, floret text. Plain or .gz/.bz2/.zst/.xz; a local path or an "
        "s3://, gs:// or https:// URL.")),
    output_dir: Path = typer.Argument(..., help="Directory to write the pipeline to "
                                      "(created if needed). The pipeline's files in it are replaced only once the "
                                      "conversion has succeeded; other files are kept."),
    prune: int = typer.Option(0, "--prune", "-p", help=(
        "Keep only the first N rows (file order, which is frequency order for these "
        "formats) and map every other word to its nearest kept row by cosine; writes "
        "prune_report.json. 0 keeps every row. Default mode only.")),
    truncate: int = typer.Option(0, "--truncate", "-t", help=(
        "Read only the first N distinct rows and stop. 0 reads the whole file. Default "
        "mode only.")),
    mode: Mode = typer.Option(Mode.default, "--mode", "-m", help=(
        "default: one row per word; floret: a floret table of hashed subword rows (the "
        "file's header gives its settings).")),
    name: str | None = typer.Option(None, "--name", "-n", help=(
        "The table's name, saved in meta.json and vectors.cfg (default: LANG_pipeline."
        "vectors). Components trained with the table refer to it by this name.")),
    attr: Attr = typer.Option(Attr.ORTH, "--attr", "-a", help=(
        "Which token attribute looks up the table: ORTH (the text as is), LOWER (lower "
        "case; for uncased tables such as GloVe) or NORM.")),
    batch_size: int | None = typer.Option(None, "--batch-size", "-b", help=(
        "With --prune: rows compared with the kept rows at once; memory is about "
        "batch x kept x 4 bytes (default: about 16 MB).")),
    skip_bad_lines: bool = typer.Option(False, "--skip-bad-lines", help=(
        "Skip and count rows that do not parse (wrong number of fields, a field that is "
        "not a number, a word that is not UTF-8) instead of stopping at the first one.")),
) -> None:
    """Convert a word-vector file into a pipeline directory with the vectors table.

    Reads the file once, streaming: the table is written to the output as it is read,
    so memory is the words and their keys plus a few batches of rows (with --prune: plus
    the kept rows). Repeated words keep their first occurrence; skipped rows and repeats
    are counted and reported.
    """
    release_freed_memory()
    try:
        built = init_vectors(lang, vectors_file, output_dir, prune=prune, truncate=truncate,
                             mode=mode.value, name=name, attr=attr.value,
                             batch_size=batch_size, skip_bad_lines=skip_bad_lines)
    except (ValueError, OSError) as err:
        _fail(err)
    for line in summary_lines(built, output_dir):
        typer.echo(line)
