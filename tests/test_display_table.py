"""display_table and display_where: picking rows of an annotations table by id or filter,
reading only the row groups and columns needed (checked on the bytes read), and the filter
language's parsing, semantics and refusals."""
import io
import json
from pathlib import Path
from typing import List, Tuple

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beam_jobs.arrow import docs_to_record_batch
from beam_jobs.records import Record
from nlp_core.display_table import find_files, run_summaries, select
from nlp_core.display_where import Filter
from nlp_core.tokens import Doc
from nlp_core.vocab import Vocab
from schemas import annotations

N_DOCS = 2400
ROWS_PER_GROUP = 600
WORDS = ["The", "quick", "brown", "fox", "of", "Paris", "jumps", "over", "Acme", "Corp", "."]


def _doc(vocab: Vocab, k: int) -> Doc:
    n = 5 + k % 7
    words = [WORDS[(k + i) % len(WORDS)] for i in range(n)] + ["."]
    heads = [1] * len(words)
    heads[1] = 1
    ents = ["O"] * len(words)
    if k % 3 == 0:
        ents[2] = "B-ORG"
    if k % 5 == 0:
        ents[4] = "B-LOC"
    doc = Doc(vocab, words, heads=heads, deps=["dep"] * len(words), pos=["X"] * len(words),
              tags=["T"] * len(words), lemmas=[w.lower() for w in words], ents=ents)
    if k % 4 == 0:
        doc.spans["sc"] = [doc[0:2], doc[1:3]]
    return doc


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    """OUTPUT/annotations/part-*.parquet (two files, row groups of 600 rows, doc ids in
    order) and OUTPUT/run_summary.json."""
    out = tmp_path_factory.mktemp("annotated")
    folder = out / "annotations"
    folder.mkdir()
    vocab = Vocab()
    half = N_DOCS // 2
    for part, (lo, hi) in enumerate([(0, half), (half, N_DOCS)]):
        docs = [_doc(vocab, k) for k in range(lo, hi)]
        records = [Record(f"doc-{k:05d}", f"src-{k % 4}.jsonl", k * 100, k + 1, d.text, None,
                          len(d.text), len(d.text)) for k, d in zip(range(lo, hi), docs)]
        batch = docs_to_record_batch(records, docs, keep_text=True, pipeline_name="en_test",
                                     pipeline_version="0.1")
        with pq.ParquetWriter(folder / f"part-0000{part}-of-00002.parquet",
                              annotations.SCHEMA, compression="zstd") as writer:
            writer.write_table(pa.Table.from_batches([batch]), row_group_size=ROWS_PER_GROUP)
    (out / "run_summary.json").write_text(json.dumps({
        "model": {"name": "en_test", "version": "0.1", "components": ["parser", "ner"]},
        "counts": {"read": N_DOCS + 3, "annotated": N_DOCS, "dead_lettered": 3,
                   "dead_letter_by_reason": {"bad_json": 2, "<script>": 1}},
        "reconciled": True}))
    return out


class RecordingFile(io.FileIO):
    """A file that remembers the byte ranges read from it."""

    def __init__(self, path, log: List[Tuple[str, int, int]]):
        super().__init__(path, "rb")
        self._log = log

    def read(self, size=-1):
        start = self.tell()
        data = super().read(size)
        self._log.append((self.name, start, len(data)))
        return data

    def readinto(self, buffer):
        start = self.tell()
        n = super().readinto(buffer)
        self._log.append((self.name, start, n))
        return n


def _chunks(path: str):
    """(row group, column name, first byte, end byte) of each column chunk."""
    metadata = pq.read_metadata(path)
    for group in range(metadata.num_row_groups):
        for c in range(metadata.num_columns):
            column = metadata.row_group(group).column(c)
            start = column.dictionary_page_offset or column.data_page_offset
            if column.dictionary_page_offset:
                start = min(start, column.data_page_offset)
            name = column.path_in_schema.split(".")[0]
            yield group, name, start, start + column.total_compressed_size


def _touched(log, path: str):
    """The (row group, column) chunks whose bytes were read, besides the footer."""
    size = Path(path).stat().st_size
    footer_start = size - pq.read_metadata(path).serialized_size - 8
    reads = [(s, s + n) for name, s, n in log if name == path and n]
    # the reader's first read is a speculative read of the file's tail, for the footer
    reads = [(s, e) for s, e in reads if e <= footer_start and not e == size]
    return {(g, c) for g, c, a, b in _chunks(path) for s, e in reads if s < b and e > a}


def test_doc_id_reads_only_its_row_group_and_the_style_columns(table):
    log = []
    files = find_files(str(table))
    selection = select(str(table), style="ent", doc_ids=["doc-01500"],
                       opener=lambda p: RecordingFile(p, log))
    assert [d.title for d in selection.docs] == ["doc-01500"]
    assert selection.total_rows == N_DOCS
    # doc-01500 is row 300 of the second file: its row group 0 (rows 1200-1799 overall)
    assert _touched(log, files[0]) == set()  # min/max statistics rule it out
    touched = _touched(log, files[1])
    wanted = {"doc_id", "source", "offset", "text", "token_start", "token_end", "pipeline",
              "ents"}
    assert touched == {(0, c) for c in wanted}


def test_where_reads_only_the_columns_it_names_until_the_limit(table):
    log = []
    files = find_files(str(table))
    selection = select(str(table), style="dep", where="source = 'src-3.jsonl'", limit=2,
                       opener=lambda p: RecordingFile(p, log))
    assert [d.title for d in selection.docs] == ["doc-00003", "doc-00007"]
    assert selection.more
    touched = _touched(log, files[0])
    assert {c for g, c in touched if g > 0} == set()  # stopped in the first row group
    assert "ents" not in {c for _, c in touched} and "spans" not in {c for _, c in touched}
    assert _touched(log, files[1]) == set()


def test_doc_ids_in_the_order_given_missing_ones_named(table):
    selection = select(str(table / "annotations" / "*.parquet"), style="dep",
                       doc_ids=["doc-02399", "nope", "doc-00000", "doc-02399"])
    assert [d.title for d in selection.docs] == ["doc-02399", "doc-00000"]
    assert selection.missing_ids == ["nope"]
    first = selection.docs[1]
    assert first.heads is not None and first.tags is not None and first.ents == []
    assert dict(first.meta)["source"] == "src-0.jsonl"


def test_doc_id_and_where_together(table):
    selection = select(str(table), doc_ids=["doc-00003", "doc-00004"],
                       where="list_contains(ents.label, 'ORG')")
    assert [d.title for d in selection.docs] == ["doc-00003"]


def test_no_filter_takes_the_first_rows(table):
    selection = select(str(table), style="span", limit=5)
    assert [d.title for d in selection.docs] == [f"doc-{k:05d}" for k in range(5)]
    assert selection.docs[0].spans and selection.docs[1].spans == []


def test_run_summary_found_beside_the_tables(table):
    summaries = run_summaries(find_files(str(table)))
    assert len(summaries) == 1 and summaries[0][1]["counts"]["annotated"] == N_DOCS


def test_bad_inputs_are_named(tmp_path, table):
    with pytest.raises(ValueError, match="E587"):
        select(str(tmp_path / "nothing*.parquet"))
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1]}), other)
    with pytest.raises(ValueError, match="E588.*other.parquet.*no nlp_core.schema"):
        select(str(other))
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(ValueError, match="E588.*broken.parquet"):
        select(str(broken))
    with pytest.raises(ValueError, match="E592"):
        select(str(table), limit=0)


def test_rows_without_text_are_reported_not_fatal(tmp_path):
    vocab = Vocab()
    docs = [_doc(vocab, 1), _doc(vocab, 2)]
    records = [Record(f"r{k}", "s", k, None, d.text, None, 1, 1) for k, d in enumerate(docs)]
    batch = docs_to_record_batch(records, docs, keep_text=False, pipeline_name="x",
                                 pipeline_version="1")
    pq.write_table(pa.Table.from_batches([batch]), tmp_path / "a.parquet")
    selection = select(str(tmp_path / "a.parquet"))
    assert selection.docs == [] and len(selection.errors) == 2
    assert "E582" in selection.errors[0] and "--keep-text" in selection.errors[0]


SCHEMA = pa.schema([("doc_id", pa.string()), ("offset", pa.int64()), ("text", pa.string()),
                    ("dep", pa.list_(pa.dictionary(pa.int32(), pa.string()))),
                    ("ents", pa.list_(annotations.SPAN)),
                    ("pipeline", annotations.SCHEMA.field("pipeline").type)])
BATCH = pa.RecordBatch.from_pylist([
    {"doc_id": "a", "offset": 1, "text": "Hello World", "dep": ["nsubj", "ROOT"],
     "ents": [{"start_char": 0, "end_char": 5, "label": "ORG"}],
     "pipeline": {"name": "en_x", "version": "1"}},
    {"doc_id": "b", "offset": 20, "text": "it's fine", "dep": ["ROOT"], "ents": [],
     "pipeline": {"name": "en_y", "version": "1"}},
    {"doc_id": "c", "offset": None, "text": None, "dep": None, "ents": None,
     "pipeline": {"name": "en_x", "version": "2"}},
], schema=SCHEMA)


@pytest.mark.parametrize("where, rows", [
    ("doc_id = 'a'", ["a"]),
    ("offset > 1", ["b"]),
    ("offset >= 1 AND offset <= 20", ["a", "b"]),
    ("offset BETWEEN 2 AND 30", ["b"]),
    ("NOT offset BETWEEN 2 AND 30", ["a"]),
    ("offset IS NULL", ["c"]),
    ("text IS NOT NULL", ["a", "b"]),
    ("doc_id IN ('a', 'c')", ["a", "c"]),
    ("doc_id NOT IN ('a')", ["b", "c"]),
    ("text LIKE 'Hello%'", ["a"]),
    ("text ILIKE '%WORLD'", ["a"]),
    ("text LIKE '%''s%'", ["b"]),
    ("NOT text LIKE 'Hello%'", ["b"]),  # NULL text: unknown, not selected
    ("lower(text) = 'hello world'", ["a"]),
    ("length(text) < 10", ["b"]),
    ("length(dep) = 2", ["a"]),
    ("list_contains(dep, 'ROOT') AND NOT list_contains(dep, 'nsubj')", ["b"]),
    ("list_contains(ents.label, 'ORG')", ["a"]),
    ("pipeline.name = 'en_x' OR (pipeline.version = '1' AND doc_id = 'b')", ["a", "b", "c"]),
    ("contains(text, 'fine')", ["b"]),
    ("regexp_matches(text, '^H.*d$')", ["a"]),
    ("doc_id = 'a' or doc_id = 'b' and offset = 1", ["a"]),  # AND binds tighter
])
def test_filter_semantics(where, rows):
    mask = Filter(where, SCHEMA).mask(BATCH).to_pylist()
    assert [d for d, keep in zip(BATCH.column("doc_id").to_pylist(), mask) if keep] == rows


def test_filter_reads_only_named_columns():
    assert Filter("list_contains(ents.label, 'X') AND offset > 3", SCHEMA).columns == \
        {"ents", "offset"}


@pytest.mark.parametrize("where, message", [
    ("offset >", "E589.*expected a column"),
    ("offset = 1 offset", "E589.*unexpected"),
    ("text LIKE 3", "E589.*LIKE needs"),
    ("doc_id = \"a\"", "E589.*unexpected character"),
    ("__import__('os').system('x')", "E590.*function '__import__'"),
    ("exec('x')", "E590.*function 'exec'"),
    ("nope = 1", "E590.*column 'nope'"),
    ("pipeline.nope = 1", "E590.*field of pipeline"),
    ("doc_id = 'a'; DROP TABLE x", "E589.*unexpected character ';'"),
    ("(" * 60 + "offset = 1" + ")" * 60, "E589.*nested deeper"),
    ("offset = 1 AND " * 200 + "offset = 1", "E589.*longer than"),
])
def test_filter_refuses_what_it_does_not_know(where, message):
    with pytest.raises(ValueError, match=message):
        Filter(where, SCHEMA)


@pytest.mark.parametrize("where", ["doc_id = 3", "dep = 'x'", "offset", "length(offset) = 1"])
def test_filter_type_errors_are_named(where):
    with pytest.raises(ValueError, match="E591"):
        Filter(where, SCHEMA).mask(BATCH)


def test_a_damaged_file_is_left_out_and_named(table, tmp_path):
    files = find_files(str(table))
    for path in files:
        (tmp_path / Path(path).name).write_bytes(Path(path).read_bytes())
    damaged = tmp_path / Path(files[1]).name
    data = bytearray(damaged.read_bytes())
    for group, column, start, end in _chunks(str(damaged)):
        if group == 1 and column == "doc_id":
            for i in range(start + 8, end, 3):
                data[i] ^= 0x5A
    damaged.write_bytes(bytes(data))
    selection = select(str(tmp_path / "*.parquet"), doc_ids=["doc-00001", "doc-02000"])
    assert [d.title for d in selection.docs] == ["doc-00001"]
    assert selection.missing_ids == ["doc-02000"]
    assert len(selection.errors) == 1 and "E596" in selection.errors[0]
    assert damaged.name in selection.errors[0]


def test_batches_shrink_with_large_rows(tmp_path, monkeypatch):
    import nlp_core.display_table as display_table

    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"doc_id": [str(k) for k in range(40)],
                             "text": [f"{k:03d}" + "x" * 199_997 for k in range(40)]}), path)
    parquet = pq.ParquetFile(path)
    assert display_table._batch_rows(parquet, 0, ["doc_id"]) == display_table.BATCH_ROWS
    monkeypatch.setattr(display_table, "BATCH_BYTES", 1 << 20)
    assert display_table._batch_rows(parquet, 0, ["doc_id", "text"]) == 5


def test_the_page_stops_at_its_size_bound(table, monkeypatch):
    import nlp_core.display_page as display_page

    monkeypatch.setattr(display_page, "MAX_PAGE_CHARS", 10_000)
    selection = select(str(table), limit=50)
    page = display_page.build_page(selection, [], style="dep", pattern="x", doc_ids=(),
                                   where=None, limit=50)
    assert "The page stops here" in page and len(page) < 40_000
