"""`.spacy` (DocBin) files as a corpus format, next to JSONL, CoNLL-U and IOB."""
from pathlib import Path
from typing import Iterable, Iterator, Union

from ..tokens import Doc, DocBin
from ..tokens.docbin import DEFAULT_ATTRS
from ..vocab import Vocab


def read_spacy(path: Union[str, Path], *, vocab: Vocab | None = None) -> Iterator[Doc]:
    """The Docs of a `.spacy` file; a corrupt file raises ValueError naming it."""
    vocab = Vocab() if vocab is None else vocab
    yield from DocBin().from_disk(path).get_docs(vocab)


def write_spacy(docs: Iterable[Doc], path: Union[str, Path], *, attrs=DEFAULT_ATTRS,
                store_user_data: bool = True) -> int:
    """Write Docs to one `.spacy` file (user data kept by default, as spaCy's convert does).

    Returns:
        the number of docs written.
    """
    doc_bin = DocBin(attrs=attrs, store_user_data=store_user_data, docs=docs)
    doc_bin.to_disk(path)
    return len(doc_bin)
