"""Sentence splitting and cutting documents into pieces of at most --max-tokens tokens.

`pack` is a pure function of token and sentence offsets: sentences are packed whole, in
order, into pieces of at most `max_tokens` tokens; a sentence longer than that is cut at
token boundaries. Without sentences (no --split-sentences) the whole document is one
"sentence", so it is cut every `max_tokens` tokens. A piece's text is the document's text
from its first token's start to its last token's end.

`MakePieces` runs the pipeline (--model, loaded once per worker process as the annotate job
does: model.SharedPipeline behind Beam's Shared) on batches of documents: the tokenizer
only when no sentences are needed, the whole pipeline with --split-sentences.
"""
import re
from typing import Iterator, List, Sequence, Tuple

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.utils import shared

from nlp_core.tokens import Doc

from .model import SharedPipeline
from .records import DeadLetter, raw_text, writable

Span = Tuple[int, int]  # (start, end) token indices, end exclusive
SENTENCE_COMPONENTS = ("parser", "senter", "sentencizer")
_GENERATED = re.compile(r"(.+)@(0|[1-9][0-9]*)", re.DOTALL)  # records.generated_id


def pack(sentences: Sequence[Span], max_tokens: int) -> List[Span]:
    """Token ranges of the pieces: whole sentences packed up to `max_tokens` tokens, longer
    sentences cut (0: one piece per sentence)."""
    pieces: List[Span] = []
    start = end = None
    for s_start, s_end in sentences:
        if max_tokens <= 0:
            pieces.append((s_start, s_end))
            continue
        if start is not None and s_end - start <= max_tokens:
            end = s_end
            continue
        if start is not None:
            pieces.append((start, end))
            start = None
        while s_end - s_start > max_tokens:
            pieces.append((s_start, s_start + max_tokens))
            s_start += max_tokens
        if s_end > s_start:
            start, end = s_start, s_end
    if start is not None:
        pieces.append((start, end))
    return pieces


def token_offsets(doc: Doc) -> List[Span]:
    """(start char, end char) of each token."""
    return [(token.idx, token.idx + len(token.text)) for token in doc]


def doc_pieces(doc: Doc, split_sentences: bool, max_tokens: int) -> List[str]:
    """The texts of a document's pieces (see the module docstring); with --split-sentences
    and no --max-tokens, one text with a sentence per line."""
    text = doc.text
    offsets = token_offsets(doc)
    if not offsets:
        return []
    if split_sentences:
        sentences = [(s.start, s.end) for s in doc.sents if s.end > s.start]
    else:
        sentences = [(0, len(offsets))]
    spans = pack(sentences, max_tokens)
    texts = [text[offsets[a][0]:offsets[b - 1][1]] for a, b in spans]
    if split_sentences and max_tokens <= 0:
        return ["\n".join(t.replace("\n", " ") for t in texts)]
    return texts


def check_sentence_pipeline(components: Sequence[str], model: str) -> None:
    """ValueError unless the pipeline sets sentence boundaries."""
    if not any(c in SENTENCE_COMPONENTS for c in components):
        raise ValueError(f"--split-sentences: --model {model!r} has no component that sets "
                         f"sentence boundaries (components: {', '.join(components) or 'none'})"
                         f"; give a pipeline with a parser, senter or sentencizer, e.g. "
                         "--model en_ewt_sm.")


class MakePieces(beam.DoFn):
    """Batches of (doc_id, text) -> (piece id, text) per piece ('<doc id>#<i>', or the doc
    id when the document is one piece); "dead": a DeadLetter per document the pipeline
    failed on; "done": (doc_id, pieces, words) per document written."""

    DEAD = "dead"
    DONE = "done"

    def __init__(self, model: str, split_sentences: bool, max_tokens: int, input_glob: str):
        self.model = model
        self.input_glob = input_glob
        self.split_sentences = split_sentences
        self.max_tokens = max_tokens
        self._shared = shared.Shared()

    def setup(self):
        self._pipeline: SharedPipeline = self._shared.acquire(
            lambda: SharedPipeline(self.model), tag=(self.model, -1))
        self._pieces = Metrics.counter("prepare_pretraining", "pieces")

    def process(self, batch: List[Tuple[str, str]]) -> Iterator:
        texts = [text for _, text in batch]
        if self.split_sentences:
            docs, failures = self._pipeline.annotate(texts)
        else:
            docs, failures = self._tokenize(texts)
        failed = dict(failures)
        done = iter(docs)
        for i, (doc_id, text) in enumerate(batch):
            if i in failed:
                source, offset = self._position(doc_id)
                yield beam.pvalue.TaggedOutput(self.DEAD, DeadLetter(
                    source, None, offset, doc_id, "annotation_error", failed[i],
                    raw_text(text), len(text.encode("utf8"))))
                continue
            pieces = doc_pieces(next(done), self.split_sentences, self.max_tokens) or [text]
            self._pieces.inc(len(pieces))
            yield beam.pvalue.TaggedOutput(self.DONE, (doc_id, len(pieces),
                                                       len(text.split())))
            if len(pieces) == 1:
                yield doc_id, pieces[0]
            else:
                for n, piece in enumerate(pieces):
                    yield f"{doc_id}#{n}", piece

    def _position(self, doc_id: str) -> Tuple[str, int]:
        """The file and offset of a document (known from a generated id), else the --input
        glob and 0: only (id, text) pairs reach this step."""
        found = _GENERATED.fullmatch(doc_id)
        if found is None:
            return writable(self.input_glob), 0
        return found.group(1), int(found.group(2))

    def _tokenize(self, texts: List[str]):
        make_doc = self._pipeline.nlp.make_doc
        docs, failures = [], []
        for i, text in enumerate(texts):
            try:
                docs.append(make_doc(text))
            except Exception as err:  # reported as a dead letter, never a failed run
                failures.append((i, f"{type(err).__name__}: {err}"))
        return docs, failures
