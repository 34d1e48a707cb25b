"""`python -m nlp_core convert`: corpus files -> `.spacy` (DocBin) or JSONL."""
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, List, Tuple

import numpy
import typer

import nlp_core

from ..errors import Errors
from ..formats.detect import CONVERTERS, EXTENSIONS, converter_for, read_docs
from ..formats.jsonl import write_jsonl
from ..tokens import Doc, DocBin
from ..vocab import Vocab
from ._app import app

FILE_TYPES = ("spacy", "jsonl")


@dataclass
class Counts:
    """What a conversion produced."""

    docs: int = 0
    sentences: int = 0
    tokens: int = 0
    entities: int = 0
    skipped: int = 0

    def add(self, other: "Counts") -> None:
        self.docs += other.docs
        self.sentences += other.sentences
        self.tokens += other.tokens
        self.entities += other.entities
        self.skipped += other.skipped

    def __str__(self) -> str:
        text = (f"{self.docs} docs, {self.sentences} sentences, {self.tokens} tokens, "
                f"{self.entities} entities")
        return text + (f", {self.skipped} bad records skipped" if self.skipped else "")


def _n_sentences(doc: Doc) -> int:
    if len(doc) == 0:
        return 0
    starts = doc.column("sent_start")
    if (starts[1:] != 0).any():
        return 1 + int(numpy.count_nonzero(starts[1:] == 1))
    if doc.has_annotation("DEP"):
        return sum(1 for _ in doc.sents)
    return 1


def _counted(docs: Iterable[Doc], counts: Counts) -> Iterator[Doc]:
    for doc in docs:
        counts.docs += 1
        counts.sentences += _n_sentences(doc)
        counts.tokens += len(doc)
        counts.entities += len(doc.ents)
        yield doc


def _stem(path: Path) -> str:
    """File name without its format extension (and a .gz before it)."""
    name = path.name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    stem, dot, ext = name.rpartition(".")
    return stem if dot and f".{ext.lower()}" in EXTENSIONS else name


def _input_files(input_path: Path, converter: str) -> List[Tuple[Path, Path]]:
    """(file, path relative to the input) pairs to convert."""
    if input_path.is_file():
        return [(input_path, Path(input_path.name))]
    files = [p for p in sorted(input_path.rglob("*")) if p.is_file() and (
        converter_for(p) is not None if converter == "auto"
        else converter_for(p) in (converter, None) and not p.name.startswith("."))]
    if not files:
        raise ValueError(Errors.E194.format(path=input_path))
    return [(p, p.relative_to(input_path)) for p in files]


def convert(input_path: Path, output_dir: Path, *, converter: str = "auto", n_sents: int = 1,
            file_type: str = "spacy", lang: str | None = None, on_error: str = "raise",
            echo=print) -> Counts:
    """Convert a file, or every corpus file under a directory, to OUTPUT_DIR/<stem>.<type>.

    Returns:
        the totals over all files.

    Raises:
        ValueError: bad arguments or bad input (naming the file and line).
    """
    if not input_path.exists():
        raise ValueError(Errors.E190.format(path=input_path, cwd=Path.cwd()))
    if converter != "auto" and converter not in CONVERTERS:
        raise ValueError(Errors.E192.format(name=converter, known=", ".join(CONVERTERS)))
    if file_type not in FILE_TYPES:
        raise ValueError(Errors.E193.format(name=file_type))
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(Errors.E196.format(path=output_dir))
    make_doc = None
    if lang:
        make_doc = nlp_core.blank(lang).make_doc
    total = Counts()
    for path, relative in _input_files(input_path, converter):
        name = converter if converter != "auto" else converter_for(path)
        if name is None:
            raise ValueError(Errors.E191.format(path=path))
        out = output_dir / relative.parent / f"{_stem(path)}.{file_type}"
        if out.resolve() == path.resolve():
            raise ValueError(f"Converting {path} would overwrite it: choose another OUTPUT_DIR.")
        counts = Counts()
        vocab = Vocab(lang=lang or "")
        bad: List = []
        handler = bad.append if on_error == "skip" else _jsonl_hint(on_error, path, lang)
        docs = _counted(read_docs(path, converter=name, vocab=vocab, n_sents=n_sents,
                                  make_doc=make_doc, on_error=handler), counts)
        out.parent.mkdir(parents=True, exist_ok=True)
        if file_type == "spacy":
            DocBin(store_user_data=True, docs=docs).to_disk(out)
        else:
            write_jsonl(docs, out)
        counts.skipped = len(bad)
        echo(f"{path} -> {out}: {counts}")
        if bad:
            echo(f"  first bad record: {bad[0].message()}")
        total.add(counts)
    return total


def _jsonl_hint(on_error: str, path: Path, lang: str | None):
    """For "raise", turn the first missing-tokenizer error into the CLI's --lang advice."""
    if on_error != "raise" or lang:
        return on_error

    def handler(record) -> None:
        if "no tokenizer was given" in record.reason:
            raise ValueError(Errors.E195.format(path=path))
        raise ValueError(record.message())

    return handler


@app.command("convert")
def convert_cli(
    input_path: Path = typer.Argument(
        ..., help="A corpus file (.conllu, .iob/.iob2, .jsonl, .spacy; optionally .gz) or a "
                  "directory of them."),
    output_dir: Path = typer.Argument(
        ..., help="Directory for the output; created when missing. Each input becomes "
                  "OUTPUT_DIR/<stem>.spacy (or .jsonl)."),
    n_sents: int = typer.Option(
        1, "--n-sents", "-n", help="Sentences per Doc for CoNLL-U and IOB input (joined "
                                   "with a space, as spaCy does)."),
    converter: str = typer.Option(
        "auto", "--converter", "-c", help="Input format: auto (from the extension), conllu, "
                                          "iob, jsonl or spacy."),
    file_type: str = typer.Option(
        "spacy", "--file-type", "-t", help="Output format: spacy (DocBin, user data kept) or "
                                           "jsonl."),
    lang: str | None = typer.Option(
        None, "--lang", "-l", help="Tokenizer language for JSONL {\"text\": ...} records, "
                                   "e.g. en."),
    on_error: str = typer.Option(
        "raise", "--on-error", help="Bad records: raise (stop with the file and line) or "
                                    "skip (count them and go on)."),
) -> None:
    """Convert corpora (CoNLL-U, IOB2/IOB/BILUO NER, JSONL, .spacy) to spaCy-compatible
    .spacy DocBin files or JSONL, and print how many docs, sentences, tokens and entities
    each file gave."""
    if on_error not in ("raise", "skip"):
        typer.echo(f"--on-error must be raise or skip, got {on_error!r}.", err=True)
        raise typer.Exit(1)
    try:
        total = convert(input_path, output_dir, converter=converter, n_sents=n_sents,
                        file_type=file_type, lang=lang, on_error=on_error, echo=typer.echo)
    except (ValueError, OSError) as err:
        typer.echo(f"Error: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Total: {total}")
