"""NER corpora with one tag per token (IOB2, IOB1, BILUO, IOBES) -> Docs with `doc.ents`.

Three layouts are recognised from the first token line of the file:

- indexed columns, as in Universal NER: `index<TAB>token<TAB>TAG[<TAB>more columns]`;
- token-per-line columns (CoNLL 2003): `token [other columns] TAG`, tab- or space-separated;
  `-DOCSTART-` lines are skipped;
- sentence-per-line (spaCy's "iob"): `token|TAG token|TAG ...` (middle `|` fields ignored).

Blank lines end sentences; comment lines look like `# key = value`. A `# text = ...` comment
gives the exact spacing when the tokens spell it out; otherwise every token gets a trailing
space, as spaCy's converters do. Tags are read leniently (see `ner_tags.tags_to_spans`):
an IOB1 `I-` after `O` starts an entity and BILUO / IOBES are converted. n_sents sentences
make one Doc, joined by a space; tokens outside entities are "O".
"""
import re
from pathlib import Path
from typing import Iterator, List, Tuple, Union

from ..errors import Errors
from ..tokens import Doc
from ..vocab import Vocab
from .bad_records import BadRecordPolicy, OnError
from .ner_tags import TagError, split_tag, tags_to_spans
from .spaces import spaces_from_text
from .text_files import numbered_lines

_COMMENT = re.compile(r"^#[^\t=]*=")
INDEXED, COLUMNS, SENTENCE_PER_LINE = "indexed", "columns", "sentence-per-line"


class _LineError(ValueError):
    pass


def _is_tag(value: str) -> bool:
    try:
        split_tag(value)
    except TagError:
        return False
    return True


def detect_layout(line: str) -> str:
    """Which of the three layouts a token line is written in."""
    fields = line.split("\t")
    if len(fields) >= 3 and fields[0].strip().isdigit():
        return INDEXED
    parts = line.split()
    if "\t" not in line and parts and all("|" in p and _is_tag(p.rsplit("|", 1)[1])
                                          for p in parts):
        return SENTENCE_PER_LINE
    return COLUMNS


def _token_and_tag(line: str, layout: str) -> Tuple[str, str]:
    if layout == INDEXED:
        fields = line.split("\t")
        if len(fields) < 3:
            raise _LineError(Errors.E180)
        token, tag = fields[1], fields[2].strip()
    else:
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) < 2:
            raise _LineError(Errors.E180)
        token, tag = fields[0], fields[-1].strip()
    if not token:
        raise _LineError(Errors.E180)
    try:
        split_tag(tag)
    except TagError as err:
        raise _LineError(str(err)) from None
    return token, tag


class _Sentence:
    __slots__ = ("words", "tags", "text", "line")

    def __init__(self, line: int):
        self.words: List[str] = []
        self.tags: List[str] = []
        self.text: str | None = None
        self.line = line

    def spaces(self) -> List[bool]:
        if self.text is not None:
            aligned = spaces_from_text(self.words, self.text)
            if aligned is not None:
                return aligned
        return [True] * len(self.words)


def _sentences(path: Union[str, Path], policy: BadRecordPolicy) -> Iterator[_Sentence]:
    layout: str | None = None
    sent: _Sentence | None = None
    failed = False
    for number, line, encoding_error in numbered_lines(path):
        if not line.strip() or line.startswith("-DOCSTART-"):
            if sent is not None and sent.words and not failed:
                yield sent
            sent, failed = None, False
            continue
        if sent is None:
            sent = _Sentence(number)
        if failed:
            continue
        try:
            if encoding_error:
                raise _LineError(encoding_error)
            if _COMMENT.match(line):
                if line.startswith("# text ="):
                    value = line[len("# text ="):]
                    sent.text = value[1:] if value.startswith(" ") else value
                continue
            if layout is None:
                layout = detect_layout(line)
            if layout == SENTENCE_PER_LINE:
                for part in line.split():
                    fields = part.split("|")
                    if len(fields) < 2 or not fields[0]:
                        raise _LineError(Errors.E180)
                    token, tag = _token_and_tag(f"{fields[0]} {fields[-1]}", COLUMNS)
                    sent.words.append(token)
                    sent.tags.append(tag)
                yield sent
                sent = None
                continue
            token, tag = _token_and_tag(line, layout)
            sent.words.append(token)
            sent.tags.append(tag)
        except _LineError as err:
            failed = True
            policy(number, line, err.args[0])
    if sent is not None and sent.words and not failed:
        yield sent


def _to_doc(vocab: Vocab, sentences: List[_Sentence]) -> Doc:
    words: List[str] = []
    spaces: List[bool] = []
    starts: List[bool] = []
    ents = []
    for k, sent in enumerate(sentences):
        offset = len(words)
        words.extend(sent.words)
        spaces.extend(sent.spaces())
        if k < len(sentences) - 1:
            spaces[-1] = True
        starts.extend([True] + [False] * (len(sent.words) - 1))
        ents.extend((label, s + offset, e + offset) for label, s, e in tags_to_spans(sent.tags))
    doc = Doc(vocab, words=words, spaces=spaces, sent_starts=starts)
    doc.ents = ents
    return doc


def read_iob(path: Union[str, Path], *, vocab: Vocab | None = None, n_sents: int = 1,
             on_error: OnError = "raise") -> Iterator[Doc]:
    """Docs of n_sents sentences with gold entities from an IOB/BILUO file (plain or .gz).

    Args:
        vocab: shared Vocab (a new one by default).
        n_sents: sentences per Doc (values below 1 mean 1).
        on_error: "raise" (ValueError naming file and line), "skip" or a callable receiving
            BadRecord(path, line_number, raw_line, reason); a bad line drops its sentence.
    """
    vocab = Vocab() if vocab is None else vocab
    n_sents = max(1, n_sents)
    policy = BadRecordPolicy(on_error, str(path))
    group: List[_Sentence] = []
    for sent in _sentences(path, policy):
        group.append(sent)
        if len(group) == n_sents:
            yield _to_doc(vocab, group)
            group = []
    if group:
        yield _to_doc(vocab, group)
    policy.finish()
