"""From docs to the transformer's padded input windows, and back to doc wordpieces.

Each doc's text is tokenized once into wordpieces (a fast tokenizer gives their character
offsets). The span getter's spans become ranges of those wordpieces; a range longer than
the model allows is cut into consecutive pieces. Every piece is one window: the model's
prefix special tokens, the wordpieces, its suffix special tokens. Windows are grouped into
sub-batches of at most `max_batch_items` padded positions, shortest first, so that short
windows are not padded to the longest one of the batch: on a GPU each sub-batch filled up
to that size (few calls), on the CPU split where padding costs more than one more call
(`group_windows`).

Everything here is numpy over the whole batch; the only Python loops run over docs and
sub-batches (and the CPU grouping's, over windows).
"""
from dataclasses import dataclass
from typing import Any, List, Sequence, Tuple

import numpy
from thinc.types import Ints1d, Ints2d

from ...errors import Errors
from ...tokens import Doc, Span
from .alignment import overlapping_ranges, ragged_ranges, shift_offsets, split_ranges

# On the CPU, the fixed cost of one sub-batch through the encoder, in padded positions: the
# grouping weighs one more call against the padding it saves. MiniLM-L6 (en_ewt_trf) on EWT
# test, benchmarks/trf_grouping.py: any value from 16 to 128 ran 1.75-1.87x as fast as
# filled sub-batches on sentences and 1.17-1.22x on 10-sentence documents (256: 1.60x /
# 1.19x); 64 sits in the middle of that plateau.
CPU_CALL_POSITIONS = 64
# A tokenizer limit above this is HF's "no limit" sentinel (int(1e30)), not a real one.
_NO_LIMIT = 1_000_000


@dataclass
class Wordpiecer:
    """A fast tokenizer and the facts about it the windows need.

    Attributes:
        tokenizer: a HF fast tokenizer (character offsets).
        prefix, suffix: the special token ids around one sequence ([CLS] / [SEP], <s> / </s>).
        pad_id: the padding id.
        max_length: window length at most, special tokens included.
        vocab: (vocab_size,) object array id -> wordpiece string.
    """

    tokenizer: Any
    prefix: List[int]
    suffix: List[int]
    pad_id: int
    max_length: int
    vocab: numpy.ndarray

    @classmethod
    def from_tokenizer(cls, tokenizer: Any, max_positions: int | None = None) -> "Wordpiecer":
        """Read the special tokens and the length limit off `tokenizer`.

        Args:
            tokenizer: a fast tokenizer.
            max_positions: the model's position limit (config.max_position_embeddings,
                less any offset), used when the tokenizer gives no limit of its own.
        """
        probe = "a"
        plain = tokenizer(probe, add_special_tokens=False)["input_ids"]
        full = tokenizer(probe, add_special_tokens=True)["input_ids"]
        at = next((i for i in range(len(full) - len(plain) + 1)
                   if full[i:i + len(plain)] == plain), 0)
        prefix, suffix = full[:at], full[at + len(plain):]
        limit = getattr(tokenizer, "model_max_length", None) or _NO_LIMIT
        if limit >= _NO_LIMIT:
            limit = max_positions or 512
        elif max_positions:
            limit = min(limit, max_positions)
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        size = max(len(tokenizer), max(tokenizer.get_vocab().values(), default=-1) + 1)
        vocab = numpy.array([""] * size, dtype=object)
        for string, i in tokenizer.get_vocab().items():
            vocab[i] = string
        return cls(tokenizer, list(prefix), list(suffix), int(pad_id), int(limit), vocab)

    @property
    def n_special(self) -> int:
        return len(self.prefix) + len(self.suffix)

    def tokenize(self, texts: Sequence[str]) -> Tuple[List[Ints1d], List[Ints2d]]:
        """Wordpiece ids (n_wp,) and character offsets (n_wp, 2) of each text, no special
        tokens, no truncation."""
        enc = self.tokenizer(list(texts), add_special_tokens=False, truncation=False,
                             return_offsets_mapping=True, return_attention_mask=False,
                             return_token_type_ids=False, verbose=False)
        ids = [numpy.asarray(x, dtype=numpy.int32) for x in enc["input_ids"]]
        offsets = [numpy.asarray(x, dtype=numpy.int32).reshape(-1, 2)
                   for x in enc["offset_mapping"]]
        return ids, offsets


@dataclass
class WindowBatch:
    """The transformer input of a batch, and how its output maps back to the docs.

    Attributes:
        input_ids: (n_windows, seq_len) int64, padded.
        attention_mask: (n_windows, seq_len) bool.
        lengths: (n_windows,) int32 real positions per window.
        positions: (n_content,) int64 flat index (row * seq_len + column) of each
            non-special position.
        targets: (n_content,) int64 batch wordpiece index each position belongs to.
        counts: (total_wp,) int32 windows holding each wordpiece.
        groups: sub-batches as (rows, padded length), rows sorted by length.
        wordpiece_ids: (total_wp,) int32; wordpiece_offsets: (total_wp, 2) int32.
        align_lengths: (total_tokens,) int32; align_indices: (n_links,) int32 doc-local.
        windows: (n_windows, 2) int32 doc-local wordpiece range of each window.
        doc_windows, doc_wordpieces, doc_tokens, doc_links: (n_docs + 1,) offsets.
    """

    input_ids: Ints2d
    attention_mask: numpy.ndarray
    lengths: Ints1d
    positions: Ints1d
    targets: Ints1d
    counts: Ints1d
    groups: List[Tuple[Ints1d, int]]
    wordpiece_ids: Ints1d
    wordpiece_offsets: Ints2d
    align_lengths: Ints1d
    align_indices: Ints1d
    windows: Ints2d
    doc_windows: Ints1d
    doc_wordpieces: Ints1d
    doc_tokens: Ints1d
    doc_links: Ints1d

    @property
    def is_identity(self) -> bool:
        """True when every wordpiece is in exactly one window, in order: the output rows
        are then a plain gather (no averaging)."""
        return len(self.targets) == len(self.counts) and bool(
            (self.targets == numpy.arange(len(self.targets))).all())

    @property
    def n_wordpieces(self) -> int:
        return len(self.wordpiece_ids)


def _offsets(lengths: Sequence[int]) -> Ints1d:
    out = numpy.zeros(len(lengths) + 1, dtype=numpy.int64)
    numpy.cumsum(numpy.asarray(lengths, dtype=numpy.int64), out=out[1:])
    return out


def group_windows(lengths: Ints1d, max_items: int, call_positions: int | None = None
                  ) -> List[Tuple[Ints1d, int]]:
    """Sub-batches of window rows, shortest windows first, each with at most `max_items`
    padded positions (rows x longest length; a longer window is a sub-batch alone).

    Without `call_positions` each sub-batch is filled up to `max_items`: the fewest calls,
    what a GPU wants (its fixed cost per call is high). With it (the CPU), the sub-batches
    are the split of the sorted windows that minimises their padded positions plus
    `call_positions` for each sub-batch (the fixed cost of one call through the encoder,
    counted in positions): on the CPU padding costs what real positions do, and a filled
    sub-batch of short sentences was more than half padding.
    """
    if not len(lengths):
        return []
    order = numpy.argsort(lengths, kind="stable")
    sorted_lengths = lengths[order]
    if call_positions is not None:
        return [(order[start:end], int(sorted_lengths[end - 1])) for start, end in
                _least_cost_split(sorted_lengths, max_items, call_positions)]
    longest = int(sorted_lengths[-1])
    if len(lengths) * longest <= max_items:
        return [(numpy.arange(len(lengths)), longest)]
    groups, start = [], 0
    for i in range(1, len(order) + 1):
        if i == len(order) or (i + 1 - start) * int(sorted_lengths[i]) > max_items:
            groups.append((order[start:i], int(sorted_lengths[i - 1])))
            start = i
    return groups


def _least_cost_split(sorted_lengths: Ints1d, max_items: int, call_positions: int
                      ) -> List[Tuple[int, int]]:
    """(start, end) ranges of `sorted_lengths` (ascending) that minimise the sum over
    ranges of (end - start) x sorted_lengths[end - 1] + call_positions, each range within
    `max_items` padded positions unless it is one window: dynamic programming over the end
    of the last range, O(windows x the rows that fit)."""
    n = len(sorted_lengths)
    best = numpy.zeros(n + 1, dtype=numpy.float64)
    back = numpy.zeros(n + 1, dtype=numpy.int64)
    for end in range(1, n + 1):
        longest = int(sorted_lengths[end - 1])
        first = max(0, end - max(1, max_items // max(longest, 1)))
        starts = numpy.arange(first, end)
        cost = best[first:end] + (end - starts) * longest
        k = int(numpy.argmin(cost))
        best[end] = cost[k] + call_positions
        back[end] = first + k
    ranges, end = [], n
    while end > 0:
        ranges.append((int(back[end]), end))
        end = int(back[end])
    return ranges[::-1]


def build_windows(docs: Sequence[Doc], spans: Sequence[Sequence[Span]],
                  wordpiecer: Wordpiecer, max_batch_items: int,
                  call_positions: int | None = None) -> WindowBatch:
    """Tokenize `docs`, align wordpieces with tokens, and lay out the input windows.

    Args:
        docs: the batch.
        spans: the span getter's output, one list of Spans per doc.
        wordpiecer: the tokenizer.
        max_batch_items: padded positions per sub-batch at most.
        call_positions: the grouping's fixed cost per sub-batch (`group_windows`): a
            number on the CPU, None on a GPU.

    Raises:
        ValueError: E333 when `spans` has not one list per doc.
    """
    if len(spans) != len(docs):
        raise ValueError(Errors.E333.format(got=len(spans), n_docs=len(docs)))
    ids, offsets = wordpiecer.tokenize([doc.text for doc in docs])
    n_wp = [len(x) for x in ids]
    doc_wordpieces = _offsets(n_wp)
    doc_tokens = _offsets([len(doc) for doc in docs])
    shifts = shift_offsets([len(doc.text) for doc in docs])
    wp_ids = numpy.concatenate(ids) if ids else numpy.zeros(0, dtype=numpy.int32)
    wp_offsets = (numpy.concatenate(offsets) if offsets
                  else numpy.zeros((0, 2), dtype=numpy.int32))
    wp_shifted = wp_offsets.astype(numpy.int64) + numpy.repeat(shifts, n_wp)[:, None]
    wp_starts, wp_ends = wp_shifted[:, 0], wp_shifted[:, 1]

    # Tokens -> wordpieces (batch indices, then made doc-local).
    tok_shift = numpy.repeat(shifts, numpy.diff(doc_tokens))
    tok_starts = numpy.concatenate([doc.column("idx") for doc in docs]).astype(numpy.int64) \
        if len(docs) else numpy.zeros(0, dtype=numpy.int64)
    tok_ends = tok_starts + (numpy.concatenate([doc.column("length") for doc in docs])
                             if len(docs) else 0)
    lo, hi = overlapping_ranges(tok_starts + tok_shift, tok_ends + tok_shift,
                                wp_starts, wp_ends)
    align_lengths, links = ragged_ranges(lo, hi)
    doc_links = _offsets(align_lengths)[doc_tokens]
    links = links - numpy.repeat(doc_wordpieces[:-1], numpy.diff(doc_links)).astype(
        numpy.int32)

    # Spans -> wordpiece ranges -> windows of at most max_length - n_special wordpieces.
    n_spans = [len(s) for s in spans]
    span_doc = numpy.repeat(numpy.arange(len(docs)), n_spans)
    bounds = numpy.array([(s.start_char, s.end_char) for doc_spans in spans
                          for s in doc_spans], dtype=numpy.int64).reshape(-1, 2)
    bounds = bounds + shifts[span_doc][:, None]
    span_lo, span_hi = overlapping_ranges(bounds[:, 0], bounds[:, 1], wp_starts, wp_ends)
    max_content = max(wordpiecer.max_length - wordpiecer.n_special, 1)
    source, win_lo, win_hi = split_ranges(span_lo, span_hi, max_content)
    win_doc = span_doc[source]
    doc_windows = _offsets(numpy.bincount(win_doc, minlength=len(docs)).tolist())

    # The padded input.
    n_content = (win_hi - win_lo).astype(numpy.int64)
    lengths = (n_content + wordpiecer.n_special).astype(numpy.int32)
    n_windows = len(lengths)
    seq_len = int(lengths.max()) if n_windows else 0
    input_ids = numpy.full((n_windows, seq_len), wordpiecer.pad_id, dtype=numpy.int64)
    attention_mask = numpy.arange(seq_len)[None, :] < lengths[:, None]
    n_prefix = len(wordpiecer.prefix)
    rows = numpy.arange(n_windows)
    if n_prefix:
        input_ids[:, :n_prefix] = wordpiecer.prefix
    _, targets = ragged_ranges(win_lo, win_hi)
    targets = targets.astype(numpy.int64)
    row_of = numpy.repeat(rows, n_content)
    first = numpy.cumsum(n_content) - n_content
    column = numpy.arange(len(targets)) - numpy.repeat(first, n_content) + n_prefix
    positions = row_of * seq_len + column
    input_ids.reshape(-1)[positions] = wp_ids[targets]
    for k, special in enumerate(wordpiecer.suffix):
        input_ids[rows, n_prefix + n_content + k] = special
    counts = numpy.bincount(targets, minlength=len(wp_ids)).astype(numpy.int32)
    windows = numpy.stack([win_lo, win_hi], axis=1) - doc_wordpieces[win_doc][:, None] \
        if n_windows else numpy.zeros((0, 2), dtype=numpy.int64)
    return WindowBatch(
        input_ids=input_ids, attention_mask=attention_mask, lengths=lengths,
        positions=positions, targets=targets, counts=counts,
        groups=group_windows(lengths, max_batch_items, call_positions), wordpiece_ids=wp_ids,
        wordpiece_offsets=wp_offsets, align_lengths=align_lengths, align_indices=links,
        windows=windows.astype(numpy.int32), doc_windows=doc_windows,
        doc_wordpieces=doc_wordpieces, doc_tokens=doc_tokens, doc_links=doc_links)
