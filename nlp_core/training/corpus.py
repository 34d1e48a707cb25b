"""Corpus readers: training and evaluation Examples from annotated files, raw text for
pretraining.

    [corpora.train]
    @readers = "nlp_core.Corpus.v1"      # also "spacy.Corpus.v1"
    path = ${paths.train}               # a file or a directory of them
    gold_preproc = false
    max_length = 0
    limit = 0
    augmenter = null

A reader is called with the pipeline, `corpus(nlp) -> Iterator[Example]`, once per epoch
(or per evaluation), so it reads with the pipeline's vocab and tokenizer.

What is skipped, always counted and reported by a warning after the first full pass
(counts also in `corpus.skipped`):

- documents without tokens;
- documents whose predicted text differs from the gold text (their tokens cannot be
  aligned; with `make_doc(reference.text)` this happens only with a tokenizer that
  changes the text, which ours never does);
- with `max_length`, sentences of at least `max_length` tokens (documents without sentence
  boundaries are skipped whole).

A predicted tokenization that differs from the gold one is not an error: the tokens are
aligned by character offsets and only the ones that match a gold token are trained on and
scored. A missing path, a directory without corpus files and a file without documents
raise, naming the path (and, when the training loop built the reader, its config key).
"""
import hashlib
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, Iterator, List, Optional, Union

import numpy

from ..errors import Errors, Warnings
from ..formats.detect import EXTENSIONS, converter_for, read_docs
from ..formats.text_files import DECOMPRESSION_ERRORS
from ..registry import registry
from ..tokens import Doc
from .example import Example

if TYPE_CHECKING:
    from ..language import Language

Augmenter = Callable[["Language", Example], Iterable[Example]]
FORMATS = ", ".join(sorted(EXTENSIONS))
# What the pretraining reader reads: JSONL text records and the texts of .spacy files.
RAW_CONVERTERS = ("jsonl", "spacy")
RAW_FORMATS = ", ".join(sorted(e for e, c in EXTENSIONS.items() if c in RAW_CONVERTERS))


class Corpus:
    """Examples from `.spacy`, CoNLL-U, IOB or JSONL files (see the module docstring).

    Args:
        path: a corpus file, or a directory searched recursively for them (sorted).
        gold_preproc: predict over the gold tokens, one Example per gold sentence;
            otherwise the predicted Doc is `nlp.make_doc(reference.text)`.
        max_length: documents of at least this many tokens are split into their
            sentences; sentences that are still that long are skipped (0: no limit).
        limit: read only the first `limit` documents (0: all).
        augmenter: `augmenter(nlp, example) -> Examples` replacing each example.
    """

    def __init__(self, path: Union[str, Path, None], *, gold_preproc: bool = False,
                 max_length: int = 0, limit: int = 0, augmenter: Optional[Augmenter] = None):
        self.path = None if path is None else Path(path)
        self.gold_preproc = gold_preproc
        self.max_length = max_length
        self.limit = limit
        self.augmenter = augmenter
        # Set by the training loop so that errors name the config key, e.g. "corpora.dev".
        self.config_key: Optional[str] = None
        self.config_hint: str = ""
        self.skipped: Dict[str, int] = {}
        self._warned = False

    def _where(self) -> str:
        return f" (config key [{self.config_key}] path)" if self.config_key else ""

    def files(self) -> List[Path]:
        """The corpus files, in reading order."""
        if self.path is None:
            raise ValueError(Errors.E404.format(where=self._where()))
        if not self.path.exists():
            raise FileNotFoundError(Errors.E400.format(
                path=self.path, where=self._where(), formats=FORMATS, hint=self.config_hint))
        if self.path.is_dir():
            found = sorted(p for p in self.path.rglob("*")
                           if p.is_file() and converter_for(p) is not None)
            if not found:
                raise ValueError(Errors.E401.format(
                    path=self.path, where=self._where(), formats=FORMATS))
            return found
        if converter_for(self.path) is None:
            raise ValueError(Errors.E403.format(
                path=self.path, where=self._where(), formats=FORMATS))
        return [self.path]

    def read_references(self, nlp: "Language") -> Iterator[Doc]:
        """The gold Docs of every file (up to `limit`), with the pipeline's vocab."""
        n_read = 0
        for path in self.files():
            n_in_file = 0
            for doc in read_docs(path, vocab=nlp.vocab, make_doc=nlp.make_doc):
                n_in_file += 1
                if len(doc) == 0:
                    self._count("empty")
                    continue
                yield doc
                n_read += 1
                if self.limit >= 1 and n_read >= self.limit:
                    return
            if n_in_file == 0:
                raise ValueError(Errors.E402.format(path=path, where=self._where()))

    def __call__(self, nlp: "Language") -> Iterator[Example]:
        self.skipped = {}
        self._first_misaligned: List[str] = []
        for reference in self.read_references(nlp):
            for example in self._make_examples(nlp, reference):
                if self.augmenter is None:
                    yield example
                else:
                    yield from self.augmenter(nlp, example)
        if not self._warned:
            self._warned = True
            self._warn()

    def _make_examples(self, nlp: "Language", reference: Doc) -> Iterator[Example]:
        if self.gold_preproc:
            pieces = _sentence_docs(reference) if reference.has_annotation("SENT_START") \
                else [reference]
        elif self.max_length < 1 or len(reference) < self.max_length:
            pieces = [reference]
        elif reference.has_annotation("SENT_START"):
            pieces = _sentence_docs(reference)
        else:
            self._count("long_docs")
            return
        for piece in pieces:
            if len(piece) == 0:
                continue
            if self.max_length >= 1 and len(piece) >= self.max_length:
                self._count("long_sents")
                continue
            predicted = _gold_tokens(nlp, piece) if self.gold_preproc else nlp.make_doc(piece.text)
            example = Example(predicted, piece)
            try:
                example.alignment  # noqa: B018  (computed once here, used by update and score)
            except ValueError as err:
                self._count("misaligned")
                if len(self._first_misaligned) < 3:
                    self._first_misaligned.append(str(err))
                continue
            yield example

    def _count(self, what: str) -> None:
        self.skipped[what] = self.skipped.get(what, 0) + 1

    def _warn(self) -> None:
        where = self.path
        if self.skipped.get("empty"):
            warnings.warn(Warnings.W400.format(n=self.skipped["empty"], path=where),
                          stacklevel=3)
        if self.skipped.get("misaligned"):
            warnings.warn(Warnings.W401.format(
                n=self.skipped["misaligned"], path=where,
                first=" | ".join(self._first_misaligned)), stacklevel=3)
        if self.skipped.get("long_sents") or self.skipped.get("long_docs"):
            warnings.warn(Warnings.W402.format(
                n=self.skipped.get("long_sents", 0), path=where, max_length=self.max_length,
                n_docs=self.skipped.get("long_docs", 0)), stacklevel=3)


def _sentence_docs(doc: Doc) -> List[Doc]:
    return [sent.as_doc() for sent in doc.sents]


def _gold_tokens(nlp: "Language", reference: Doc) -> Doc:
    """A Doc with the reference's words and spaces and no annotation."""
    words = reference.token_texts()
    spaces = reference.column("trailing_space").tolist()
    return Doc(nlp.vocab, words=words, spaces=spaces)


class JsonlCorpus:
    """Raw text for pretraining: `{"text": ...}` lines of JSONL files (plain, .gz, .bz2, .xz
    or .zst) and the texts of `.spacy` files, a file or a directory of them (sorted),
    tokenized by the pipeline; each Example has the same Doc as predicted and reference.

    Documents shorter than `min_length` tokens are skipped. A document of `max_length`
    tokens or more is split, not dropped (spaCy drops it): into pieces of fewer than
    `max_length` tokens, each cut after the last sentence-final token (".", "!", "?",
    or a sentence boundary the document carries) in the second half of the piece, else at
    the length. Bad JSONL lines are skipped with a warning that counts them (a long run is
    not stopped by one broken record). `stats` counts, for the last pass: docs read,
    docs split, pieces they gave, docs and pieces too short, bad records.

    Args:
        path: the file or directory.
        min_length: skip documents (and pieces) of fewer tokens (0: keep all).
        max_length: split documents of at least this many tokens (0: no limit).
        limit: stop after this many documents (0: all; counted before splitting).
    """

    def __init__(self, path: Union[str, Path, None], *, min_length: int = 0,
                 max_length: int = 0, limit: int = 0):
        self.path = None if path is None else Path(path)
        self.min_length = min_length
        self.max_length = max_length
        self.limit = limit
        self.config_key: Optional[str] = None
        self.config_hint: str = ""
        self.stats: Dict[str, int] = {}

    def _where(self) -> str:
        return f" (config key [{self.config_key}] path)" if self.config_key else ""

    def files(self) -> List[Path]:
        """The corpus files, in reading order."""
        where = self._where()
        if self.path is None:
            raise ValueError(Errors.E404.format(where=where))
        if not self.path.exists():
            raise FileNotFoundError(Errors.E400.format(
                path=self.path, where=where, formats=RAW_FORMATS, hint=self.config_hint))
        if self.path.is_dir():
            found = sorted(p for p in self.path.rglob("*")
                           if p.is_file() and converter_for(p) in RAW_CONVERTERS)
            if not found:
                raise ValueError(Errors.E401.format(path=self.path, where=where,
                                                    formats=RAW_FORMATS))
            return found
        if converter_for(self.path) not in RAW_CONVERTERS:
            raise ValueError(Errors.E403.format(path=self.path, where=where,
                                                formats=RAW_FORMATS))
        return [self.path]

    def fingerprint(self) -> Dict[str, Any]:
        """A content hash of the corpus files and reader settings: {"fingerprint":
        "blake2b:<hex>", "files": n, "bytes": total}."""
        digest = hashlib.blake2b(digest_size=16)
        digest.update(f"{self.min_length}/{self.max_length}/{self.limit}".encode())
        total = 0
        files = self.files()
        for path in files:
            digest.update(path.name.encode("utf8") + b"\0")
            with open(path, "rb") as file_:
                for chunk in iter(lambda: file_.read(1 << 20), b""):
                    digest.update(chunk)
                    total += len(chunk)
        return {"fingerprint": "blake2b:" + digest.hexdigest(), "files": len(files),
                "bytes": total}

    def _texts(self, nlp: "Language") -> Iterator[Doc]:
        for path in self.files():
            try:
                if converter_for(path) == "spacy":
                    for doc in read_docs(path, converter="spacy", vocab=nlp.vocab):
                        yield nlp.make_doc(doc.text)
                else:
                    yield from read_docs(path, converter="jsonl", make_doc=nlp.make_doc,
                                         vocab=nlp.vocab, on_error=self._bad_record)
            except (OSError, EOFError, *DECOMPRESSION_ERRORS) as err:
                # a truncated or corrupt compressed file: name the file rather than end with a bare
                # decompression error
                raise ValueError(Errors.E537.format(path=path, where=self._where(),
                                                    reason=f"{type(err).__name__}: {err}")
                                 ) from None

    def _bad_record(self, record) -> None:
        self.stats["bad_records"] = self.stats.get("bad_records", 0) + 1
        if self.stats["bad_records"] <= 3:
            warnings.warn(Warnings.W001.format(n=1, path=f"{record.path} line "
                                               f"{record.line_number}",
                                               reason=record.reason), stacklevel=2)

    def __call__(self, nlp: "Language") -> Iterator[Example]:
        self.stats = {"docs": 0, "split": 0, "pieces": 0, "too_short": 0, "bad_records": 0}
        n = 0
        for doc in self._texts(nlp):
            self.stats["docs"] += 1
            pieces = [doc]
            if self.max_length >= 1 and len(doc) >= self.max_length:
                pieces = split_doc(doc, self.max_length)
                self.stats["split"] += 1
                self.stats["pieces"] += len(pieces)
            for piece in pieces:
                if len(piece) < max(self.min_length, 1):
                    self.stats["too_short"] += 1
                    continue
                yield Example(piece, piece)
            n += 1
            if self.limit >= 1 and n >= self.limit:
                return


SENTENCE_FINAL = frozenset((".", "!", "?"))


def split_doc(doc: Doc, max_length: int) -> List[Doc]:
    """`doc` in consecutive pieces of fewer than `max_length` tokens, each cut after the
    last sentence end in its second half when there is one (a token ".", "!" or "?", or a
    sentence start of the doc's own annotation), else at the length."""
    n = len(doc)
    size = max(max_length - 1, 1)
    ends = numpy.zeros(n + 1, dtype=bool)  # ends[i]: a piece may start at token i
    if doc.has_annotation("SENT_START"):
        ends[:n] = doc.column("sent_start") == 1
    texts = doc.token_texts()
    final = numpy.fromiter((t in SENTENCE_FINAL for t in texts), dtype=bool, count=n)
    ends[1:] |= final
    pieces, start = [], 0
    while n - start > size:
        stop = start + size
        candidates = numpy.flatnonzero(ends[start + size // 2 + 1: stop + 1])
        cut = start + size // 2 + 1 + int(candidates[-1]) if len(candidates) else stop
        pieces.append(doc[start:cut].as_doc())
        start = cut
    pieces.append(doc[start:n].as_doc() if start else doc)
    return pieces


@registry.readers("nlp_core.Corpus.v1", aliases=["spacy.Corpus.v1"])
def create_corpus_reader(path: Optional[Union[str, Path]], gold_preproc: bool = False,
                         max_length: int = 0, limit: int = 0,
                         augmenter: Optional[Augmenter] = None) -> Corpus:
    """Examples from annotated corpus files (see `Corpus`)."""
    return Corpus(path, gold_preproc=gold_preproc, max_length=max_length, limit=limit,
                  augmenter=augmenter)


@registry.readers("nlp_core.JsonlCorpus.v1", aliases=["spacy.JsonlCorpus.v1"])
def create_jsonl_reader(path: Optional[Union[str, Path]], min_length: int = 0,
                        max_length: int = 0, limit: int = 0) -> JsonlCorpus:
    """Raw-text Examples from JSONL or .spacy files (see `JsonlCorpus`)."""
    return JsonlCorpus(path, min_length=min_length, max_length=max_length, limit=limit)
