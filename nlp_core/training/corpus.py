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
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, Iterable, Iterator, List, Optional, Union

from ..errors import Errors, Warnings
from ..formats.detect import EXTENSIONS, converter_for, read_docs
from ..registry import registry
from ..tokens import Doc
from .example import Example

if TYPE_CHECKING:
    from ..language import Language

Augmenter = Callable[["Language", Example], Iterable[Example]]
FORMATS = ", ".join(sorted(EXTENSIONS))


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
    """Raw text for pretraining: `{"text": ...}` lines of a JSONL file (or a directory of
    .jsonl / .jsonl.gz files), tokenized by the pipeline; each Example has the same Doc as
    predicted and reference.

    Args:
        path: the file or directory.
        min_length, max_length: keep documents with at least / fewer than this many
            tokens (0: no bound).
        limit: stop after this many documents (0: all).
    """

    def __init__(self, path: Union[str, Path, None], *, min_length: int = 0,
                 max_length: int = 0, limit: int = 0):
        self.path = None if path is None else Path(path)
        self.min_length = min_length
        self.max_length = max_length
        self.limit = limit
        self.config_key: Optional[str] = None

    def files(self) -> List[Path]:
        where = f" (config key [{self.config_key}] path)" if self.config_key else ""
        if self.path is None:
            raise ValueError(Errors.E404.format(where=where))
        if not self.path.exists():
            raise FileNotFoundError(Errors.E400.format(
                path=self.path, where=where, formats=".jsonl", hint=""))
        if self.path.is_dir():
            found = sorted(p for p in self.path.rglob("*")
                           if p.is_file() and converter_for(p) == "jsonl")
            if not found:
                raise ValueError(Errors.E401.format(path=self.path, where=where,
                                                            formats=".jsonl"))
            return found
        return [self.path]

    def __call__(self, nlp: "Language") -> Iterator[Example]:
        n = 0
        for path in self.files():
            for doc in read_docs(path, converter="jsonl", make_doc=nlp.make_doc,
                                 vocab=nlp.vocab):
                if len(doc) < max(self.min_length, 1):
                    continue
                if self.max_length >= 1 and len(doc) >= self.max_length:
                    continue
                yield Example(doc, doc)
                n += 1
                if self.limit >= 1 and n >= self.limit:
                    return


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
    """Raw-text Examples from JSONL (see `JsonlCorpus`)."""
    return JsonlCorpus(path, min_length=min_length, max_length=max_length, limit=limit)
