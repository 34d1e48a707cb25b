"""DocBin: many Docs packed into one `.spacy` file, in spaCy 3.x's format.

The file is zlib-compressed msgpack: a map with

- `version` ("0.1"), `attrs` (attribute IDs, ORTH first, the rest sorted),
- `tokens`: one little-endian uint64 table of all docs' tokens, rows = tokens, columns =
  `attrs` (the values of `Doc.to_array(attrs)`: string hashes, symbol IDs, relative heads
  wrapped to uint64),
- `spaces` (one bool byte per token), `lengths` (int32 tokens per doc),
- `strings` (sorted list of every string the string columns use),
- per doc: `cats` (dict), `flags` ({"has_unknown_spaces": bool}), `span_groups` (the
  SpanGroups bytes) and, when the bin stores user data, `user_data` (msgpack bytes).

Reading never unpickles, and corrupt data raises a ValueError that names the source and what
is wrong. Docs come back through vectorised numpy work over the whole table: strings are
looked up once per distinct value and each Doc's columns are views of shared arrays.
"""
import functools
import zlib
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy
import srsly

from .. import attrs as A
from ..errors import Errors
from ..strings import get_string_id
from ..symbols import NAMES as SYMBOL_NAMES
from .annotation import ANNOTATION_DTYPES, COLUMN_OF_ATTR, CORE_DTYPES
from .doc import Doc
from .morphanalysis import EMPTY_MORPH_ID

DEFAULT_ATTRS = ("ORTH", "NORM", "TAG", "HEAD", "DEP", "ENT_IOB", "ENT_TYPE", "ENT_KB_ID",
                 "ENT_ID", "LEMMA", "MORPH", "POS", "SENT_START")
VERSION = "0.1"
# columns whose values are string hashes (or symbol IDs): each must be in `strings`
STRING_ATTRS = (A.ORTH, A.NORM, A.LEMMA, A.TAG, A.DEP, A.ENT_TYPE, A.ENT_KB_ID, A.ENT_ID,
                A.MORPH)
# what an empty span group list serialises to (msgpack `[]`); older files use b""
_EMPTY_SPAN_GROUPS = (b"", b"\x90")
_N_SYMBOLS = len(SYMBOL_NAMES)
_TOKEN_DTYPE = numpy.dtype("<u8")
_LENGTH_DTYPE = numpy.dtype("<i4")
_EMPTY_MAP = b"\x80"
_INFLATE_STEP = 16 << 20  # bytes inflated per step when the size is capped


@functools.cache
def _user_data_codec():
    """(dumps, loads) equal to srsly's msgpack functions (numpy arrays, tuples as arrays),
    with srsly's encoder / decoder registries resolved once instead of on every call,
    which costs ~0.2 ms a doc."""
    try:  # srsly keeps these private: the except branch falls back to its public API
        from srsly.msgpack import _Packer, _unpackb, msgpack_decoders, msgpack_encoders
    except ImportError:  # a future srsly layout: fall back to the public API
        return srsly.msgpack_dumps, srsly.msgpack_loads
    default = None
    for encoder in msgpack_encoders.get_all().values():
        default = functools.partial(encoder, chain=default)
    object_hook = None
    for decoder in msgpack_decoders.get_all().values():
        object_hook = functools.partial(decoder, chain=object_hook)

    def dumps(data: Any) -> bytes:
        return _Packer(default=default, use_bin_type=True).pack(data)

    def loads(data: bytes, use_list: bool = True) -> Any:
        return _unpackb(data, raw=False, use_list=use_list, object_hook=object_hook)

    return dumps, loads


class _Table:
    """A block of consecutive docs: tokens (n_tokens, n_attrs) uint64, spaces (n_tokens,)
    bool, lengths (n_docs,) int64."""

    __slots__ = ("tokens", "spaces", "lengths")

    def __init__(self, tokens: numpy.ndarray, spaces: numpy.ndarray, lengths: numpy.ndarray):
        self.tokens = tokens
        self.spaces = spaces
        self.lengths = lengths


class DocBin:
    """Pack Docs for storage and transfer, compatible with spaCy's `.spacy` files.

    Args:
        attrs: attributes to store per token (names or IDs). ORTH and the spaces are always
            stored; SPACY is implied.
        store_user_data: write each `doc.user_data` (msgpack, so values must be plain data,
            numpy arrays or tuples).
        docs: Docs to add now.
    """

    def __init__(self, attrs: Iterable[Union[str, int]] = DEFAULT_ATTRS,
                 store_user_data: bool = False, docs: Iterable[Doc] = ()):
        ids = sorted(set(A.intify_attrs(attrs)) - {A.ORTH, A.SPACY})
        self.version = VERSION
        self.attrs: List[int] = [A.ORTH] + ids
        self.store_user_data = store_user_data
        self._strings: set = set()
        self.cats: List[Dict[str, float]] = []
        self.flags: List[Dict[str, Any]] = []
        self.span_groups: List[bytes] = []
        self.user_data: List[bytes | None] = []
        self._tables: List[_Table] = []
        self._pending = _Pending(len(self.attrs))
        self._string_keys: set = set()
        self._source = "<DocBin>"
        for doc in docs:
            self.add(doc)

    def __len__(self) -> int:
        return len(self.cats)

    @property
    def strings(self) -> set:
        """Every string the stored docs use (the file's `strings` table)."""
        self._flush()
        return self._strings

    @strings.setter
    def strings(self, value: Iterable[str]) -> None:
        self._flush()
        self._strings = set(value)

    # --- adding ------------------------------------------------------------------------

    def add(self, doc: Doc) -> None:
        """Store one Doc's tokens and annotations (plus user data when the bin keeps it).

        The Doc's columns are copied now; turning them into the token table and resolving
        their strings waits for the next read of the bin and then runs over all added docs
        at once.
        """
        self._pending.add(doc, self.attrs)
        self.cats.append(dict(doc.cats))
        self.flags.append({"has_unknown_spaces": bool(doc.has_unknown_spaces)})
        if self.store_user_data:
            self.user_data.append(_user_data_codec()[0](doc.user_data) if doc.user_data
                                  else _EMPTY_MAP)
        if doc.spans:
            self.span_groups.append(doc.spans.to_bytes())
            strings = doc.vocab.strings
            for group in doc.spans.values():
                for span in group:
                    self._strings.add(span.label_)
                    if span.kb_id in strings:
                        self._strings.add(span.kb_id_)
                    if span.id in strings:
                        self._strings.add(span.id_)
        else:
            self.span_groups.append(_EMPTY_SPAN_GROUPS[1])

    def _flush(self) -> None:
        """Turn the docs added since the last flush into a table and record their strings."""
        if not self._pending.lengths:
            return
        table, vocabs = self._pending.table(self.attrs), self._pending.vocabs
        self._pending = _Pending(len(self.attrs))
        self._tables.append(table)
        keys = set()
        for j, attr_id in enumerate(self.attrs):
            if attr_id in STRING_ATTRS:
                values = set(numpy.unique(table.tokens[:, j]).tolist())
                # a set-but-empty analysis is the symbol "_", but its string is "" (as spaCy)
                if attr_id == A.MORPH and EMPTY_MORPH_ID in values:
                    values.discard(EMPTY_MORPH_ID)
                    self._strings.add("")
                keys |= values
        new = keys - self._string_keys
        for key in new:
            self._strings.add(_lookup(vocabs, key) if key else "")
        self._string_keys |= new

    def merge(self, other: "DocBin") -> None:
        """Append the docs of `other`; both must store the same attrs and user-data setting."""
        if self.attrs != other.attrs:
            raise ValueError(Errors.E157.format(param="attrs", current=self.attrs,
                                                other=other.attrs))
        if self.store_user_data != other.store_user_data:
            raise ValueError(Errors.E157.format(param="store_user_data",
                                                current=self.store_user_data,
                                                other=other.store_user_data))
        self._flush()
        self._tables.extend(other._all_tables())
        self._strings.update(other.strings)
        self.cats.extend(other.cats)
        self.flags.extend(other.flags)
        self.span_groups.extend(other.span_groups)
        self.user_data.extend(other.user_data)

    def _all_tables(self) -> List[_Table]:
        self._flush()
        return list(self._tables)

    def _table(self) -> _Table:
        """All docs as one table (joining the blocks that add / merge left)."""
        self._flush()
        if len(self._tables) != 1:
            k = len(self.attrs)
            if self._tables:
                table = _Table(numpy.concatenate([t.tokens for t in self._tables]),
                               numpy.concatenate([t.spaces for t in self._tables]),
                               numpy.concatenate([t.lengths for t in self._tables]))
            else:
                table = _Table(numpy.zeros((0, k), dtype=numpy.uint64),
                               numpy.zeros((0,), dtype=bool), numpy.zeros((0,), numpy.int64))
            self._tables = [table]
        return self._tables[0]

    # --- reading docs ------------------------------------------------------------------

    def get_docs(self, vocab) -> Iterator[Doc]:
        """Rebuild the Docs over `vocab` (their strings are added to it).

        User data is restored whenever the data holds it, whatever `store_user_data` says.
        """
        add = vocab.strings.add
        for string in self.strings:
            add(string)
        table = self._table()
        n_docs = len(table.lengths)
        if n_docs == 0:
            return
        tokens, lengths = table.tokens, table.lengths
        spaces = table.spaces.astype(bool, copy=True)
        doc_starts = numpy.zeros(n_docs + 1, dtype=numpy.int64)
        numpy.cumsum(lengths, out=doc_starts[1:])
        unknown_spaces = [i for i, f in enumerate(self.flags) if f.get("has_unknown_spaces")]
        for i in unknown_spaces:
            spaces[doc_starts[i]:doc_starts[i + 1]] = True
        orth = numpy.array(tokens[:, self.attrs.index(A.ORTH)], dtype=numpy.uint64)
        text, tok_lengths, tok_idx, char_starts = _texts(vocab, orth, spaces, doc_starts)
        columns = _columns(self.attrs, tokens)
        unknown = set(unknown_spaces)
        source = self._source
        for i in range(n_docs):
            s, e = int(doc_starts[i]), int(doc_starts[i + 1])
            doc = Doc.from_columns(vocab, text[char_starts[i]:char_starts[i + 1]], orth[s:e],
                                   tok_lengths[s:e], spaces[s:e], idx=tok_idx[s:e])
            cols = doc._cols
            for name, col in columns:
                cols[name] = col[s:e]
            doc.cats = dict(self.cats[i])
            if i in unknown:
                doc.has_unknown_spaces = True
            group_bytes = self.span_groups[i] if i < len(self.span_groups) else b""
            if group_bytes not in _EMPTY_SPAN_GROUPS:
                try:
                    doc.spans.from_bytes(group_bytes)
                except Exception as err:
                    raise ValueError(Errors.E156.format(
                        path=source, i=i, detail=f"its span groups are unreadable ({err})")
                    ) from None
            if i < len(self.user_data) and self.user_data[i] not in (None, _EMPTY_MAP):
                doc.user_data.update(_load_user_data(self.user_data[i], source, i))
            yield doc

    # --- bytes and files ---------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The zlib-compressed msgpack form that spaCy's `DocBin.from_bytes` reads."""
        table = self._table()
        msg = {
            "version": self.version,
            "attrs": list(self.attrs),
            "tokens": numpy.ascontiguousarray(table.tokens, dtype=_TOKEN_DTYPE).tobytes(),
            "spaces": numpy.ascontiguousarray(table.spaces, dtype=bool).tobytes(),
            "lengths": table.lengths.astype(_LENGTH_DTYPE).tobytes(),
            "strings": sorted(self.strings),
            "cats": self.cats,
            "flags": self.flags,
            "span_groups": self.span_groups,
        }
        if self.store_user_data:
            msg["user_data"] = self.user_data
        return zlib.compress(srsly.msgpack_dumps(msg))

    def from_bytes(self, data: bytes, *, source: str = "<bytes>",
                   max_size: Optional[int] = None) -> "DocBin":
        """Load a DocBin written by `to_bytes` (ours or spaCy's), replacing the contents.

        Args:
            source: names the data in error messages (from_disk passes the path).
            max_size: the most bytes the data may inflate to (None: no limit). zlib data
                can inflate ~1000-fold, so a small file can ask for gigabytes.

        Raises:
            DocBinTooLarge: when the data inflates to more than `max_size` bytes.
            ValueError: naming `source` when the data is corrupt in any way.
        """
        try:
            raw = _inflate(data, max_size, source)
        except (zlib.error, TypeError) as err:
            raise ValueError(Errors.E150.format(path=source, detail=err)) from None
        try:
            msg = srsly.msgpack_loads(raw)
        except Exception as err:
            raise ValueError(Errors.E151.format(path=source, detail=err)) from None
        fields = _check_message(msg, source)
        self.version = fields["version"]
        self.attrs = fields["attrs"]
        self._pending = _Pending(len(self.attrs))
        self._strings = set(fields["strings"])
        self._string_keys = set()
        self._tables = [_Table(fields["tokens"], fields["spaces"], fields["lengths"])]
        self.cats = fields["cats"]
        self.flags = fields["flags"]
        self.span_groups = fields["span_groups"]
        self.user_data = fields["user_data"]
        self._source = source
        return self

    def to_disk(self, path: Union[str, Path]) -> None:
        """Write the bin to `path` (conventionally `*.spacy`)."""
        Path(path).write_bytes(self.to_bytes())

    def from_disk(self, path: Union[str, Path]) -> "DocBin":
        """Load a `.spacy` file; corrupt files raise a ValueError naming the path."""
        path = Path(path)
        return self.from_bytes(path.read_bytes(), source=str(path))


class DocBinTooLarge(ValueError):
    """The data inflates to more than the `max_size` given to `DocBin.from_bytes`."""


def _inflate(data: bytes, max_size: Optional[int], source: str) -> Union[bytes, bytearray]:
    """zlib-decompress `data`, stopping as soon as the output passes `max_size` bytes."""
    if max_size is None:
        return zlib.decompress(data)
    inflater = zlib.decompressobj()
    # One buffer grown in place, in steps of at most _INFLATE_STEP bytes: joining pieces at
    # the end, or one step of the whole size, would hold the data twice.
    out = bytearray()
    tail = data
    while len(out) <= max_size and not inflater.eof:
        step = inflater.decompress(tail, min(_INFLATE_STEP, max_size + 1 - len(out)))
        tail = inflater.unconsumed_tail
        if not step and not tail:  # the stream wants input that is not there
            break
        out += step
    if len(out) > max_size:
        raise DocBinTooLarge(Errors.E197.format(path=source, limit=max_size))
    if not inflater.eof:  # zlib.decompress refuses a cut stream; so must this
        raise zlib.error("incomplete or truncated stream")
    return out


# --- writing helpers --------------------------------------------------------------------


class _Pending:
    """Columns of docs added but not yet packed: per attribute, one array per doc (None when
    the doc has no such annotation)."""

    def __init__(self, n_attrs: int):
        self.columns: List[List[numpy.ndarray | None]] = [[] for _ in range(n_attrs)]
        self.spaces: List[numpy.ndarray] = []
        self.lengths: List[int] = []
        self.vocabs: Dict[int, Any] = {}

    def add(self, doc: Doc, attrs: Sequence[int]) -> None:
        cols = doc._cols
        for j, attr_id in enumerate(attrs):
            name = COLUMN_OF_ATTR.get(attr_id)
            col = cols.get(name) if name is not None else None
            if name is None or (name == "norm" and (col is None or not col.all())):
                # lexical values (and norms not set on every token) come from the vocab
                col = doc.to_array(attr_id)
            self.columns[j].append(None if col is None else col.copy())
        self.spaces.append(numpy.array(cols["trailing_space"], dtype=bool))
        self.lengths.append(len(doc))
        self.vocabs.setdefault(id(doc.vocab), doc.vocab)

    def table(self, attrs: Sequence[int]) -> _Table:
        n_tokens = sum(self.lengths)
        tokens = numpy.zeros((n_tokens, len(attrs)), dtype=numpy.uint64)
        for j, parts in enumerate(self.columns):
            if all(p is None for p in parts):
                continue
            dtype = next(p.dtype for p in parts if p is not None)
            full = numpy.concatenate([
                numpy.zeros(n, dtype=dtype) if p is None else p
                for p, n in zip(parts, self.lengths)])
            tokens[:, j] = full if full.dtype == numpy.uint64 else \
                full.astype(numpy.int64).view(numpy.uint64)
        return _Table(tokens, numpy.concatenate(self.spaces) if self.spaces
                      else numpy.zeros((0,), dtype=bool),
                      numpy.asarray(self.lengths, dtype=numpy.int64))


def _lookup(vocabs: Dict[int, Any], key: int) -> str:
    """The string of `key` in the first of the docs' vocabs that has it."""
    for vocab in vocabs.values():
        string = vocab.strings.get(key)
        if string is not None:
            return string
    raise ValueError(f"A Doc added to the DocBin holds the string ID {key}, which is not in "
                     "its Vocab's StringStore; set annotations with strings (or add the "
                     "string to `vocab.strings`) before adding the Doc.")


# --- reading helpers --------------------------------------------------------------------


def _texts(vocab, orth: numpy.ndarray, spaces: numpy.ndarray, doc_starts: numpy.ndarray
           ) -> Tuple[str, numpy.ndarray, numpy.ndarray, List[int]]:
    """Text of all docs at once, built from each distinct word looked up once.

    Returns:
        (text of every doc joined, token lengths int32 (n,), token offsets within their doc
        int32 (n,), char start of each doc plus the end: list of n_docs + 1 ints).
    """
    unique, inverse = numpy.unique(orth, return_inverse=True)
    inverse = inverse.reshape(-1)
    strings = vocab.strings
    words = [strings[key] for key in unique.tolist()]
    word_lengths = numpy.fromiter(map(len, words), dtype=numpy.int64, count=len(words))
    # index i picks word i, index i + n_unique picks "word " (the token followed by a space)
    forms = numpy.array(words + [w + " " for w in words], dtype=object)
    text = "".join(forms[inverse + spaces * len(words)].tolist())
    tok_lengths = word_lengths[inverse]
    ends = numpy.cumsum(tok_lengths + spaces)
    starts = numpy.concatenate([[0], ends]).astype(numpy.int64)
    char_starts = starts[doc_starts]
    n_per_doc = numpy.diff(doc_starts)
    tok_idx = (starts[:-1] - numpy.repeat(char_starts[:-1], n_per_doc)).astype(numpy.int32)
    return text, tok_lengths.astype(numpy.int32), tok_idx, char_starts.tolist()


def _columns(attrs: Sequence[int], tokens: numpy.ndarray) -> List[Tuple[str, numpy.ndarray]]:
    """The annotation columns of the table in the Doc's dtypes (one copy per column)."""
    columns = []
    for j, attr_id in enumerate(attrs):
        name = COLUMN_OF_ATTR.get(attr_id)
        # ORTH and the spaces define the tokens; lexical attributes follow from ORTH
        if name is None or name in CORE_DTYPES:
            continue
        dtype = ANNOTATION_DTYPES[name]
        values = tokens[:, j]
        if dtype == numpy.uint64:
            col = numpy.array(values, dtype=numpy.uint64)
        else:
            col = values.view(numpy.int64).astype(dtype)
        columns.append((name, col))
    return columns


def _load_user_data(data: bytes, source: str, i: int) -> dict:
    try:
        user_data = _user_data_codec()[1](data, use_list=False)
    except Exception as err:
        raise ValueError(Errors.E156.format(
            path=source, i=i, detail=f"its user_data is not valid msgpack ({err})")) from None
    if not isinstance(user_data, dict):
        raise ValueError(Errors.E156.format(
            path=source, i=i, detail=f"its user_data is a {type(user_data).__name__}, not a map"))
    return user_data


def _check_message(msg: Any, source: str) -> Dict[str, Any]:
    """Validate the decoded msgpack map and return its fields as arrays and lists."""
    if not isinstance(msg, dict):
        raise ValueError(Errors.E153.format(path=source, key="<top level>", expected="a map",
                                            got=type(msg).__name__))
    for key in ("attrs", "tokens", "spaces", "lengths", "strings"):
        if key not in msg:
            raise ValueError(Errors.E152.format(path=source, key=key,
                                                found=", ".join(map(str, msg)) or "nothing"))

    def expect(key: str, kind, expected: str):
        value = msg[key]
        if not isinstance(value, kind):
            raise ValueError(Errors.E153.format(path=source, key=key, expected=expected,
                                                got=type(value).__name__))
        return value

    attrs = expect("attrs", list, "a list of attribute IDs")
    if not all(isinstance(a, int) and a in A.NAMES for a in attrs) or A.ORTH not in attrs:
        raise ValueError(Errors.E153.format(path=source, key="attrs",
                                            expected="a list of attribute IDs including ORTH",
                                            got=attrs))
    strings = expect("strings", list, "a list of strings")
    if not all(isinstance(s, str) for s in strings):
        raise ValueError(Errors.E153.format(path=source, key="strings",
                                            expected="a list of strings", got="other values"))
    raw_tokens = expect("tokens", bytes, "bytes")
    raw_spaces = expect("spaces", bytes, "bytes")
    raw_lengths = expect("lengths", bytes, "bytes")
    if len(raw_lengths) % 4:
        raise ValueError(Errors.E154.format(
            path=source, detail=f"'lengths' has {len(raw_lengths)} bytes, not a multiple of 4"))
    lengths = numpy.frombuffer(raw_lengths, dtype=_LENGTH_DTYPE).astype(numpy.int64)
    if (lengths < 0).any():
        raise ValueError(Errors.E154.format(path=source, detail="a doc has a negative length"))
    n_docs, n_tokens, k = len(lengths), int(lengths.sum()), len(attrs)
    if len(raw_tokens) != n_tokens * k * 8:
        raise ValueError(Errors.E154.format(
            path=source, detail=f"{n_docs} docs of {n_tokens} tokens need {n_tokens * k * 8} "
                                f"bytes of token data for {k} attrs, got {len(raw_tokens)}"))
    if len(raw_spaces) != n_tokens:
        raise ValueError(Errors.E154.format(
            path=source, detail=f"{n_tokens} tokens but {len(raw_spaces)} space flags"))
    tokens = numpy.frombuffer(raw_tokens, dtype=_TOKEN_DTYPE).reshape((n_tokens, k))
    spaces = numpy.frombuffer(raw_spaces, dtype=numpy.uint8)
    if (spaces > 1).any():
        raise ValueError(Errors.E154.format(path=source, detail="a space flag is not 0 or 1"))
    fields = {
        "version": msg.get("version", VERSION), "attrs": attrs, "strings": strings,
        "tokens": tokens, "spaces": spaces.view(bool), "lengths": lengths,
    }
    per_doc = (("cats", dict, {}), ("flags", dict, {}), ("span_groups", bytes, b""),
               ("user_data", bytes, None))
    for key, kind, default in per_doc:
        if key not in msg or (key == "cats" and msg[key] is None):
            fields[key] = [default] * n_docs if key != "cats" else [{} for _ in range(n_docs)]
            continue
        values = expect(key, list, f"a list with one entry per doc ({n_docs})")
        if len(values) != n_docs or not all(
                isinstance(v, kind) or (key == "user_data" and v is None) for v in values):
            raise ValueError(Errors.E153.format(
                path=source, key=key, expected=f"{n_docs} {kind.__name__} entries, one per doc",
                got=f"{len(values)} entries"))
        fields[key] = values
    _check_values(attrs, strings, tokens, lengths, source)
    return fields


def _check_values(attrs: List[int], strings: List[str], tokens: numpy.ndarray,
                  lengths: numpy.ndarray, source: str) -> None:
    """Every string hash resolves, heads stay inside their doc, codes are in range."""
    known = numpy.fromiter((get_string_id(s) for s in strings), dtype=numpy.uint64,
                           count=len(strings))
    for j, attr_id in enumerate(attrs):
        column = tokens[:, j]
        name = A.NAMES[attr_id]
        if attr_id in STRING_ATTRS:
            values = numpy.unique(column)
            missing = values[(values >= _N_SYMBOLS) & ~numpy.isin(values, known)]
            if len(missing):
                raise ValueError(Errors.E155.format(path=source, n=len(missing), attr=name,
                                                    example=int(missing[0])))
            if attr_id == A.ORTH and len(values) and values[0] == 0:
                _bad_token(source, lengths, int(numpy.argmax(column == 0)), "has empty text")
        elif attr_id == A.POS:
            bad = numpy.nonzero(column >= _N_SYMBOLS)[0]
            if len(bad):
                _bad_token(source, lengths, int(bad[0]), f"has POS value {int(column[bad[0]])}, "
                                                         "which is not a part-of-speech symbol")
        elif attr_id == A.ENT_IOB:
            bad = numpy.nonzero(column > 3)[0]
            if len(bad):
                _bad_token(source, lengths, int(bad[0]), f"has ENT_IOB {int(column[bad[0]])} "
                                                         "(expected 0-3)")
        elif attr_id == A.SENT_START:
            signed = column.view(numpy.int64)
            bad = numpy.nonzero((signed < -1) | (signed > 1))[0]
            if len(bad):
                _bad_token(source, lengths, int(bad[0]), f"has SENT_START {int(signed[bad[0]])} "
                                                         "(expected -1, 0 or 1)")
        elif attr_id == A.HEAD:
            n_tokens = len(column)
            doc_starts = numpy.repeat(numpy.cumsum(lengths) - lengths, lengths)
            position = numpy.arange(n_tokens, dtype=numpy.int64) - doc_starts
            target = position + column.view(numpy.int64)
            bad = numpy.nonzero((target < 0) | (target >= numpy.repeat(lengths, lengths)))[0]
            if len(bad):
                _bad_token(source, lengths, int(bad[0]),
                           f"has its head at {int(target[bad[0]])}, outside the doc")


def _bad_token(source: str, lengths: numpy.ndarray, row: int, what: str):
    ends = numpy.cumsum(lengths)
    doc_i = int(numpy.searchsorted(ends, row, side="right"))
    token_i = row - int(ends[doc_i] - lengths[doc_i])
    raise ValueError(Errors.E156.format(path=source, i=doc_i, detail=f"token {token_i} {what}"))
