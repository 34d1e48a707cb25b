"""Long documents annotated in pieces, so that a worker's memory stays bounded whatever a
document's length.

A pipeline's memory grows with the tokens it holds at once, and for one document the
parser and the entity recogniser cannot work in smaller chunks: their precomputed hidden
features cover the whole document (about 20 KB per token with en_ewt_sm, so a document of
a million characters needed more than 4 GB), and parsing one long document is a single
sequence of moves, one state wide, which is slow (see PIECE_CHARS). So a text longer than
`piece_chars` is cut into pieces of at most that many characters, the pieces are
annotated as documents of their own, and the pieces' Docs are joined back into one Doc
over the original text
(`Doc.from_docs`: token offsets, heads, entities and span groups shifted; each piece
starts a sentence). Documents and pieces reach the pipeline in calls of at most
`group_chars` characters: a job's batch (up to --batch-chars) is cut into such calls too,
which halved the peak memory of a 500,000-character batch (1.2 GB to 0.6 GB with
en_ewt_sm) and was not slower.

A long text is tokenized whole first (the tokenizer's memory per token is small), so the
pieces have exactly the tokens of the whole text; the Doc is then cut at token boundaries
where annotation across them matters least: the latest one in the second half of the
window of the best kind, a paragraph break, a line break, the end of a sentence (`.`,
`!`, `?` with closing quotes or brackets, then whitespace), any whitespace, any token
boundary. Only the parse, tags and entities near a cut can differ from a whole-document
run. A pre-tokenized Doc (from `.spacy` input) that has sentence boundaries is cut at
sentence starts first, so that no arc of an existing parse crosses a cut.
"""
import re
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy

from nlp_core.tokens import Doc

# A piece of this many characters is about 1k tokens. A document is one sequence of parser
# states, stepped one move at a time: a long piece alone in the parser's chunk of 2,048
# tokens (transition_parser.CHUNK_TOKENS) is stepped one state at a time, so the long
# documents of a corpus parsed at half the speed of short ones. Pieces of 5,000 characters
# run side by side: 1.7x the words/CPU s of 20,000-character pieces on 450 KB of EWT
# paragraphs with en_ewt_sm (2,000: 1.9x), changing 0.07% of tags and 0.13% of heads
# (2,000: 0.19% and 0.33%), near the cuts; the cuts fall at paragraph breaks or sentence
# ends in all but text without them. Memory per piece is smaller too.
PIECE_CHARS = 5_000
# Characters given to one `nlp.pipe` call (about 20k tokens: big enough to keep the
# vectorised layers efficient).
GROUP_CHARS = 100_000

# Cut kinds, best first; each match ends where the next piece starts.
_CUTS = [re.compile(pattern) for pattern in (
    r"\n[^\S\n]*\n\s*(?=\S)",                      # paragraph break
    r"\n\s*(?=\S)",                                # line break
    r"[.!?\u2026][\"'\u201d\u2019)\]]*\s+(?=\S)",  # end of a sentence
    r"\s+(?=\S)",                                  # any whitespace
)]

Input = Union[str, Doc]


def _best_cut(text: str, idx: numpy.ndarray, low: int, high: int,
              sentence_starts: Optional[numpy.ndarray]) -> int:
    """Where the next piece starts: the latest token in [low, high) that begins a cut of
    the best kind (a sentence start first, where given), else `high - 1`."""
    if sentence_starts is not None:
        found = numpy.nonzero(sentence_starts[low:high])[0]
        if len(found):
            return low + int(found[-1])
    begin, end = int(idx[low]), int(idx[high - 1])
    for pattern in _CUTS:
        ends = [m.end() for m in pattern.finditer(text, begin, end + 1)]
        if not ends:
            continue
        tokens = numpy.searchsorted(idx, ends)
        hits = tokens[(tokens < len(idx)) & (idx[numpy.minimum(tokens, len(idx) - 1)]
                                             == numpy.asarray(ends))]
        if len(hits):
            return int(hits[-1])
    return high - 1


def cuts(doc: Doc, piece_chars: int = PIECE_CHARS) -> List[int]:
    """Token indices where the pieces of `doc` start (the first is 0): each piece spans at
    most `piece_chars` characters, unless one token is longer."""
    n = len(doc)
    text = doc.text
    if not n or len(text) <= piece_chars:
        return [0]
    idx = doc.column("idx").astype(numpy.int64)
    sentence_starts = doc.column("sent_start") == 1 if doc.ensure_sent_starts() else None
    starts = [0]
    while len(text) - idx[starts[-1]] > piece_chars:
        first = starts[-1]
        high = int(numpy.searchsorted(idx, idx[first] + piece_chars, side="right"))
        if high >= n:
            break
        low = max(first + 1, int(numpy.searchsorted(idx, idx[first] + piece_chars // 2)))
        starts.append(_best_cut(text, idx, min(low, high - 1), high, sentence_starts)
                      if high - 1 > first else first + 1)
    return starts


def split(doc: Doc, piece_chars: int = PIECE_CHARS) -> List[Doc]:
    """`doc` as Docs of at most about `piece_chars` characters (`[doc]` when short)."""
    starts = cuts(doc, piece_chars)
    if len(starts) == 1:
        return [doc]
    pieces = [doc[a:b].as_doc() for a, b in zip(starts, starts[1:] + [len(doc)])]
    for piece in pieces:
        piece.user_data = {}
    return pieces


def join(pieces: Sequence[Doc], original: Input) -> Doc:
    """The Doc of `original` from its annotated pieces (see the module docstring)."""
    if len(pieces) == 1:
        return pieces[0]
    doc = Doc.from_docs(pieces, ensure_whitespace=False)
    tensors = [p.tensor for p in pieces]
    if all(t is not None and len(t) == len(p) and getattr(t, "ndim", 0) == 2
           for t, p in zip(tensors, pieces)):
        xp = numpy if isinstance(tensors[0], numpy.ndarray) else _array_module(tensors[0])
        doc.tensor = xp.concatenate(tensors)
    if isinstance(original, Doc):
        doc.user_data.update(original.user_data)
        for name, group in original.spans.items():  # pieces (Span.as_doc) drop span groups
            if name not in doc.spans:
                doc.spans[name] = [span.copy_to(doc) for span in group]
    return doc


def _array_module(array) -> object:
    import cupy  # only reached for a cupy array

    return cupy.get_array_module(array)


def annotate_in_pieces(pipe: Callable[[List[Input]], Iterable[Doc]],
                       make_doc: Callable[[str], Doc], inputs: Sequence[Input],
                       piece_chars: int = PIECE_CHARS, group_chars: int = GROUP_CHARS
                       ) -> Iterator[Tuple[Doc, List[Doc]]]:
    """Run `pipe` (e.g. `lambda xs: nlp.pipe(xs, batch_size=len(xs))`) on `inputs`, long
    ones in pieces (a long text tokenized by `make_doc` first); yields (joined doc, the
    pieces' docs) per input, in order.

    Inputs and pieces go to `pipe` in calls of at most `group_chars` characters (or one
    input): short inputs together, in order, then the pieces of each long one.
    """
    def is_long(x: Input) -> bool:
        return len(x if isinstance(x, str) else x.text) > piece_chars

    short = [x for x in inputs if not is_long(x)]
    done = (doc for group in _groups(short, group_chars) for doc in pipe(group))
    for x in inputs:
        if not is_long(x):
            doc = next(done)
            yield doc, [doc]
            continue
        parts = split(make_doc(x) if isinstance(x, str) else x, piece_chars)
        docs: List[Doc] = []
        for group in _groups(parts, group_chars):
            docs.extend(pipe(group))
        yield join(docs, x), docs


def _groups(parts: Sequence[Input], group_chars: int) -> Iterator[List[Input]]:
    group: List[Input] = []
    chars = 0
    for part in parts:
        size = len(part if isinstance(part, str) else part.text)
        if group and chars + size > group_chars:
            yield group
            group, chars = [], 0
        group.append(part)
        chars += size
    if group:
        yield group
