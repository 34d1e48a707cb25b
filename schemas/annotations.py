"""`annotations` v1: one row per annotated document.

Token-level columns are lists with one entry per token, in token order. Character offsets
count Unicode code points of the document text (Python `str` indices), end exclusive. A
list column is null for a document the pipeline did not annotate with that attribute (e.g.
`dep` without a parser); an entry inside a list is null where one token has no value.
"""
import pyarrow as pa

from ._columns import Column, build_schema

NAME = "annotations"
VERSION = 1

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
