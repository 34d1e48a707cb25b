"""Choosing a reader for a corpus file by name, and reading any supported format."""
from pathlib import Path
from typing import Callable, Dict, Iterator, Union

from ..errors import Errors
from ..tokens import Doc
from ..vocab import Vocab
from .bad_records import OnError
from .conllu import read_conllu
from .iob import read_iob
from .jsonl import read_jsonl
from .spacy_files import read_spacy
from .text_files import COMPRESSED_SUFFIXES

CONVERTERS = ("conllu", "iob", "jsonl", "spacy")
EXTENSIONS: Dict[str, str] = {
    ".conllu": "conllu", ".conll": "conllu", ".iob": "iob", ".iob2": "iob", ".bio": "iob",
    ".biluo": "iob", ".ner": "iob", ".jsonl": "jsonl", ".spacy": "spacy",
}


def converter_for(path: Union[str, Path]) -> str | None:
    """The converter name for a file name (a trailing .gz, .bz2, .xz or .zst is looked
    through), or None."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in COMPRESSED_SUFFIXES:
        suffixes = suffixes[:-1]
    return EXTENSIONS.get(suffixes[-1]) if suffixes else None


def read_docs(path: Union[str, Path], *, converter: str = "auto", vocab: Vocab | None = None,
              n_sents: int = 1, make_doc: Callable[[str], Doc] | None = None,
              on_error: OnError = "raise") -> Iterator[Doc]:
    """Docs from a corpus file in any supported format.

    Args:
        converter: "auto" (by extension), "conllu", "iob", "jsonl" or "spacy".
        n_sents: sentences per Doc for CoNLL-U and IOB.
        make_doc: tokenizer for JSONL {"text": ...} records.
        on_error: for the line-based formats (see `bad_records`).
    """
    if converter == "auto":
        converter = converter_for(path) or ""
        if not converter:
            raise ValueError(Errors.E191.format(path=path))
    if converter == "conllu":
        return read_conllu(path, vocab=vocab, n_sents=n_sents, on_error=on_error)
    if converter == "iob":
        return read_iob(path, vocab=vocab, n_sents=n_sents, on_error=on_error)
    if converter == "jsonl":
        return read_jsonl(path, make_doc, vocab=vocab, on_error=on_error)
    if converter == "spacy":
        return read_spacy(path, vocab=vocab)
    raise ValueError(Errors.E192.format(name=converter, known=", ".join(CONVERTERS)))
