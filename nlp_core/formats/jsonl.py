"""JSONL corpora: one JSON object per line, plain or gzip.

Records are either raw text, tokenized by the `make_doc` you pass:

    {"text": "Hello world.", "id": "doc-1", "meta": {...}}

or pre-tokenized, optionally with annotations (what `write_jsonl` writes):

    {"text": "Hello world.", "tokens": ["Hello", "world", "."], "spaces": [true, false, false],
     "tags": [...], "pos": [...], "morphs": [...], "lemmas": [...], "heads": [...] (absolute),
     "deps": [...], "sent_starts": [...], "ents": ["O", "O", "O"] (IOB per token), "cats": {...}}

"spaces" may be left out when "text" is given (they are recovered from it) and defaults to
all true otherwise. `id` and `meta` go to `doc.user_data["id"]` / `["meta"]` and are
written back from there.
"""
import gzip
import json
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, Tuple, Union

from ..errors import Errors
from ..tokens import Doc
from ..vocab import Vocab
from .bad_records import BadRecordPolicy, OnError
from .spaces import spaces_from_text
from .text_files import numbered_lines

MakeDoc = Callable[[str], Doc]
# record key -> Doc constructor keyword, for per-token annotation lists
ANNOTATION_KEYS = {"tags": "tags", "pos": "pos", "morphs": "morphs", "lemmas": "lemmas",
                   "heads": "heads", "deps": "deps", "sent_starts": "sent_starts",
                   "ents": "ents"}


class RecordError(ValueError):
    """A record that cannot become a Doc; the message is the reason (no path or line)."""


def _resolve(make_doc, vocab) -> Tuple[MakeDoc | None, Vocab]:
    """Accept an nlp object, a tokenizer or a plain function; find the vocab they use."""
    if make_doc is not None and hasattr(make_doc, "make_doc"):
        if vocab is None:
            vocab = getattr(make_doc, "vocab", None)
        make_doc = make_doc.make_doc
    if make_doc is not None and not callable(make_doc):
        raise TypeError(f"make_doc must be callable (e.g. nlp.make_doc), got "
                        f"{type(make_doc).__name__}.")
    if vocab is None:
        owner = getattr(make_doc, "__self__", make_doc)
        vocab = getattr(owner, "vocab", None)
    return make_doc, Vocab() if vocab is None else vocab


def record_to_doc(record: Any, vocab: Vocab, make_doc: MakeDoc | None = None) -> Doc:
    """One parsed JSON record -> Doc.

    Raises:
        RecordError: the reason the record is unusable.
    """
    if not isinstance(record, dict):
        raise RecordError(Errors.E161.format(type=type(record).__name__))
    text = record.get("text")
    if "text" in record and not isinstance(text, str):
        raise RecordError(Errors.E163.format(type=type(text).__name__))
    if "tokens" in record:
        doc = _pretokenized_doc(record, vocab, text)
    elif text is None:
        raise RecordError(Errors.E162)
    elif make_doc is None:
        raise RecordError(Errors.E165)
    else:
        try:
            doc = make_doc(text)
        except Exception as err:
            raise RecordError(f"the tokenizer failed on this text: {err!r}") from err
    if "cats" in record:
        cats = record["cats"]
        if not isinstance(cats, dict):
            raise RecordError(Errors.E166.format(detail="'cats' must be an object of scores"))
        doc.cats = dict(cats)
    for key in ("id", "meta"):
        if key in record:
            doc.user_data[key] = record[key]
    return doc


def _pretokenized_doc(record: Dict[str, Any], vocab: Vocab, text: str | None) -> Doc:
    tokens = record["tokens"]
    if not isinstance(tokens, list) or not all(isinstance(t, str) and t for t in tokens):
        raise RecordError(Errors.E164.format(detail="'tokens' must be a list of non-empty "
                                                    "strings"))
    spaces = record.get("spaces")
    if spaces is None:
        spaces = [True] * len(tokens) if text is None else spaces_from_text(tokens, text)
        if spaces is None:
            raise RecordError(Errors.E164.format(
                detail="the tokens do not spell out 'text' (with at most one space between "
                       "tokens); give 'spaces' explicitly"))
    elif (not isinstance(spaces, list) or len(spaces) != len(tokens)
          or not all(isinstance(s, bool) for s in spaces)):
        raise RecordError(Errors.E164.format(
            detail=f"'spaces' must be a list of {len(tokens)} booleans, one per token"))
    annotations = {}
    for key, kwarg in ANNOTATION_KEYS.items():
        if record.get(key) is not None:
            values = record[key]
            if not isinstance(values, list) or len(values) != len(tokens):
                raise RecordError(Errors.E166.format(
                    detail=f"{key!r} must be a list of {len(tokens)} values, one per token"))
            annotations[kwarg] = values
    try:
        doc = Doc(vocab, words=tokens, spaces=spaces, **annotations)
    except (ValueError, TypeError, KeyError) as err:
        raise RecordError(Errors.E166.format(detail=err)) from None
    if text is not None and doc.text != text:
        raise RecordError(Errors.E164.format(
            detail="'text' differs from the tokens joined with their 'spaces'"))
    return doc


def read_jsonl(path: Union[str, Path], make_doc=None, *, vocab: Vocab | None = None,
               on_error: OnError = "raise", as_tuples: bool = False) -> Iterator:
    """Docs from a JSONL file (plain or .gz), one per non-blank line.

    Args:
        path: the file.
        make_doc: turns text into a Doc (`nlp.make_doc`, a tokenizer, or an nlp object);
            only needed for {"text": ...} records without "tokens".
        vocab: for pre-tokenized records; defaults to make_doc's vocab, else a new Vocab.
        on_error: "raise" (ValueError naming file and line), "skip" (warn with the count at
            the end) or a callable receiving each BadRecord(path, line_number, raw_line,
            reason), e.g. to write a dead-letter file.
        as_tuples: yield (doc, context) with context {"path", "line", "id", "meta"}.

    Yields:
        Doc, or (Doc, dict) with as_tuples.
    """
    make_doc, vocab = _resolve(make_doc, vocab)
    policy = BadRecordPolicy(on_error, str(path))
    for number, line, encoding_error in numbered_lines(path):
        if encoding_error:
            policy(number, line, encoding_error)
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            policy(number, line, Errors.E160.format(detail=err))
            continue
        try:
            doc = record_to_doc(record, vocab, make_doc)
        except RecordError as err:
            policy(number, line, str(err))
            continue
        if as_tuples:
            yield doc, {"path": str(path), "line": number, "id": record.get("id"),
                        "meta": record.get("meta")}
        else:
            yield doc
    policy.finish()


def doc_to_record(doc: Doc) -> Dict[str, Any]:
    """A Doc as a JSONL record: text, tokens, spaces, the annotations it has, cats, id, meta."""
    record: Dict[str, Any] = {}
    for key in ("id", "meta"):
        if key in doc.user_data:
            record[key] = doc.user_data[key]
    record["text"] = doc.text
    record["tokens"] = doc.token_texts()
    record["spaces"] = doc.column("trailing_space").tolist()
    if doc.has_annotation("TAG"):
        record["tags"] = [t.tag_ for t in doc]
    if doc.has_annotation("POS"):
        record["pos"] = [t.pos_ for t in doc]
    if doc.has_annotation("MORPH"):
        keys = doc.column("morph").tolist()
        record["morphs"] = [str(t.morph) if key else None for t, key in zip(doc, keys)]
    if doc.has_annotation("LEMMA"):
        record["lemmas"] = [t.lemma_ for t in doc]
    if doc.has_annotation("DEP"):
        record["heads"] = [t.head.i for t in doc]
        record["deps"] = [t.dep_ for t in doc]
    if (doc.column("sent_start")[1:] != 0).any():  # set, not derived from the parse
        record["sent_starts"] = [t.is_sent_start for t in doc]
    if doc.has_annotation("ENT_IOB"):
        record["ents"] = [f"{t.ent_iob_}-{t.ent_type_}" if t.ent_iob_ in ("B", "I")
                          else t.ent_iob_ for t in doc]
    if doc.cats:
        record["cats"] = doc.cats
    return record


def _json_line(record: Dict[str, Any]) -> bytes:
    line = json.dumps(record, ensure_ascii=False)
    try:
        return line.encode("utf8") + b"\n"
    except UnicodeEncodeError:
        # lone surrogates (read from "\ud800" escapes) only survive as escapes
        return json.dumps(record).encode("utf8") + b"\n"


def write_jsonl(docs: Iterable[Doc], path: Union[str, Path]) -> int:
    """Write one `doc_to_record` line per Doc (gzip when the path ends in .gz).

    Returns:
        the number of docs written.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    n = 0
    with opener(path, "wb") as file_:
        for doc in docs:
            file_.write(_json_line(doc_to_record(doc)))
            n += 1
    return n
