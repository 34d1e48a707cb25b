"""`annotations` v2: one row per annotated document.

Token-level columns are lists with one entry per token, in token order. Character offsets
count Unicode code points of the document text (Python `str` indices), end exclusive. A
list column is null for a document the pipeline did not annotate with that attribute (e.g.
`dep` without a parser); an entry inside a list is null where one token has no value.

v2 is v1's columns (`COLUMNS`, unchanged) followed by one typed column per extension
attribute the run declared (`--extensions doc:NAME:TYPE,token:NAME:TYPE,span:NAME:TYPE`
or the pipeline meta's "extensions"): `schema(specs)` builds it; a run without extensions
writes exactly `SCHEMA`. The declared specs are also in the schema metadata
(`EXTENSIONS_KEY`, a JSON list of "LEVEL:NAME:TYPE" strings).
"""
import json
import re
from typing import NamedTuple, Sequence, Tuple

import pyarrow as pa

from ._columns import Column, build_schema

NAME = "annotations"
VERSION = 2
# schema metadata key: the run's extension specs, a JSON list of "LEVEL:NAME:TYPE" strings
EXTENSIONS_KEY = "nlp_core.extensions"

STRING_LIST = pa.list_(pa.dictionary(pa.int32(), pa.string()))
SPAN = pa.struct([pa.field("start_char", pa.int32(), nullable=False),
                  pa.field("end_char", pa.int32(), nullable=False),
                  pa.field("label", pa.string())])
GROUP_SPAN = pa.struct([pa.field("group", pa.string(), nullable=False),
                        pa.field("start_char", pa.int32(), nullable=False),
                        pa.field("end_char", pa.int32(), nullable=False),
                        pa.field("label", pa.string())])
PIPELINE = pa.struct([pa.field("name", pa.string(), nullable=False),
                      pa.field("version", pa.string(), nullable=False)])

COLUMNS = [
    Column("doc_id", pa.string(),
           "The record's id (its --id-field value; integers in decimal), else "
           "'<source>@<offset>'. The same input gives the same id on every run.", False),
    Column("source", pa.string(), "The input file, as the --input pattern matched it.", False),
    Column("offset", pa.int64(),
           "Where the record is in its file: byte offset of its line in the (decompressed) "
           "JSONL file, or the index of the doc in a .spacy file.", False),
    Column("text", pa.string(), "The document text; null unless the job ran with --keep-text."),
    Column("token_start", pa.list_(pa.int32()),
           "Character offset of each token's first character.", False),
    Column("token_end", pa.list_(pa.int32()),
           "Character offset just past each token's last character.", False),
    Column("tag", STRING_LIST, "Fine-grained part-of-speech tag per token (e.g. PTB 'NN')."),
    Column("pos", STRING_LIST, "Universal part-of-speech tag per token (e.g. 'NOUN')."),
    Column("lemma", STRING_LIST, "Base form per token."),
    Column("dep", STRING_LIST, "Dependency label of each token's arc to its head."),
    Column("head", pa.list_(pa.int32()),
           "Token index (0-based, within the document) of each token's syntactic head; a "
           "root is its own head. Null without a dependency parse."),
    Column("sent_start", pa.list_(pa.bool_()),
           "True where a token starts a sentence, false where it does not, null where "
           "unknown. The list is null when the document has no sentence boundaries."),
    Column("ents", pa.list_(SPAN),
           "Named entities as character spans with a label; empty when the entity "
           "recogniser found none, null when none ran."),
    Column("spans", pa.list_(GROUP_SPAN),
           "Spans of the document's named span groups (doc.spans), with the group name; "
           "may overlap. Null when the document has no span groups."),
    Column("pipeline", PIPELINE,
           "The pipeline that annotated the row: '<lang>_<name>' and version from its "
           "meta.json.", False),
]

SCHEMA = build_schema(NAME, VERSION, COLUMNS)

# Extension attributes as columns. LEVEL: what the value belongs to; TYPE: its value type.
LEVELS = ("doc", "token", "span")
SCALAR_TYPES = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
                "string": pa.string()}
TYPES = (*SCALAR_TYPES, *(f"list[{t}]" for t in SCALAR_TYPES))
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LEVEL_DOCS = {
    "doc": "doc._.{name} of each document",
    "token": "token._.{name} of each token: a list with one entry per token, aligned with "
             "token_start",
    "span": "span._.{name} of each entity span: a list with one entry per entity, aligned "
            "with `ents` (null where `ents` is null)",
}


class ExtensionSpec(NamedTuple):
    """One declared extension attribute: `level` (doc, token or span), `name` (the
    attribute, `doc._.NAME`) and `type` (one of TYPES)."""

    level: str
    name: str
    type: str

    @property
    def column(self) -> str:
        """The column's name: ext_<level>_<name> (plain, so SQL needs no quoting)."""
        return f"ext_{self.level}_{self.name}"

    @property
    def value_type(self) -> pa.DataType:
        """The Arrow type of one value (a doc's, a token's or a span's)."""
        if self.type.startswith("list["):
            return pa.list_(SCALAR_TYPES[self.type[5:-1]])
        return SCALAR_TYPES[self.type]

    @property
    def arrow_type(self) -> pa.DataType:
        """The column's type: the value type, or a list of them per document for token
        and span extensions."""
        return self.value_type if self.level == "doc" else pa.list_(self.value_type)

    def __str__(self) -> str:
        return f"{self.level}:{self.name}:{self.type}"


def parse_extension_spec(text: str) -> ExtensionSpec:
    """"LEVEL:NAME:TYPE" -> ExtensionSpec; ValueError saying which part is wrong and what
    each part takes (callers add the spec and where it came from)."""
    parts = [part.strip() for part in text.strip().split(":")]
    if len(parts) != 3 or not all(parts):
        raise ValueError("not of the form LEVEL:NAME:TYPE (e.g. doc:score:float, "
                         "token:is_name:bool, span:ids:list[int])")
    level, name, type_name = parts
    type_name = type_name.replace(" ", "").replace("<", "[").replace(">", "]")
    if level not in LEVELS:
        raise ValueError(f"the level {level!r} is not one of {', '.join(LEVELS)}")
    if not _NAME.match(name):
        raise ValueError(f"the name {name!r} is not an attribute name (letters, digits and "
                         "_, not starting with a digit)")
    if type_name == "str":
        type_name = "string"
    if type_name.startswith("list[") and type_name[5:-1] == "str":
        type_name = "list[string]"
    if type_name not in TYPES:
        raise ValueError(f"the type {type_name!r} is not one of {', '.join(TYPES)}")
    return ExtensionSpec(level, name, type_name)


def extension_column(spec: ExtensionSpec) -> Column:
    """The documented column of one extension attribute."""
    what = _LEVEL_DOCS[spec.level].format(name=spec.name)
    return Column(spec.column, spec.arrow_type,
                  f"Extension attribute {spec} ({what}); null where the value is None.")


def schema(specs: Sequence[ExtensionSpec] = ()) -> pa.Schema:
    """The v2 schema with one column per extension spec after `COLUMNS` (`SCHEMA` when
    there are none)."""
    if not specs:
        return SCHEMA
    columns = [*COLUMNS, *(extension_column(s) for s in specs)]
    built = build_schema(NAME, VERSION, columns)
    metadata = dict(built.metadata)
    metadata[EXTENSIONS_KEY.encode()] = json.dumps([str(s) for s in specs]).encode()
    return built.with_metadata(metadata)


def extension_specs(metadata) -> Tuple[ExtensionSpec, ...]:
    """The extension specs recorded in a file's or schema's metadata (none: ())."""
    raw = (metadata or {}).get(EXTENSIONS_KEY.encode())
    return tuple(parse_extension_spec(s) for s in json.loads(raw)) if raw else ()
