"""Doc: a tokenized text with its annotations, stored as one numpy array per attribute.

Token and Span are thin views over these arrays. The columns, their dtypes and the public
way to read and write them (`Doc.column`, `Doc.set_column`, `Doc.from_columns`) are in
`doc_columns.py`.

The values and the attribute IDs used by `to_array` / `from_array` match spaCy's, so arrays
and `.spacy` files move between the two libraries unchanged.
"""
from typing import Any, Dict, Iterable, Iterator, List, Sequence, Tuple, Union

import numpy
import srsly

from .. import attrs as A
from ..display_html import repr_html
from ..errors import Errors
from ..vectors_similarity import vector_norm
from . import vector_attrs as VA
from .annotation import (
    ANNOTATION_DTYPES,
    COLUMN_OF_ATTR,
    CORE_DTYPES,
    IOB_VALUES,
    pos_id,
)
from .doc_columns import DocColumns
from .morphanalysis import morph_key
from .span import Span
from .span_group import SpanGroups
from .token import Token
from .underscore import Underscore, make_extension_api


def _as_uint64(array: numpy.ndarray) -> numpy.ndarray:
    """Signed values (head offsets, sent starts) wrap to uint64 exactly as spaCy stores them."""
    if array.dtype == numpy.uint64:
        return array
    if array.dtype.kind in "iub":
        return array.astype(numpy.int64).view(numpy.uint64)
    return array.astype(numpy.uint64)


class Doc(DocColumns):
    """A sequence of tokens over one text, with annotations.

    Args:
        vocab: the shared Vocab.
        words: token texts (non-empty strings).
        spaces: whether each token is followed by a single space; defaults to all True.
        user_data: initial `doc.user_data`.
        tags, pos, morphs, lemmas, deps: per-token strings (None entries leave a value unset).
        heads: absolute head index per token (a root is its own head).
        sent_starts: per token True / False / None (unknown).
        ents: IOB strings per token, e.g. ["B-ORG", "I-ORG", "O", ""] ("" = missing).
    """

    set_extension, get_extension, has_extension, remove_extension = make_extension_api(
        "doc_extensions")

    def __init__(self, vocab, words: Sequence[str] | None = None,
                 spaces: Sequence[bool] | None = None, *, user_data: dict | None = None,
                 tags=None, pos=None, morphs=None, lemmas=None, heads=None, deps=None,
                 sent_starts=None, ents=None):
        words = list(words or [])
        if spaces is None:
            spaces = [True] * len(words)
        spaces = [bool(s) for s in spaces]
        if len(spaces) != len(words):
            raise ValueError(Errors.E005.format(n_words=len(words), n_spaces=len(spaces)))
        add = vocab.strings.add
        for i, word in enumerate(words):
            if not isinstance(word, str) or not word:
                raise ValueError(Errors.E006.format(i=i, word=word))
        orths = numpy.fromiter((add(w) for w in words), dtype=numpy.uint64, count=len(words))
        lengths = numpy.fromiter((len(w) for w in words), dtype=numpy.int32, count=len(words))
        text = "".join(w + " " if s else w for w, s in zip(words, spaces))
        self._init(vocab, text, orths, lengths, numpy.asarray(spaces, dtype=bool))
        if user_data:
            self.user_data.update(user_data)
        self._set_initial_annotations(tags, pos, morphs, lemmas, heads, deps, sent_starts, ents)

    def _init(self, vocab, text: str, orth, length, trailing_space, idx=None) -> None:
        self.vocab = vocab
        self.text = text
        self.length = n = len(orth)
        if idx is None:
            idx = numpy.zeros(n, dtype=numpy.int32)
            if n > 1:
                numpy.cumsum(length[:-1] + trailing_space[:-1], out=idx[1:])
        self._cols: Dict[str, numpy.ndarray] = {
            "orth": orth, "length": length, "trailing_space": trailing_space, "idx": idx}
        self.user_data: Dict[Any, Any] = {}
        self.cats: Dict[str, float] = {}
        # True when the spaces were guessed (e.g. tokens read without spacing information)
        self.has_unknown_spaces = False
        self._tensor = None
        self._spans = None
        self._tree = None

    @property
    def tensor(self) -> numpy.ndarray:
        """Per-token vectors set by an embedding component: shape (n_tokens, width), or an
        empty array when none has run."""
        if self._tensor is None:
            return numpy.zeros((0,), dtype=numpy.float32)
        return self._tensor

    @tensor.setter
    def tensor(self, value: numpy.ndarray) -> None:
        self._tensor = value

    def _set_initial_annotations(self, tags, pos, morphs, lemmas, heads, deps, sent_starts,
                                 ents) -> None:
        add = self.vocab.strings.add
        for name, values in (("tag", tags), ("lemma", lemmas), ("dep", deps)):
            if values is not None:
                self._check_len(values, name)
                col = self._col(name)
                for i, value in enumerate(values):
                    if value is not None:
                        col[i] = add(value)
        if pos is not None:
            self._check_len(pos, "pos")
            col = self._col("pos")
            for i, value in enumerate(pos):
                if value is not None:
                    col[i] = pos_id(value)
        if morphs is not None:
            self._check_len(morphs, "morphs")
            col = self._col("morph")
            for i, value in enumerate(morphs):
                if value is not None:
                    col[i] = morph_key(self.vocab, value)
        if heads is not None:
            self._check_len(heads, "heads")
            abs_heads = numpy.asarray(heads, dtype=numpy.int64)
            for i, head in enumerate(abs_heads):
                if not 0 <= head < self.length:
                    raise ValueError(Errors.E021.format(head=head, i=i, n=self.length))
            self._col("head")[:] = abs_heads - numpy.arange(self.length)
            self._tree_changed()
        if sent_starts is not None:
            self._check_len(sent_starts, "sent_starts")
            col = self._col("sent_start")
            for i, value in enumerate(sent_starts):
                col[i] = 0 if value is None else (1 if value else -1)
        if ents is not None:
            self._check_len(ents, "ents")
            iob, types = self._col("ent_iob"), self._col("ent_type")
            for i, tag in enumerate(ents):
                tag = tag or ""
                prefix, _, label = tag.partition("-")
                if prefix not in IOB_VALUES:
                    raise ValueError(Errors.E010.format(value=tag, i=i))
                iob[i] = IOB_VALUES[prefix]
                types[i] = add(label) if label else 0
        if heads is not None and sent_starts is None:
            self._sent_starts_from_heads()

    def _check_len(self, values, name: str) -> None:
        if len(values) != self.length:
            raise ValueError(f"Doc got {len(values)} {name} for {self.length} words; give one "
                             f"value per word (None to leave it unset).")

    # --- columns -----------------------------------------------------------------------

    def has_annotation(self, attr: Union[str, int], *, require_complete: bool = False) -> bool:
        """Whether any (or, with require_complete, every) token has a value for `attr`."""
        attr_id = A.intify_attr(attr)
        if attr_id == A.SENT_START:
            col = self._cols.get("sent_start")
            present = col is not None and bool((col[1:] != 0).any() if not require_complete
                                               else (col[1:] != 0).all())
            return present or self.has_annotation("DEP", require_complete=require_complete)
        if attr_id == A.HEAD:
            attr_id = A.DEP
        col = self._cols.get(COLUMN_OF_ATTR.get(attr_id, ""))
        if col is None or self.length == 0:
            return False
        return bool(col.all() if require_complete else col.any())

    @property
    def is_parsed(self) -> bool:
        return self.has_annotation("DEP")

    # --- sequence protocol -------------------------------------------------------------

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop, step = key.indices(self.length)
            if step != 1:
                raise ValueError("Doc slices must be contiguous (step 1).")
            return Span(self, start, max(start, stop))
        i = int(key)
        if i < 0:
            i += self.length
        if not 0 <= i < self.length:
            raise IndexError(Errors.E007.format(i=key, n=self.length))
        return Token(self, i)

    def __iter__(self) -> Iterator:
        for i in range(self.length):
            yield Token(self, i)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        """What a notebook shows: the parse drawn as arcs, else the entities
        (`nlp_core.display`)."""
        return repr_html(self)

    def __bool__(self) -> bool:
        return True

    @property
    def doc(self) -> "Doc":
        return self

    @property
    def text_with_ws(self) -> str:
        return self.text

    @property
    def _(self) -> Underscore:
        return Underscore(Underscore.doc_extensions, self)

    @property
    def lang_(self) -> str:
        return self.vocab.lang

    def token_texts(self) -> List[str]:
        """All token texts, cut from the text by offsets (faster than iterating tokens)."""
        text = self.text
        return [text[s:s + n] for s, n in zip(self._cols["idx"].tolist(),
                                              self._cols["length"].tolist())]

    # --- arrays ------------------------------------------------------------------------

    def to_array(self, attr_ids: Union[str, int, Sequence[Union[str, int]]]) -> numpy.ndarray:
        """Export attributes as a uint64 array: shape (n,) for one attribute, (n, k) for k.

        Signed values (HEAD offsets, SENT_START) wrap around as in spaCy.
        """
        single = isinstance(attr_ids, (str, int))
        ids = [A.intify_attr(attr_ids)] if single else A.intify_attrs(attr_ids)
        output = numpy.zeros((self.length, len(ids)), dtype=numpy.uint64)
        for j, attr_id in enumerate(ids):
            output[:, j] = self._attr_column(attr_id)
        return output[:, 0] if single else output

    def _attr_column(self, attr_id: int) -> numpy.ndarray:
        name = COLUMN_OF_ATTR.get(attr_id)
        if attr_id == A.NORM:
            norm = self._cols.get("norm")
            lex_norm = self.vocab.attr_array(self._cols["orth"], A.NORM)
            return lex_norm if norm is None else numpy.where(norm != 0, norm, lex_norm)
        if name is None:
            return self.vocab.attr_array(self._cols["orth"], attr_id)
        col = self._cols.get(name)
        if col is None:
            return numpy.zeros(self.length, dtype=numpy.uint64)
        return _as_uint64(col)

    def from_array(self, attr_ids: Union[str, int, Sequence[Union[str, int]]],
                   array: numpy.ndarray) -> "Doc":
        """Load attributes from an array as written by `to_array` (uint64 or any int dtype).

        ORTH, SPACY, IDX and LENGTH define the tokens and cannot be changed here; they are
        checked to agree. When HEAD is given together with DEP, sentence starts follow the
        parse.
        """
        single = isinstance(attr_ids, (str, int))
        ids = [A.intify_attr(attr_ids)] if single else A.intify_attrs(attr_ids)
        array = numpy.asarray(array)
        if array.ndim == 1:
            array = array.reshape((-1, 1))
        if array.shape != (self.length, len(ids)):
            raise ValueError(Errors.E020.format(shape=array.shape, n_attrs=len(ids),
                                                n=self.length))
        array = _as_uint64(array)
        has_parse = False
        for j, attr_id in enumerate(ids):
            name = COLUMN_OF_ATTR.get(attr_id)
            values = array[:, j]
            if name in CORE_DTYPES:
                if not numpy.array_equal(values, _as_uint64(self._cols[name])):
                    raise ValueError(
                        f"from_array: the {A.NAMES[attr_id]} column does not match this Doc's "
                        "tokens. Build the Doc from the same words and spaces first.")
                continue
            if name is None:
                raise ValueError(
                    f"from_array cannot set the lexical attribute {A.NAMES[attr_id]}: it "
                    "belongs to the word type (set it on `doc.vocab[word]`).")
            dtype = ANNOTATION_DTYPES[name]
            if dtype == numpy.uint64:
                self._cols[name] = values.copy()
            else:
                signed = values.view(numpy.int64)
                if name == "head":
                    targets = signed + numpy.arange(self.length)
                    bad = numpy.nonzero((targets < 0) | (targets >= self.length))[0]
                    if len(bad):
                        i = int(bad[0])
                        raise ValueError(Errors.E021.format(head=int(targets[i]), i=i,
                                                            n=self.length))
                    has_parse = True
                self._cols[name] = signed.astype(dtype)
        if has_parse:
            self._tree_changed()
            if A.DEP in ids and self.has_annotation("DEP"):
                self._sent_starts_from_heads()
        return self

    # --- parse tree --------------------------------------------------------------------

    def _tree_changed(self) -> None:
        self._tree = None

    def _heads(self) -> numpy.ndarray:
        """Absolute head index per token (a token without a head is its own head)."""
        head = self._cols.get("head")
        base = numpy.arange(self.length, dtype=numpy.int64)
        return base if head is None else base + head

    def _tree_index(self) -> Tuple[List[List[int]], numpy.ndarray, numpy.ndarray]:
        """(children lists, left edges, right edges), computed once per parse."""
        if self._tree is None:
            heads = self._heads().tolist()
            children: List[List[int]] = [[] for _ in range(self.length)]
            for i, h in enumerate(heads):
                if h != i:
                    children[h].append(i)
            left = list(range(self.length))
            right = list(range(self.length))
            for i in range(self.length):
                node, steps = i, 0
                while heads[node] != node and steps <= self.length:
                    node = heads[node]
                    steps += 1
                    if i < left[node]:
                        left[node] = i
                    if i > right[node]:
                        right[node] = i
            self._tree = (children, numpy.asarray(left), numpy.asarray(right))
        return self._tree

    def _sent_starts_from_heads(self) -> None:
        """Sentences are the subtrees of roots: each root's left edge starts one."""
        if self.length == 0:
            return
        _children, left, _right = self._tree_index()
        heads = self._heads()
        dep = self._cols.get("dep")
        col = self._col("sent_start")
        col[:] = -1
        for i in numpy.nonzero(heads == numpy.arange(self.length))[0]:
            if dep is None or dep[i] != 0:
                col[left[i]] = 1
        col[0] = 1

    # --- sentences, entities, span groups ----------------------------------------------

    def _sent_bounds(self) -> List[Tuple[int, int]]:
        if self.length == 0:
            return []
        if not self.ensure_sent_starts():
            raise ValueError(Errors.E008)
        starts_col = self._cols["sent_start"]
        starts = numpy.nonzero(starts_col == 1)[0].tolist()
        if not starts or starts[0] != 0:
            starts.insert(0, 0)
        ends = starts[1:] + [self.length]
        return list(zip(starts, ends))

    @property
    def sents(self) -> Iterator:
        """Sentences as Spans, from sentence starts or, failing those, the parse."""
        for start, end in self._sent_bounds():
            yield Span(self, start, end)

    @property
    def ents(self) -> Tuple:
        """Named entities (from the token IOB/type arrays) as Spans with labels."""
        iob = self._cols.get("ent_iob")
        if iob is None:
            return ()
        types = self._col("ent_type")
        kb = self._cols.get("ent_kb_id")
        ents = []
        start = None
        label = 0
        for i, value in enumerate(iob.tolist()):
            if start is not None and (value != 1 or types[i] != label):
                ents.append(Span(self, start, i, label=int(label),
                                 kb_id=0 if kb is None else int(kb[start])))
                start = None
            if value == 3 or (value == 1 and start is None):
                start = i
                label = types[i]
        if start is not None:
            ents.append(Span(self, start, self.length, label=int(label),
                             kb_id=0 if kb is None else int(kb[start])))
        return tuple(ents)

    @ents.setter
    def ents(self, spans: Iterable) -> None:
        self.set_ents(spans, default="outside")

    def set_ents(self, entities: Iterable, *, missing: Iterable = (), outside: Iterable = (),
                 default: str = "outside") -> None:
        """Set entities; tokens not covered become O ("outside"), missing, or stay
        ("unmodified"). `missing` / `outside` name spans to mark explicitly.

        Entities may be Spans or (label, start, end) tuples; overlapping ones raise.
        """
        if default not in ("outside", "missing", "unmodified"):
            raise ValueError(f"set_ents default must be 'outside', 'missing' or 'unmodified', "
                             f"got {default!r}.")
        spans = []
        for ent in entities:
            if isinstance(ent, Span):
                spans.append(ent)
            else:
                label, start, end = ent
                spans.append(Span(self, start, end, label=label))
        spans.sort(key=lambda s: (s.start, s.end))
        for prev, cur in zip(spans, spans[1:]):
            if cur.start < prev.end:
                raise ValueError(Errors.E009.format(span1=prev.text, start1=prev.start,
                                                    end1=prev.end, span2=cur.text,
                                                    start2=cur.start, end2=cur.end))
        iob, types, kb = self._col("ent_iob"), self._col("ent_type"), self._col("ent_kb_id")
        if default != "unmodified":
            iob[:] = 2 if default == "outside" else 0
            types[:] = 0
            kb[:] = 0
        for span in missing:
            iob[span.start:span.end] = 0
            types[span.start:span.end] = 0
        for span in outside:
            iob[span.start:span.end] = 2
            types[span.start:span.end] = 0
        for span in spans:
            iob[span.start] = 3
            iob[span.start + 1:span.end] = 1
            types[span.start:span.end] = span.label
            kb[span.start:span.end] = span.kb_id

    @property
    def spans(self):
        """Named span groups: `doc.spans["key"] = [span, ...]`; spans may overlap."""
        if self._spans is None:
                self._spans = SpanGroups(self)
        return self._spans

    @spans.setter
    def spans(self, groups) -> None:
        self._spans = SpanGroups(self, dict(groups))

    def char_span(self, start_idx: int, end_idx: int, label: Union[int, str] = 0,
                  kb_id: Union[int, str] = 0, alignment_mode: str = "strict",
                  span_id: Union[int, str] = 0):
        """The Span covering characters [start_idx, end_idx), or None when the offsets do not
        fall on token boundaries ("strict"). "contract" keeps only tokens fully inside,
        "expand" takes every token that overlaps."""
        if alignment_mode not in ("strict", "contract", "expand"):
            raise ValueError(Errors.E016.format(mode=alignment_mode))
        idx = self._cols["idx"]
        ends = idx + self._cols["length"]
        if alignment_mode == "strict":
            starts = numpy.nonzero(idx == start_idx)[0]
            stops = numpy.nonzero(ends == end_idx)[0]
            if len(starts) == 0 or len(stops) == 0 or stops[0] < starts[0]:
                return None
            start, end = int(starts[0]), int(stops[0]) + 1
        elif alignment_mode == "contract":
            inside = numpy.nonzero((idx >= start_idx) & (ends <= end_idx))[0]
            if len(inside) == 0:
                return None
            start, end = int(inside[0]), int(inside[-1]) + 1
        else:
            overlap = numpy.nonzero((ends > start_idx) & (idx < end_idx))[0]
            if len(overlap) == 0:
                return None
            start, end = int(overlap[0]), int(overlap[-1]) + 1
        return Span(self, start, end, label=label, kb_id=kb_id, span_id=span_id)

    # --- vectors -----------------------------------------------------------------------

    @property
    def vector(self):
        """The mean of the tokens' vectors (of `doc.tensor` without a table):
        float32 (width,); `tokens.vector_attrs` says where it comes from."""
        return VA.span_vector(self, 0, len(self))

    @property
    def has_vector(self) -> bool:
        return VA.span_has_vector(self, 0, len(self), whole_doc=True)

    @property
    def vector_norm(self) -> float:
        """L2 norm of `vector` (0.0 when it is all zeros)."""
        return vector_norm(self.vector)

    def similarity(self, other) -> float:
        """Cosine of `vector` with `other.vector` (Lexeme, Token, Span or Doc): 1.0 for the
        same words, 0.0 with a warning (W011) when a side has no vector."""
        orths = tuple(int(o) for o in self.column("orth"))
        return VA.similarity("Doc", self.vector, orths, other, self.vocab,
                             has_vector=self.has_vector)

    # --- combining and copying ---------------------------------------------------------

    def copy(self) -> "Doc":
        doc = Doc.from_columns(self.vocab, self.text, self._cols["orth"].copy(),
                               self._cols["length"].copy(),
                               self._cols["trailing_space"].copy())
        for name, col in self._cols.items():
            doc._cols[name] = col.copy()
        doc.user_data = dict(self.user_data)
        doc.cats = dict(self.cats)
        doc.has_unknown_spaces = self.has_unknown_spaces
        if self._tensor is not None:
            doc.tensor = self._tensor.copy()
        for name, group in self.spans.items():
            doc.spans[name] = [s.copy_to(doc) for s in group]
        return doc

    @staticmethod
    def from_docs(docs: Sequence["Doc"], ensure_whitespace: bool = True,
                  attrs: Sequence | None = None) -> "Doc":
        """Concatenate Docs into one: text, tokens, annotations, entities, span groups and
        extension user data (with character offsets shifted).

        Args:
            ensure_whitespace: put a space between docs whose last token has none.
            attrs: unused names are accepted for compatibility; all stored columns are kept.
        """
        docs = list(docs)
        if not docs:
            raise ValueError(Errors.E018)
        vocab = docs[0].vocab
        if any(d.vocab is not vocab for d in docs):
            raise ValueError(Errors.E019)
        spaces_parts = []
        texts = []
        for k, d in enumerate(docs):
            spaces = d._cols["trailing_space"].copy()
            text = d.text
            last = k == len(docs) - 1
            if ensure_whitespace and not last and d.length and not spaces[-1]:
                spaces[-1] = True
                text = text + " "
            spaces_parts.append(spaces)
            texts.append(text)
        merged = Doc.from_columns(
            vocab, "".join(texts),
            numpy.concatenate([d._cols["orth"] for d in docs]).astype(numpy.uint64),
            numpy.concatenate([d._cols["length"] for d in docs]).astype(numpy.int32),
            numpy.concatenate(spaces_parts).astype(bool))
        names = set()
        for d in docs:
            names.update(n for n in d._cols if n in ANNOTATION_DTYPES)
        for name in names:
            merged._cols[name] = numpy.concatenate(
                [d._cols.get(name, numpy.zeros(d.length, dtype=ANNOTATION_DTYPES[name]))
                 for d in docs])
        if "sent_start" in merged._cols:
            offset = 0
            for d in docs:
                if d.length:
                    merged._cols["sent_start"][offset] = 1
                offset += d.length
        token_offset = 0
        char_offset = 0
        for d, text in zip(docs, texts):
            for key, value in d.user_data.items():
                if isinstance(key, tuple) and len(key) == 4 and key[0] == "._.":
                    _, name, start, end = key
                    key = ("._.", name, None if start is None else start + char_offset,
                           None if end is None else end + char_offset)
                merged.user_data.setdefault(key, value)
            for name, group in d.spans.items():
                target = merged.spans.setdefault(name, [])
                for span in group:
                    target.append(span.shifted(merged, token_offset))
            token_offset += d.length
            char_offset += len(text)
        merged._tree_changed()
        return merged

    # --- serialisation (msgpack, never pickle) -------------------------------------------

    def to_dict(self) -> Dict[str, Any]:
        """Plain data (strings, lists, bytes) that `Doc.from_dict` turns back into an equal
        Doc; used to move docs between processes."""
        strings = set()
        for name in ("orth", "norm", "lemma", "tag", "dep", "morph", "ent_type", "ent_kb_id",
                     "ent_id"):
            col = self._cols.get(name)
            if col is not None:
                strings.update(self.vocab.strings[int(k)] for k in numpy.unique(col) if k)
        span_groups = {}
        for name, group in self.spans.items():
            span_groups[name] = [[s.start, s.end, s.label_, s.kb_id_, s.id_] for s in group]
        user_data = [[list(k) if isinstance(k, tuple) else k, v]
                     for k, v in self.user_data.items()]
        return {
            "text": self.text,
            "strings": sorted(strings),
            "columns": {name: [str(col.dtype), col.tobytes()] for name, col in self._cols.items()
                        if name != "idx"},
            "cats": self.cats,
            "has_unknown_spaces": self.has_unknown_spaces,
            "spans": span_groups,
            "user_data": user_data,
        }

    @classmethod
    def from_dict(cls, vocab, data: Dict[str, Any]) -> "Doc":
        for s in data["strings"]:
            vocab.strings.add(s)
        cols = {name: numpy.frombuffer(raw, dtype=numpy.dtype(dtype)).copy()
                for name, (dtype, raw) in data["columns"].items()}
        # "spacy": the trailing-space column's name in data written before it was renamed
        spaces = cols.pop("trailing_space") if "trailing_space" in cols else cols.pop("spacy")
        doc = cls.from_columns(vocab, data["text"], cols.pop("orth"), cols.pop("length"),
                               spaces)
        doc._cols.update(cols)
        doc.cats = dict(data.get("cats", {}))
        doc.has_unknown_spaces = bool(data.get("has_unknown_spaces", False))
        for name, spans in data.get("spans", {}).items():
                doc.spans[name] = [Span(doc, s, e, label=lab, kb_id=kb, span_id=sid)
                               for s, e, lab, kb, sid in spans]
        for key, value in data.get("user_data", []):
            doc.user_data[tuple(key) if isinstance(key, list) else key] = value
        return doc

    def to_bytes(self) -> bytes:
        return srsly.msgpack_dumps(self.to_dict())

    @classmethod
    def from_bytes(cls, vocab, data: bytes) -> "Doc":
        return cls.from_dict(vocab, srsly.msgpack_loads(data))
