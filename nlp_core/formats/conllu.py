"""CoNLL-U: read gold annotations into Docs, write Docs back.

Reading follows spaCy's `convert` (conllu converter, default settings) so the Docs match
what spaCy users train on:

- tokens are the syntactic words; a multiword token line (`3-4 didn't`) contributes only its
  SpaceAfter: its words get no space between them and the last word takes the range line's
  SpaceAfter, so the text keeps the surface form whenever the words spell it (they do in
  English EWT). Empty nodes (`3.1`) are skipped.
- UPOS -> pos, XPOS -> tag (UPOS when XPOS is `_`), FEATS -> morph (`_` = set but empty),
  LEMMA -> lemma, HEAD -> absolute head (0, the root, points to itself), DEPREL -> dep with
  `root` renamed `ROOT`; each sentence's first token starts a sentence.
- `SpaceAfter=No` in MISC removes a token's trailing space; other tokens, including the last
  of a sentence, keep one. When `# text` is present but SpaceAfter does not reproduce it
  while the words do spell it, the spaces are taken from `# text` instead.
- n_sents sentences make one Doc (joined with a space, as spaCy's Doc.from_docs does);
  `# newdoc` and `# sent_id` do not split Docs.
- NER tags in MISC (`NE=B-PER`, `name=I-LOC`, BILUO too) become `doc.ents` for Docs that
  have any.

Where we differ from spaCy, for missing values: a `_` LEMMA (with a FORM other than `_`),
UPOS or DEPREL leaves the value unset instead of storing the string "_".
"""
import re
from pathlib import Path
from typing import Iterable, Iterator, List, TextIO, Union

from ..errors import Errors
from ..tokens import Doc
from ..tokens.annotation import UNIVERSAL_POS
from ..tokens.morphanalysis import normalize_features
from ..vocab import Vocab
from .bad_records import BadRecordPolicy, OnError
from .ner_tags import tags_to_spans
from .spaces import spaces_from_text
from .text_files import numbered_lines, open_text

_NER_MISC = re.compile(r"^(?:name|NE)=([BILUES])-(.+)$|^(?:(?:name|NE)=)?O$")
_UPOS = frozenset(UNIVERSAL_POS)


class _LineError(ValueError):
    """A malformed line; the message is the reason."""


class Sentence:
    """One sentence's words and gold columns (heads are absolute within the sentence)."""

    __slots__ = ("words", "spaces", "lemmas", "pos", "tags", "morphs", "heads", "deps",
                 "ner", "text", "line")

    def __init__(self, line: int):
        self.line = line
        self.text: str | None = None
        self.words: List[str] = []
        self.spaces: List[bool] = []
        self.lemmas: List[str | None] = []
        self.pos: List[str | None] = []
        self.tags: List[str | None] = []
        self.morphs: List[str] = []
        self.heads: List[int] = []
        self.deps: List[str | None] = []
        self.ner: List[str | None] = []


def _parse_id(value: str) -> tuple:
    """("word", n) | ("range", first, last) | ("empty",)."""
    if value.isdigit():
        return ("word", int(value))
    first, dash, last = value.partition("-")
    if dash and first.isdigit() and last.isdigit() and int(first) <= int(last):
        return ("range", int(first), int(last))
    whole, dot, frac = value.partition(".")
    if dot and whole.isdigit() and frac.isdigit():
        return ("empty",)
    raise _LineError(Errors.E171.format(id=value))


class _SentenceBuilder:
    def __init__(self, line: int):
        self.sent = Sentence(line)
        self.raw_heads: List[str] = []
        self.word_lines: List[tuple] = []
        self.mwt_last = 0
        self.mwt_space = True

    def comment(self, text: str) -> None:
        if text.startswith("# text ="):
            value = text[len("# text ="):]
            self.sent.text = value[1:] if value.startswith(" ") else value

    def token(self, line: str, number: int) -> None:
        fields = line.split("\t")
        if len(fields) != 10:
            raise _LineError(Errors.E170.format(n=len(fields)))
        id_, form, lemma, upos, xpos, feats, head, deprel, _deps, misc = fields
        kind = _parse_id(id_)
        if kind[0] == "empty":
            return
        sent = self.sent
        expected = len(sent.words) + 1
        if kind[0] == "range":
            if kind[1] != expected or self.mwt_last >= expected:
                raise _LineError(Errors.E172.format(expected=expected, got=id_))
            self.mwt_last = kind[2]
            self.mwt_space = "SpaceAfter=No" not in misc.split("|")
            return
        if kind[1] != expected:
            raise _LineError(Errors.E172.format(expected=expected, got=id_))
        if not form:
            raise _LineError(Errors.E174.format(column="FORM", value=form,
                                                detail="a word needs a non-empty form"))
        misc_parts = misc.split("|")
        if self.mwt_last >= expected:
            space = self.mwt_space if expected == self.mwt_last else False
        else:
            space = "SpaceAfter=No" not in misc_parts
        if upos != "_" and upos not in _UPOS:
            raise _LineError(Errors.E174.format(
                column="UPOS", value=upos, detail="expected a Universal POS tag such as NOUN"))
        try:
            morph = normalize_features(feats)
        except ValueError as err:
            raise _LineError(Errors.E174.format(column="FEATS", value=feats,
                                                detail=err)) from None
        if head != "_" and not head.isdigit():
            raise _LineError(Errors.E174.format(column="HEAD", value=head,
                                                detail="expected a token ID or 0"))
        sent.words.append(form)
        sent.spaces.append(space)
        sent.lemmas.append(None if lemma == "_" and form != "_" else lemma)
        sent.pos.append(None if upos == "_" else upos)
        sent.tags.append((None if upos == "_" else upos) if xpos == "_" else xpos)
        sent.morphs.append(morph)
        sent.deps.append(None if deprel == "_" else ("ROOT" if deprel == "root" else deprel))
        sent.ner.append(_ner_tag(misc_parts))
        self.raw_heads.append(head)
        self.word_lines.append((number, line))

    def finish(self) -> Sentence:
        """Resolve heads (checking they are in the sentence) and spaces."""
        sent = self.sent
        n = len(sent.words)
        if self.mwt_last > n:
            raise _LineError(Errors.E175.format(id=f"{n + 1}-{self.mwt_last}"))
        for i, head in enumerate(self.raw_heads):
            if head in ("_", "0"):
                sent.heads.append(i)
            elif int(head) > n:
                raise _LineError(Errors.E173.format(head=head, id=i + 1, n=n), *self.word_lines[i])
            else:
                sent.heads.append(int(head) - 1)
        if sent.text is not None and "".join(
                w + " " if s else w for w, s in zip(sent.words, sent.spaces)).rstrip(" ") \
                != sent.text:
            aligned = spaces_from_text(sent.words, sent.text)
            if aligned is not None:
                sent.spaces = aligned
        return sent


def _where(err: _LineError, builder: _SentenceBuilder) -> tuple:
    """(line number, raw line) an error from `finish` points at."""
    if len(err.args) == 3:
        return err.args[1], err.args[2]
    return builder.sent.line, ""


def _ner_tag(misc_parts: List[str]) -> str | None:
    for part in misc_parts:
        match = _NER_MISC.match(part)
        if match:
            return f"{match.group(1)}-{match.group(2)}" if match.group(1) else "O"
    return None


def read_conllu_sentences(path: Union[str, Path], *, on_error: OnError = "raise"
                          ) -> Iterator[Sentence]:
    """The sentences of a CoNLL-U file (plain or .gz), one Sentence each.

    A malformed line makes its whole sentence bad: it raises (ValueError with the file and
    line number), is skipped, or goes to the on_error callable.
    """
    policy = BadRecordPolicy(on_error, str(path))
    builder: _SentenceBuilder | None = None
    failed = False
    for number, line, encoding_error in numbered_lines(path):
        if not line.strip():
            if builder is not None and not failed and builder.sent.words:
                try:
                    yield builder.finish()
                except _LineError as err:
                    policy(*_where(err, builder), err.args[0])
            builder, failed = None, False
            continue
        if builder is None:
            builder = _SentenceBuilder(number)
        if failed:
            continue
        try:
            if encoding_error:
                raise _LineError(encoding_error)
            if line.startswith("#"):
                builder.comment(line)
            else:
                builder.token(line, number)
        except _LineError as err:
            failed = True
            policy(number, line, err.args[0])
    if builder is not None and not failed and builder.sent.words:
        try:
            yield builder.finish()
        except _LineError as err:
            policy(*_where(err, builder), err.args[0])
    policy.finish()


def sentences_to_doc(vocab: Vocab, sentences: List[Sentence]) -> Doc:
    """One Doc from consecutive sentences; a space separates them (as spaCy does)."""
    words, spaces, lemmas, pos, tags, morphs, heads, deps, starts, ner = (
        [], [], [], [], [], [], [], [], [], [])
    for k, sent in enumerate(sentences):
        offset = len(words)
        words.extend(sent.words)
        spaces.extend(sent.spaces)
        if k < len(sentences) - 1:
            spaces[-1] = True
        lemmas.extend(sent.lemmas)
        pos.extend(sent.pos)
        tags.extend(sent.tags)
        morphs.extend(sent.morphs)
        heads.extend(h + offset for h in sent.heads)
        deps.extend(sent.deps)
        starts.extend([True] + [False] * (len(sent.words) - 1))
        ner.extend(sent.ner)
    doc = Doc(vocab, words=words, spaces=spaces, lemmas=lemmas, pos=pos, tags=tags,
              morphs=morphs, heads=heads, deps=deps, sent_starts=starts)
    if any(tag is not None for tag in ner):
        offset = 0
        ents = []
        for sent in sentences:
            tags_ = [tag or "O" for tag in sent.ner]
            ents.extend((label, s + offset, e + offset) for label, s, e in tags_to_spans(tags_))
            offset += len(sent.words)
        doc.ents = ents
    return doc


def read_conllu(path: Union[str, Path], *, vocab: Vocab | None = None, n_sents: int = 1,
                on_error: OnError = "raise") -> Iterator[Doc]:
    """Docs of n_sents sentences each from a CoNLL-U file (see the module docstring).

    Args:
        path: a .conllu file, plain or gzip.
        vocab: shared Vocab (a new one by default).
        n_sents: sentences per Doc (values below 1 mean 1).
        on_error: "raise", "skip" or a callable receiving BadRecord(path, line_number,
            raw_line, reason) for each malformed sentence.
    """
    vocab = Vocab() if vocab is None else vocab
    n_sents = max(1, n_sents)
    group: List[Sentence] = []
    for sent in read_conllu_sentences(path, on_error=on_error):
        group.append(sent)
        if len(group) == n_sents:
            yield sentences_to_doc(vocab, group)
            group = []
    if group:
        yield sentences_to_doc(vocab, group)


# --- writing ----------------------------------------------------------------------------


def _field(value: str) -> str:
    """CoNLL-U cannot hold tabs or line breaks in a field, nor an empty one."""
    if not value:
        return "_"
    return value.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def _sentence_bounds(doc: Doc) -> List[tuple]:
    try:
        return [(s.start, s.end) for s in doc.sents]
    except ValueError:
        return [(0, len(doc))] if len(doc) else []


def doc_to_conllu(doc: Doc, *, first_sent_id: int = 1) -> str:
    """A Doc as CoNLL-U text: one sentence per `doc.sents` (the whole Doc when it has no
    sentence boundaries), `# sent_id` and `# text` comments, SpaceAfter=No, NE=B-LABEL for
    entities. Tokens are written as words; no multiword-token lines."""
    lines: List[str] = []
    parsed = doc.has_annotation("DEP")
    has_ents = doc.has_annotation("ENT_IOB")
    heads = [i + offset for i, offset in enumerate(doc.column("head").tolist())]
    for k, (start, end) in enumerate(_sentence_bounds(doc)):
        sent_text = doc[start:end].text
        lines.append(f"# sent_id = {first_sent_id + k}")
        lines.append(f"# text = {_field(sent_text) if sent_text else ''}")
        for i in range(start, end):
            token = doc[i]
            head, dep = "_", "_"
            if parsed and token.dep:
                h = heads[i]
                if start <= h < end:
                    head = "0" if h == i else str(h - start + 1)
                    dep = "root" if token.dep_ == "ROOT" else _field(token.dep_)
            misc = []
            if has_ents and token.ent_iob_ in ("B", "I"):
                misc.append(f"NE={token.ent_iob_}-{token.ent_type_}")
            if not token.whitespace_:
                misc.append("SpaceAfter=No")
            lines.append("\t".join((
                str(i - start + 1), _field(token.text), _field(token.lemma_), _field(token.pos_),
                _field(token.tag_), _field(str(token.morph)), head, dep, "_",
                "|".join(misc) or "_")))
        lines.append("")
    return "\n".join(lines) + ("\n" if lines else "")


def write_conllu(docs: Iterable[Doc], path: Union[str, Path, TextIO]) -> int:
    """Write Docs as CoNLL-U (gzip when the path ends in .gz); returns sentences written."""
    if hasattr(path, "write"):
        return _write(docs, path)
    with open_text(path, "w") as file_:
        return _write(docs, file_)


def _write(docs: Iterable[Doc], file_: TextIO) -> int:
    n = 0
    for doc in docs:
        text = doc_to_conllu(doc, first_sent_id=n + 1)
        n += text.count("\n# sent_id = ") + text.startswith("# sent_id = ")
        file_.write(text)
    return n
