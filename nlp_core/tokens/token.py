"""Token: a view of position `i` in a Doc. Holds no data of its own."""
from typing import Iterator, Union

from .. import attrs as A
from ..errors import Errors
from ..vectors_similarity import vector_norm
from ..vocab import Lexeme
from . import vector_attrs as VA
from .annotation import IOB_STRINGS, IOB_VALUES, pos_id
from .morphanalysis import MorphAnalysis, morph_key
from .underscore import Underscore, make_extension_api


def _string_column(name: str):
    """Property pair (ID, string) for a uint64 string column such as tag / tag_."""

    def get_id(self) -> int:
        return self.doc._get(name, self.i)

    def set_id(self, value: int) -> None:
        self.doc._col(name)[self.i] = int(value)

    def get_str(self) -> str:
        key = self.doc._get(name, self.i)
        return self.doc.vocab.strings[key] if key else ""

    def set_str(self, value: str) -> None:
        self.doc._col(name)[self.i] = self.doc.vocab.strings.add(value) if value else 0
        if name == "dep":
            self.doc._tree_changed()

    return property(get_id, set_id), property(get_str, set_str)


def _lex_attr(attr_id: int, as_string: bool = False):
    def get(self):
        value = self.doc.vocab.get_attr(self._lex, attr_id)
        if as_string:
            return self.doc.vocab.strings[value]
        return bool(value) if attr_id < A.ID else value

    return property(get)


class Token:
    """One token of a Doc: text, whitespace, lexical attributes and annotations."""

    __slots__ = ("doc", "i")

    set_extension, get_extension, has_extension, remove_extension = make_extension_api(
        "token_extensions")

    def __init__(self, doc, i: int):
        self.doc = doc
        self.i = i

    # --- vectors -----------------------------------------------------------------------

    @property
    def vector(self):
        """The token's word vector (or its `doc.tensor` row without a table):
        float32 (width,); `tokens.vector_attrs` says where it comes from."""
        return VA.token_vector(self)

    @property
    def has_vector(self) -> bool:
        return VA.token_has_vector(self)

    @property
    def vector_norm(self) -> float:
        """L2 norm of `vector` (0.0 when it is all zeros)."""
        return vector_norm(self.vector)

    def similarity(self, other) -> float:
        """Cosine of `vector` with `other.vector` (Lexeme, Token, Span or Doc): 1.0 for the
        same words, 0.0 with a warning (W011) when a side has no vector."""
        return VA.similarity("Token", self.vector, (self.orth,), other, self.doc.vocab,
                             has_vector=self.has_vector)

    # --- text --------------------------------------------------------------------------

    @property
    def idx(self) -> int:
        return int(self.doc._cols["idx"][self.i])

    @property
    def text(self) -> str:
        start = int(self.doc._cols["idx"][self.i])
        return self.doc.text[start:start + int(self.doc._cols["length"][self.i])]

    orth_ = text

    @property
    def orth(self) -> int:
        return int(self.doc._cols["orth"][self.i])

    @property
    def whitespace_(self) -> str:
        return " " if self.doc._cols["trailing_space"][self.i] else ""

    @property
    def text_with_ws(self) -> str:
        return self.text + self.whitespace_

    def __len__(self) -> int:
        return int(self.doc._cols["length"][self.i])

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def __eq__(self, other) -> bool:
        return isinstance(other, Token) and other.doc is self.doc and other.i == self.i

    def __lt__(self, other: "Token") -> bool:
        return self.i < other.i

    def __hash__(self) -> int:
        return hash((id(self.doc), self.i))

    @property
    def _(self) -> Underscore:
        return Underscore(Underscore.token_extensions, self, start=self.idx)

    @property
    def vocab(self):
        return self.doc.vocab

    # --- lexical attributes ------------------------------------------------------------

    @property
    def _lex(self):
        return self.doc.vocab.lex_data(self.text, self.orth)

    @property
    def lex(self):
        return Lexeme(self.doc.vocab, self.orth)

    lower = _lex_attr(A.LOWER)
    lower_ = _lex_attr(A.LOWER, True)
    shape = _lex_attr(A.SHAPE)
    shape_ = _lex_attr(A.SHAPE, True)
    prefix = _lex_attr(A.PREFIX)
    prefix_ = _lex_attr(A.PREFIX, True)
    suffix = _lex_attr(A.SUFFIX)
    suffix_ = _lex_attr(A.SUFFIX, True)
    is_alpha = _lex_attr(A.IS_ALPHA)
    is_ascii = _lex_attr(A.IS_ASCII)
    is_digit = _lex_attr(A.IS_DIGIT)
    is_lower = _lex_attr(A.IS_LOWER)
    is_upper = _lex_attr(A.IS_UPPER)
    is_title = _lex_attr(A.IS_TITLE)
    is_punct = _lex_attr(A.IS_PUNCT)
    is_space = _lex_attr(A.IS_SPACE)
    like_url = _lex_attr(A.LIKE_URL)
    like_num = _lex_attr(A.LIKE_NUM)
    like_email = _lex_attr(A.LIKE_EMAIL)
    is_stop = _lex_attr(A.IS_STOP)
    is_bracket = _lex_attr(A.IS_BRACKET)
    is_quote = _lex_attr(A.IS_QUOTE)
    is_left_punct = _lex_attr(A.IS_LEFT_PUNCT)
    is_right_punct = _lex_attr(A.IS_RIGHT_PUNCT)
    is_currency = _lex_attr(A.IS_CURRENCY)

    @property
    def norm(self) -> int:
        own = self.doc._get("norm", self.i)
        return own if own else self.doc.vocab.get_attr(self._lex, A.NORM)

    @norm.setter
    def norm(self, value: int) -> None:
        self.doc._col("norm")[self.i] = int(value)

    @property
    def norm_(self) -> str:
        return self.doc.vocab.strings[self.norm]

    @norm_.setter
    def norm_(self, value: str) -> None:
        self.doc._col("norm")[self.i] = self.doc.vocab.strings.add(value)

    @property
    def lang_(self) -> str:
        return self.doc.vocab.lang

    # --- annotations -------------------------------------------------------------------

    tag, tag_ = _string_column("tag")
    dep, dep_ = _string_column("dep")
    lemma, lemma_ = _string_column("lemma")
    ent_type, ent_type_ = _string_column("ent_type")
    ent_kb_id, ent_kb_id_ = _string_column("ent_kb_id")
    ent_id, ent_id_ = _string_column("ent_id")

    @property
    def pos(self) -> int:
        return self.doc._get("pos", self.i)

    @pos.setter
    def pos(self, value: int) -> None:
        self.doc._col("pos")[self.i] = int(value)

    @property
    def pos_(self) -> str:
        key = self.doc._get("pos", self.i)
        return self.doc.vocab.strings[key] if key else ""

    @pos_.setter
    def pos_(self, value: str) -> None:
        self.doc._col("pos")[self.i] = pos_id(value)

    @property
    def morph(self) -> MorphAnalysis:
        return MorphAnalysis(self.doc.vocab, self.doc._get("morph", self.i))

    @morph.setter
    def morph(self, value: Union[str, dict, MorphAnalysis]) -> None:
        key = value.key if isinstance(value, MorphAnalysis) else morph_key(self.doc.vocab, value)
        self.doc._col("morph")[self.i] = key

    def set_morph(self, features: Union[str, dict, None]) -> None:
        self.morph = features if features is not None else ""

    def has_morph(self) -> bool:
        """Whether the token's morphology is set (possibly to "no features")."""
        return self.doc._get("morph", self.i) != 0

    @property
    def ent_iob(self) -> int:
        return self.doc._get("ent_iob", self.i)

    @property
    def ent_iob_(self) -> str:
        return IOB_STRINGS[self.doc._get("ent_iob", self.i)]

    @ent_iob_.setter
    def ent_iob_(self, value: str) -> None:
        if value not in IOB_VALUES:
            raise ValueError(Errors.E010.format(value=value, i=self.i))
        self.doc._col("ent_iob")[self.i] = IOB_VALUES[value]

    # --- sentence boundaries -----------------------------------------------------------

    @property
    def sent_start(self) -> int:
        return self.doc._get("sent_start", self.i)

    @property
    def is_sent_start(self) -> bool | None:
        """True if the token starts a sentence, False if not, None if unknown."""
        if self.i == 0:
            return True
        value = self.doc._get("sent_start", self.i)
        if value == 0 and self.doc.has_annotation("DEP"):
            self.doc._sent_starts_from_heads()
            value = self.doc._get("sent_start", self.i)
        return None if value == 0 else value == 1

    @is_sent_start.setter
    def is_sent_start(self, value: bool | None) -> None:
        self.doc._col("sent_start")[self.i] = 0 if value is None else (1 if value else -1)

    @property
    def is_sent_end(self) -> bool | None:
        if self.i + 1 == len(self.doc):
            return True
        return self.doc[self.i + 1].is_sent_start

    @property
    def sent(self):
        for start, end in self.doc._sent_bounds():
            if start <= self.i < end:
                return self.doc[start:end]
        raise ValueError(Errors.E008)

    # --- dependency tree ---------------------------------------------------------------

    @property
    def head(self) -> "Token":
        return Token(self.doc, self.i + self.doc._get("head", self.i))

    @head.setter
    def head(self, new_head: "Token") -> None:
        if new_head.doc is not self.doc:
            raise ValueError("A token's head must be a token of the same Doc.")
        self.doc._col("head")[self.i] = new_head.i - self.i
        self.doc._tree_changed()
        if self.doc.has_annotation("DEP"):
            self.doc._sent_starts_from_heads()

    @property
    def children(self) -> Iterator["Token"]:
        for j in self.doc._tree_index()[0][self.i]:
            yield Token(self.doc, j)

    @property
    def lefts(self) -> Iterator["Token"]:
        for j in self.doc._tree_index()[0][self.i]:
            if j < self.i:
                yield Token(self.doc, j)

    @property
    def rights(self) -> Iterator["Token"]:
        for j in self.doc._tree_index()[0][self.i]:
            if j > self.i:
                yield Token(self.doc, j)

    @property
    def n_lefts(self) -> int:
        return sum(1 for _ in self.lefts)

    @property
    def n_rights(self) -> int:
        return sum(1 for _ in self.rights)

    @property
    def subtree(self) -> Iterator["Token"]:
        """This token and all its descendants, in document order."""
        children = self.doc._tree_index()[0]
        seen = {self.i}
        stack = [self.i]
        while stack:
            node = stack.pop()
            for child in children[node]:
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        for j in sorted(seen):
            yield Token(self.doc, j)

    @property
    def left_edge(self) -> "Token":
        return Token(self.doc, int(self.doc._tree_index()[1][self.i]))

    @property
    def right_edge(self) -> "Token":
        return Token(self.doc, int(self.doc._tree_index()[2][self.i]))

    @property
    def ancestors(self) -> Iterator["Token"]:
        heads = self.doc._heads()
        node, steps = self.i, 0
        while heads[node] != node and steps < len(heads):
            node = int(heads[node])
            steps += 1
            yield Token(self.doc, node)

    def is_ancestor(self, descendant: "Token") -> bool:
        return any(a.i == self.i for a in descendant.ancestors)

    def nbor(self, offset: int = 1) -> "Token":
        j = self.i + offset
        if not 0 <= j < len(self.doc):
            raise IndexError(Errors.E007.format(i=j, n=len(self.doc)))
        return Token(self.doc, j)

    def check_flag(self, flag_id: int) -> bool:
        return bool(self.doc.vocab.get_attr(self._lex, flag_id))
