"""Extension attributes as typed columns of the annotations table (`--extensions`).

    --extensions doc:score:float,token:is_name:bool,span:ids:list[int]  --code my_pipes.py

Each spec is LEVEL:NAME:TYPE (schemas/annotations.py: levels doc, token, span; types int,
float, bool, string and list[T] of them). Without the flag, the pipeline meta's
"extensions" (a list of such strings) is used. Every NAME must be a declared extension of
Doc, Token or Span once the pipeline is loaded (with the `--code` file imported first, in
the launcher and again in every worker process); `resolve` checks that before the job
starts and `check_declared` again in each worker.

`ExtensionReader.read(docs)` takes each document's values (doc._.NAME; token._.NAME of
every token; span._.NAME of every entity span, in `doc.ents` order, the order of the
`ents` column) and checks them against their type. A document whose value does not fit
(a wrong type, a float that is NaN or infinite, an int outside int64, a string holding a
lone surrogate, an object of another kind, a getter that raises, more than
`MAX_VALUE_CELLS` list items and string characters in all) is reported with the attribute,
its type and the reason; the annotate job dead-letters it as `extension_value`, and the
rest of its batch is written. None is a null everywhere.

A token extension set by assignment (no getter) is read from `doc.user_data` directly,
keyed by the tokens' character offsets, not through a Token object per token.
"""
import hashlib
import math
import re
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy
import pyarrow as pa
import pyarrow.compute as pc

from nlp_core.errors import Errors
from nlp_core.language import Language
from nlp_core.tokens import Doc, Span, Token
from nlp_core.user_code import import_code
from schemas.annotations import ExtensionSpec, parse_extension_spec

# list items plus string characters of one document's extension values, at most: memory
# stays bounded whatever a component puts there (about 16 bytes and more per cell)
MAX_VALUE_CELLS = 4_000_000
# extension columns a run may declare (a meta.json is data from outside)
MAX_SPECS = 256
# a --code file is carried to the workers as text: at most this many bytes
MAX_CODE_BYTES = 4 << 20
# how much of a bad value a message shows
_REPR_CHARS = 60
_SURROGATE = re.compile("[\ud800-\udfff]")
_CLASSES = {"doc": Doc, "token": Token, "span": Span}
# the --code files this process has imported, by the sha256 of their text
_IMPORTED: Dict[str, Optional[ModuleType]] = {}


class UserCode(NamedTuple):
    """A --code file as read by the launcher: its path and text, carried to every worker
    (which may not see the launcher's files)."""

    path: str
    source: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.source.encode("utf8")).hexdigest()


def read_user_code(path: Optional[str]) -> Optional[UserCode]:
    """The --code file `path` (None: None); ValueError / OSError naming the file when it
    is missing, too large or not UTF-8 text."""
    if not path:
        return None
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(Errors.E227.format(path=path))
    if file.stat().st_size > MAX_CODE_BYTES:
        raise ValueError(Errors.E673.format(path=path, reason=f"it is larger than "
                                            f"{MAX_CODE_BYTES >> 20} MiB"))
    try:
        return UserCode(str(file), file.read_text(encoding="utf8"))
    except UnicodeDecodeError as err:
        raise ValueError(Errors.E673.format(path=path, reason=f"it is not UTF-8 text ({err})")
                         ) from None


def import_user_code(code: Optional[UserCode]) -> None:
    """Import the --code file once per process (its components and extensions registered).
    The file at its path is imported when it still holds the same text; otherwise (a
    worker on another machine) the carried text is written to a temporary file first."""
    if code is None or code.digest in _IMPORTED:
        return
    path = Path(code.path)
    try:
        same = path.is_file() and path.read_text(encoding="utf8") == code.source
    except (OSError, UnicodeDecodeError):
        same = False
    if not same:
        folder = tempfile.mkdtemp(prefix="nlp_core_code_")
        path = Path(folder) / (path.stem + ".py")
        path.write_text(code.source, encoding="utf8")
    _IMPORTED[code.digest] = import_code(path)


def parse_extensions(text: str, where: str = "--extensions") -> Tuple[ExtensionSpec, ...]:
    """"doc:x:int,token:y:list[string],..." -> specs; ValueError E670 naming the bad spec,
    the levels and the types allowed (`where` says where the text came from)."""
    return _parse(_split(text), where)


def _split(text: str) -> List[str]:
    """Split at commas outside brackets (list[int] holds none, but be forgiving)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += char in "[<"
        depth -= char in "]>"
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _parse(parts: Sequence[Any], where: str) -> Tuple[ExtensionSpec, ...]:
    if len(parts) > MAX_SPECS:
        raise ValueError(Errors.E670.format(where=where, spec=f"{len(parts)} specs",
                                            reason=f"more than {MAX_SPECS} columns"))
    specs: List[ExtensionSpec] = []
    for part in parts:
        if not isinstance(part, str) or not part.strip():
            raise ValueError(Errors.E670.format(where=where, spec=repr(part),
                                                reason="an empty or non-string spec"))
        try:
            spec = parse_extension_spec(part)
        except ValueError as err:
            raise ValueError(Errors.E670.format(where=where, spec=repr(part.strip()),
                                                reason=err)) from None
        if any(s.level == spec.level and s.name == spec.name for s in specs):
            raise ValueError(Errors.E670.format(
                where=where, spec=repr(part.strip()),
                reason=f"{spec.level}._.{spec.name} is declared twice"))
        specs.append(spec)
    if not specs:
        raise ValueError(Errors.E670.format(where=where, spec="''", reason="no spec given"))
    return tuple(specs)


def from_meta(meta: Dict[str, Any], model: str) -> Tuple[ExtensionSpec, ...]:
    """The specs the pipeline's meta.json declares under "extensions" (a list of
    "LEVEL:NAME:TYPE" strings); () when it declares none."""
    value = meta.get("extensions")
    if value is None or value == []:
        return ()
    where = f"the \"extensions\" of --model {model!r}'s meta.json"
    if not isinstance(value, list):
        raise ValueError(Errors.E670.format(
            where=where, spec=repr(value)[:_REPR_CHARS],
            reason=f"a {type(value).__name__}, not a list of \"LEVEL:NAME:TYPE\" strings"))
    return _parse(value, where)


def resolve(flag: Optional[str], nlp: Language, model: str,
            code: Optional[UserCode]) -> Tuple[ExtensionSpec, ...]:
    """The run's specs: --extensions when given, else the pipeline meta's; each checked
    to be a declared extension attribute (`check_declared`)."""
    if flag is not None and flag.strip():
        specs = parse_extensions(flag)
        where = "--extensions"
    else:
        if flag is not None:
            raise ValueError(Errors.E670.format(where="--extensions", spec="''",
                                                reason="no spec given"))
        specs = from_meta(nlp.meta, model)
        where = "meta.json \"extensions\""
    check_declared(specs, model, code, where)
    return specs


def check_declared(specs: Sequence[ExtensionSpec], model: str, code: Optional[UserCode],
                   where: str = "--extensions") -> None:
    """ValueError E672 for the first spec whose attribute is not declared on its class."""
    for spec in specs:
        cls = _CLASSES[spec.level]
        if not cls.has_extension(spec.name):
            loaded = f" and --code {code.path!r} imported" if code is not None else ""
            raise ValueError(Errors.E672.format(where=where, spec=str(spec),
                                                cls=cls.__name__, name=spec.name,
                                                model=model, loaded=loaded))
        if cls.get_extension(spec.name)[1] is not None:
            raise ValueError(Errors.E670.format(
                where=where, spec=repr(str(spec)),
                reason=f"{spec.level}._.{spec.name} is a method (set_extension(method=...)), "
                       "which has no value to write; declare a default or a getter"))


class _BadValue(Exception):
    pass


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _REPR_CHARS else text[:_REPR_CHARS] + "..."


def _int(value: Any) -> int:
    if isinstance(value, (bool, numpy.bool_)) or not isinstance(value, (int, numpy.integer)):
        raise _BadValue(f"expected int, got {type(value).__name__} {_short(value)}")
    number = int(value)
    if not -(1 << 63) <= number < (1 << 63):
        raise _BadValue(f"the int {_short(number)} is outside int64")
    return number


def _float(value: Any) -> float:
    if isinstance(value, (bool, numpy.bool_)) or not isinstance(
            value, (int, float, numpy.integer, numpy.floating)):
        raise _BadValue(f"expected float, got {type(value).__name__} {_short(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise _BadValue(f"the number {_short(value)} is too large for a float") from None
    if not math.isfinite(number):
        raise _BadValue(f"the float {number!r} is not finite (NaN and infinities are not "
                        "allowed; use None for a missing value)")
    return number


def _bool(value: Any) -> bool:
    if not isinstance(value, (bool, numpy.bool_)):
        raise _BadValue(f"expected bool, got {type(value).__name__} {_short(value)}")
    return bool(value)


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise _BadValue(f"expected string, got {type(value).__name__} {_short(value)}")
    if _SURROGATE.search(value):
        raise _BadValue("the string holds a lone surrogate, which is not Unicode text")
    return value


_SCALARS = {"int": _int, "float": _float, "bool": _bool, "string": _string}


class _Checker:
    """Checks (and converts to plain Python) the values of one spec, counting cells."""

    def __init__(self, spec: ExtensionSpec):
        self.spec = spec
        self.is_list = spec.type.startswith("list[")
        self.scalar = _SCALARS[spec.type[5:-1] if self.is_list else spec.type]
        self.is_string = spec.type in ("string", "list[string]")
        self.cells = 0

    def __call__(self, value: Any) -> Any:
        if value is None:
            return None
        if not self.is_list:
            checked = self.scalar(value)
            if self.is_string:
                self._count(len(checked))
            return checked
        if isinstance(value, numpy.ndarray) and value.ndim == 1:
            value = value.tolist()
        if not isinstance(value, (list, tuple)):
            raise _BadValue(f"expected {self.spec.type}, got {type(value).__name__} "
                            f"{_short(value)}")
        self._count(len(value))
        items = []
        for i, item in enumerate(value):
            if item is None:
                items.append(None)
                continue
            try:
                items.append(self.scalar(item))
            except _BadValue as err:
                raise _BadValue(f"item {i}: {err}") from None
            if self.is_string:
                self._count(len(item))
        return items

    def _count(self, cells: int) -> None:
        self.cells += cells
        if self.cells > MAX_VALUE_CELLS:
            raise _BadValue(f"the document's values hold more than {MAX_VALUE_CELLS:,} list "
                            "items and string characters in all")


class ExtensionReader:
    """Reads and checks the values of `specs` from annotated Docs; builds their columns."""

    def __init__(self, specs: Sequence[ExtensionSpec]):
        self.specs = tuple(specs)

    def read(self, docs: Sequence[Doc]) -> Tuple[List[List[Any]], List[Tuple[int, str]]]:
        """Per doc, one checked value per spec (token / span specs: a list), for the docs
        whose values all fit; and (doc index, message) for those that do not.

        Returns:
            (values, failures): `values[i]` holds the i-th good doc's values, in spec order.
        """
        values: List[List[Any]] = []
        failures: List[Tuple[int, str]] = []
        for i, doc in enumerate(docs):
            try:
                values.append(self._read_doc(doc))
            except _BadValue as err:
                failures.append((i, str(err)))
        return values, failures

    def _read_doc(self, doc: Doc) -> List[Any]:
        row = []
        for spec in self.specs:
            check = _Checker(spec)
            try:
                if spec.level == "doc":
                    row.append(check(getattr(doc._, spec.name)))
                elif spec.level == "token":
                    row.append(self._tokens(doc, spec, check))
                else:
                    row.append(self._spans(doc, spec, check))
            except _BadValue as err:
                raise _BadValue(f"{spec.level}._.{spec.name} ({spec.type}): {err}") from None
            except Exception as err:  # a getter of the user's: its error is the doc's
                raise _BadValue(f"{spec.level}._.{spec.name} ({spec.type}): reading it "
                                f"raised {type(err).__name__}: {err}") from None
        return row

    @staticmethod
    def _tokens(doc: Doc, spec: ExtensionSpec, check: _Checker) -> List[Any]:
        default, method, getter, _setter = Token.get_extension(spec.name)
        if getter is not None or method is not None:
            out = []
            for token in doc:
                try:  # the getter itself: token._ would build a namespace per token
                    out.append(check(getter(token) if getter is not None
                                     else getattr(token._, spec.name)))
                except _BadValue as err:
                    raise _BadValue(f"token {token.i} ({_short(token.text)}): {err}") from None
            return out
        # set by assignment: user_data[("._.", name, token.idx, None)], else the default
        by_char = {key[2]: value for key, value in doc.user_data.items()
                   if isinstance(key, tuple) and len(key) == 4 and key[0] == "._."
                   and key[1] == spec.name and key[3] is None}
        idx = doc.column("idx").tolist()
        if not by_char:
            if default is None:
                return [None] * len(idx)
            before = check.cells
            try:
                value = check(default)
            except _BadValue as err:
                raise _BadValue(f"the default: {err}") from None
            check.cells = before  # the default once per token
            check._count(_cells(value) * len(idx))
            return [value] * len(idx)
        out = []
        for i, start in enumerate(idx):
            try:
                out.append(check(by_char.get(start, default)))
            except _BadValue as err:
                raise _BadValue(f"token {i} ({_short(doc[i].text)}): {err}") from None
        return out

    @staticmethod
    def _spans(doc: Doc, spec: ExtensionSpec, check: _Checker) -> List[Any]:
        out = []
        for span in doc.ents:
            try:
                out.append(check(getattr(span._, spec.name)))
            except _BadValue as err:
                raise _BadValue(f"entity {span.start_char}-{span.end_char} "
                                f"({_short(span.text)}): {err}") from None
        return out

    def columns(self, values: Sequence[Sequence[Any]], ents: pa.Array) -> List[pa.Array]:
        """One Arrow column per spec from the `read` values of a batch's docs; span columns
        are null where the batch's `ents` column is."""
        arrays = []
        for j, spec in enumerate(self.specs):
            column = [row[j] for row in values]
            if spec.level == "span":
                no_ents = ents.is_null().to_pylist()
                column = [None if missing else v for v, missing in zip(column, no_ents)]
            array = pa.array(column, type=spec.arrow_type)
            if spec.level == "span" and (pc.list_value_length(array).to_pylist()
                                         != pc.list_value_length(ents).to_pylist()):
                raise RuntimeError(f"{spec}: the entity values do not line up with the "
                                   "ents column (a bug: please report it)")
            arrays.append(array)
        return arrays


def spec_strings(specs: Sequence[ExtensionSpec]) -> Tuple[str, ...]:
    """Specs as plain strings (what the DoFn carries to the workers)."""
    return tuple(str(s) for s in specs)


def specs_from_strings(texts: Sequence[str]) -> Tuple[ExtensionSpec, ...]:
    return tuple(parse_extension_spec(t) for t in texts)


def _cells(value: Any) -> int:
    """List items and string characters of one checked value."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return len(value) + sum(len(v) for v in value if isinstance(v, str))
    return 0
