"""What the transformer model outputs: per batch (`FullTransformerBatch`) and per doc
(`TransformerData`, stored as `doc._.trf_data`).

Vocabulary of shapes:

    n_windows   inputs the transformer read (one or more per span; see span_getters)
    seq_len     padded window length, special tokens included
    n_wp        the doc's wordpieces in text order, each once (no special tokens)
    n_tokens    the doc's tokens

A window holds the doc wordpieces `windows[i, 0] .. windows[i, 1] - 1` after the model's
prefix special tokens. `wordpiece_output[j]` is the last hidden state of wordpiece j,
averaged over the windows that hold it; `align` maps each token to the wordpieces
overlapping it (none for a token the tokenizer dropped, e.g. whitespace).
"""
from dataclasses import dataclass, field
from typing import Any, Dict, List

import numpy
import srsly
from thinc.types import Floats2d, FloatsXd, Ints1d, Ints2d, Ragged

from ...tokens import Doc, Span


def _to_numpy(array: Any) -> numpy.ndarray:
    return array.get() if hasattr(array, "get") and not isinstance(array, numpy.ndarray) \
        else numpy.asarray(array)


@dataclass
class WordpieceBatch:
    """The transformer's input windows, one row each.

    Attributes:
        input_ids: (n_windows, seq_len) int32 wordpiece ids, special tokens included,
            padded with the tokenizer's pad id.
        attention_mask: (n_windows, seq_len) bool, True on the real positions.
        lengths: (n_windows,) int32, real positions per window.
        vocab: (vocab_size,) id -> wordpiece string, shared with the model (for `strings`).
    """

    input_ids: Ints2d
    attention_mask: numpy.ndarray
    lengths: Ints1d
    vocab: numpy.ndarray = field(default_factory=lambda: numpy.zeros(0, dtype=object),
                                 repr=False)

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def strings(self) -> List[List[str]]:
        """The wordpiece strings of each window (special tokens included, no padding)."""
        if not len(self.vocab):
            return [[str(i) for i in row[:n]] for row, n in zip(self.input_ids.tolist(),
                                                                self.lengths.tolist())]
        return [self.vocab[row[:n]].tolist() for row, n in zip(self.input_ids,
                                                               self.lengths.tolist())]

    def rows(self, start: int, end: int) -> "WordpieceBatch":
        """The windows start .. end - 1 (views, no copy)."""
        return WordpieceBatch(self.input_ids[start:end], self.attention_mask[start:end],
                              self.lengths[start:end], self.vocab)


@dataclass
class TransformerData:
    """The transformer's input and output for one doc (`doc._.trf_data`).

    Attributes:
        wordpieces: the doc's input windows.
        tensors: hidden states, each (n_windows, seq_len, width): the last layer last
            (`tensors[-1]`), preceded by the embeddings and every other layer when the
            model was configured with `output_hidden_states`. Padding positions
            (attention_mask False) hold no defined value.
        wordpiece_ids: (n_wp,) int32 ids of the doc's wordpieces in text order.
        wordpiece_offsets: (n_wp, 2) int32 character offsets of each wordpiece in the text.
        wordpiece_output: (n_wp, width) float32 last hidden state per doc wordpiece
            (mean over the windows holding it; zeros where no window holds it).
        align: token -> wordpiece indices: lengths (n_tokens,), dataXd (n_links,).
        windows: (n_windows, 2) int32 [start, end) of the doc wordpieces in each window.
    """

    wordpieces: WordpieceBatch
    tensors: List[FloatsXd]
    wordpiece_ids: Ints1d
    wordpiece_offsets: Ints2d
    wordpiece_output: Floats2d
    align: Ragged
    windows: Ints2d

    @property
    def width(self) -> int:
        return int(self.wordpiece_output.shape[1])

    @property
    def last_hidden_state(self) -> FloatsXd:
        """(n_windows, seq_len, width)."""
        return self.tensors[-1]

    @property
    def wordpiece_strings(self) -> List[str]:
        """The doc's wordpieces in text order (no special tokens)."""
        vocab = self.wordpieces.vocab
        if not len(vocab):
            return [str(i) for i in self.wordpiece_ids.tolist()]
        return vocab[self.wordpiece_ids].tolist()

    @classmethod
    def zeros(cls, n_tokens: int, width: int, xp: Any = numpy) -> "TransformerData":
        """Placeholder data: one zero wordpiece per token, no windows."""
        ids = numpy.zeros(n_tokens, dtype=numpy.int32)
        return cls(
            wordpieces=WordpieceBatch(numpy.zeros((0, 0), dtype=numpy.int32),
                                      numpy.zeros((0, 0), dtype=bool),
                                      numpy.zeros(0, dtype=numpy.int32)),
            tensors=[xp.zeros((0, 0, width), dtype="f")], wordpiece_ids=ids,
            wordpiece_offsets=numpy.zeros((n_tokens, 2), dtype=numpy.int32),
            wordpiece_output=xp.zeros((n_tokens, width), dtype="f"),
            align=Ragged(numpy.arange(n_tokens, dtype=numpy.int32),
                         numpy.ones(n_tokens, dtype=numpy.int32)),
            windows=numpy.zeros((0, 2), dtype=numpy.int32))

    def to_dict(self) -> Dict[str, Any]:
        """Plain data (numpy arrays on the CPU); the vocab is not included."""
        wp = self.wordpieces
        return {"input_ids": _to_numpy(wp.input_ids), "attention_mask": _to_numpy(
            wp.attention_mask), "lengths": _to_numpy(wp.lengths),
            "tensors": [_to_numpy(t) for t in self.tensors],
            "wordpiece_ids": _to_numpy(self.wordpiece_ids),
            "wordpiece_offsets": _to_numpy(self.wordpiece_offsets),
            "wordpiece_output": _to_numpy(self.wordpiece_output),
            "align_data": _to_numpy(self.align.dataXd),
            "align_lengths": _to_numpy(self.align.lengths),
            "windows": _to_numpy(self.windows)}

    @classmethod
    def from_dict(cls, msg: Dict[str, Any]) -> "TransformerData":
        return cls(WordpieceBatch(msg["input_ids"], msg["attention_mask"], msg["lengths"]),
                   list(msg["tensors"]), msg["wordpiece_ids"], msg["wordpiece_offsets"],
                   msg["wordpiece_output"], Ragged(msg["align_data"], msg["align_lengths"]),
                   msg["windows"])


@dataclass
class FullTransformerBatch:
    """The transformer's input and output for a batch of docs.

    Attributes:
        spans: the span getter's spans, one list per doc.
        wordpieces: every window of the batch, docs one after the other.
        tensors: as in TransformerData, over all windows.
        wordpiece_ids, wordpiece_offsets, wordpiece_output: as in TransformerData, the
            docs' wordpieces one after the other (total_wp rows).
        align: token -> doc-local wordpiece indices, the docs' tokens one after the other.
        windows: (n_windows, 2) doc-local wordpiece range of each window.
        doc_windows, doc_wordpieces, doc_tokens, doc_links: (n_docs + 1,) offsets of each
            doc's windows, wordpieces, tokens and alignment entries.
    """

    spans: List[List[Span]]
    wordpieces: WordpieceBatch
    tensors: List[FloatsXd]
    wordpiece_ids: Ints1d
    wordpiece_offsets: Ints2d
    wordpiece_output: Floats2d
    align: Ragged
    windows: Ints2d
    doc_windows: Ints1d
    doc_wordpieces: Ints1d
    doc_tokens: Ints1d
    doc_links: Ints1d
    _doc_data: List[TransformerData] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.doc_tokens) - 1

    @property
    def doc_data(self) -> List[TransformerData]:
        """One TransformerData per doc (views into this batch's arrays)."""
        if self._doc_data is None:
            self._doc_data = self.split_by_doc()
        return self._doc_data

    def split_by_doc(self) -> List[TransformerData]:
        """Cut the batch into one TransformerData per doc (views, no copies)."""
        out = []
        links, lengths = self.align.dataXd, self.align.lengths
        for d in range(len(self)):
            w0, w1 = int(self.doc_windows[d]), int(self.doc_windows[d + 1])
            p0, p1 = int(self.doc_wordpieces[d]), int(self.doc_wordpieces[d + 1])
            t0, t1 = int(self.doc_tokens[d]), int(self.doc_tokens[d + 1])
            a0, a1 = int(self.doc_links[d]), int(self.doc_links[d + 1])
            out.append(TransformerData(
                wordpieces=self.wordpieces.rows(w0, w1),
                tensors=[t[w0:w1] for t in self.tensors],
                wordpiece_ids=self.wordpiece_ids[p0:p1],
                wordpiece_offsets=self.wordpiece_offsets[p0:p1],
                wordpiece_output=self.wordpiece_output[p0:p1],
                align=Ragged(links[a0:a1], lengths[t0:t1]),
                windows=self.windows[w0:w1]))
        return out

    @classmethod
    def empty(cls, n_docs: int, width: int = 0, xp: Any = numpy) -> "FullTransformerBatch":
        """A batch of `n_docs` docs without tokens."""
        zeros = numpy.zeros(n_docs + 1, dtype=numpy.int64)
        return cls(spans=[[] for _ in range(n_docs)],
                   wordpieces=WordpieceBatch(numpy.zeros((0, 0), dtype=numpy.int32),
                                             numpy.zeros((0, 0), dtype=bool),
                                             numpy.zeros(0, dtype=numpy.int32)),
                   tensors=[xp.zeros((0, 0, width), dtype="f")],
                   wordpiece_ids=numpy.zeros(0, dtype=numpy.int32),
                   wordpiece_offsets=numpy.zeros((0, 2), dtype=numpy.int32),
                   wordpiece_output=xp.zeros((0, width), dtype="f"),
                   align=Ragged(numpy.zeros(0, dtype=numpy.int32),
                                numpy.zeros(0, dtype=numpy.int32)),
                   windows=numpy.zeros((0, 2), dtype=numpy.int32),
                   doc_windows=zeros, doc_wordpieces=zeros, doc_tokens=zeros,
                   doc_links=zeros)


# msgpack support, so that docs holding `trf_data` travel between processes (nlp.pipe with
# n_process > 1 sends Doc.to_bytes()).
_MSGPACK_KEY = "__nlp_core_trf_data__"


@srsly.msgpack_encoders("nlp_core_trf_data")
def _encode_transformer_data(obj: Any, chain: Any = None) -> Any:
    if isinstance(obj, TransformerData):
        return {_MSGPACK_KEY: obj.to_dict()}
    return obj if chain is None else chain(obj)


@srsly.msgpack_decoders("nlp_core_trf_data")
def _decode_transformer_data(obj: Any, chain: Any = None) -> Any:
    if isinstance(obj, dict) and _MSGPACK_KEY in obj:
        return TransformerData.from_dict(obj[_MSGPACK_KEY])
    return obj if chain is None else chain(obj)


def install_extensions() -> None:
    """Register `Doc._.trf_data` (default None), once."""
    if not Doc.has_extension("trf_data"):
        Doc.set_extension("trf_data", default=None)
