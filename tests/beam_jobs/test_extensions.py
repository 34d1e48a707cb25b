"""Extension attributes as typed columns of the annotate job (`--extensions`, `--code`):
end to end on the in-memory runner with a pipeline whose custom component (registered by a
--code file) sets doc._ / token._ / span._ values; values that do not fit their type are
dead letters; bad specs and undeclared attributes are clear errors."""
import json
import os
import textwrap

import numpy
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import nlp_core
from beam_jobs import annotate, extensions
from beam_jobs.annotating import AnnotateBatches
from beam_jobs.arrow import docs_to_record_batch
from beam_jobs.extensions import ExtensionReader, UserCode, parse_extensions
from beam_jobs.records import Record
from nlp_core.tokens import Doc, DocBin, Span, Token
from nlp_core.tokens.underscore import Underscore
from schemas import annotations, dead_letter, schema_identity

CODE = textwrap.dedent('''
    """Test --code file: declares extension attributes and a component that sets them."""
    from nlp_core.registry import registry
    from nlp_core.tokens import Doc, Span, Token

    for cls, name in ((Doc, "ext_test_upper"), (Doc, "ext_test_ratio"),
                      (Doc, "ext_test_label"), (Doc, "ext_test_short"),
                      (Doc, "ext_test_lengths"), (Token, "ext_test_cap"),
                      (Token, "ext_test_shout"), (Token, "ext_test_pair")):
        cls.set_extension(name, default=None, force=True)
    Token.set_extension("ext_test_width", getter=lambda t: len(t.text), force=True)
    Span.set_extension("ext_test_size", getter=lambda s: len(s), force=True)


    @registry.component("ext_test_setter")
    def set_values(doc):
        text = doc.text
        doc._.ext_test_upper = sum(c.isupper() for c in text)
        doc._.ext_test_ratio = (float("nan") if "BADFLOAT" in text
                                else doc._.ext_test_upper / len(text))
        doc._.ext_test_label = {"not": "a string"} if "BADOBJ" in text else text.split()[0]
        doc._.ext_test_short = len(doc) < 5
        doc._.ext_test_lengths = [len(t.text) for t in doc]
        caps = []
        for t in doc:
            t._.ext_test_cap = t.text[:1].isupper()
            t._.ext_test_shout = t.text.upper() if t.text.isalpha() else None
            t._.ext_test_pair = [t.i, len(t.text)]
            if t.text[:1].isupper():
                caps.append(Span(doc, t.i, t.i + 1, label="CAP"))
        doc.ents = caps
        return doc
''')

SPECS = ("doc:ext_test_upper:int,doc:ext_test_ratio:float,doc:ext_test_label:string,"
         "doc:ext_test_short:bool,doc:ext_test_lengths:list[int],token:ext_test_cap:bool,"
         "token:ext_test_shout:string,token:ext_test_pair:list[int],"
         "token:ext_test_width:int,span:ext_test_size:int")
TEXTS = ["Hello World from Ann.", "all lower case words here", "One", "x 2 y",
         "BADFLOAT in This one", "BADOBJ There"]


@pytest.fixture(scope="module", autouse=True)
def _restore_extensions():
    """The attributes these tests declare (one with a getter that raises) go afterwards,
    and so does the record of the --code files imported."""
    saved = [dict(table) for table in (Underscore.doc_extensions,
                                       Underscore.token_extensions,
                                       Underscore.span_extensions)]
    imported = dict(extensions._IMPORTED)
    yield
    for table, before in zip((Underscore.doc_extensions, Underscore.token_extensions,
                              Underscore.span_extensions), saved):
        table.clear()
        table.update(before)
    extensions._IMPORTED.clear()
    extensions._IMPORTED.update(imported)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """(--code file, pipeline directory, pipeline directory declaring the specs in meta)."""
    root = tmp_path_factory.mktemp("extensions")
    code = root / "ext_code.py"
    code.write_text(CODE, encoding="utf8")
    extensions.import_user_code(extensions.read_user_code(str(code)))
    nlp = nlp_core.blank("en")
    nlp.add_pipe("ext_test_setter")
    nlp.to_disk(root / "model")
    nlp.meta = {**nlp.meta, "extensions": SPECS.split(",")[:3]}
    nlp.to_disk(root / "model_meta")
    inputs = root / "in.jsonl"
    inputs.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n"
                              for i, t in enumerate(TEXTS)), encoding="utf8")
    return code, root / "model", root / "model_meta", inputs


def _run(output, inputs, model, *extra):
    return annotate.run(["--input", str(inputs), "--output", str(output), "--model",
                         str(model), "--runner=FnApiRunner", *extra])


def _rows(output, table):
    files = sorted((output / table).glob("part-*.parquet"))
    return files, sorted((r for f in files for r in pq.read_table(f).to_pylist()),
                         key=lambda r: r["doc_id"])


def test_extension_columns_end_to_end(pipeline, tmp_path):
    code, model, _, inputs = pipeline
    summary = _run(tmp_path / "out", inputs, model, "--code", str(code),
                   "--extensions", SPECS)
    assert summary["reconciled"] and summary["extensions"] == SPECS.split(",")
    files, rows = _rows(tmp_path / "out", "annotations")
    schema = pq.read_schema(files[0])
    assert schema_identity(schema.metadata) == ("annotations", 2)
    assert [str(s) for s in annotations.extension_specs(schema.metadata)] == SPECS.split(",")
    assert schema.names[:len(annotations.COLUMNS)] == annotations.SCHEMA.names
    types = {name: schema.field(name).type for name in schema.names}
    assert types["ext_doc_ext_test_upper"] == pa.int64()
    assert types["ext_doc_ext_test_ratio"] == pa.float64()
    assert types["ext_doc_ext_test_label"] == pa.string()
    assert types["ext_doc_ext_test_short"] == pa.bool_()
    assert types["ext_doc_ext_test_lengths"] == pa.list_(pa.int64())
    assert types["ext_token_ext_test_cap"] == pa.list_(pa.bool_())
    assert types["ext_token_ext_test_shout"] == pa.list_(pa.string())
    assert types["ext_token_ext_test_pair"] == pa.list_(pa.list_(pa.int64()))
    assert types["ext_span_ext_test_size"] == pa.list_(pa.int64())
    good = [t for t in TEXTS if "BAD" not in t]
    assert [r["doc_id"] for r in rows] == [f"d{TEXTS.index(t)}" for t in good]
    for row, text in zip(rows, good):
        words = [text[s:e] for s, e in zip(row["token_start"], row["token_end"])]
        assert row["ext_doc_ext_test_upper"] == sum(c.isupper() for c in text)
        assert row["ext_doc_ext_test_ratio"] == pytest.approx(
            sum(c.isupper() for c in text) / len(text))
        assert row["ext_doc_ext_test_label"] == text.split()[0]
        assert row["ext_doc_ext_test_short"] is (len(words) < 5)
        assert row["ext_doc_ext_test_lengths"] == [len(w) for w in words]
        assert row["ext_token_ext_test_cap"] == [w[:1].isupper() for w in words]
        assert row["ext_token_ext_test_shout"] == [w.upper() if w.isalpha() else None
                                                   for w in words]
        assert row["ext_token_ext_test_pair"] == [[i, len(w)] for i, w in enumerate(words)]
        assert row["ext_token_ext_test_width"] == [len(w) for w in words]
        # one value per entity, aligned with the ents column
        assert [text[e["start_char"]:e["end_char"]] for e in row["ents"]] == \
            [w for w in words if w[:1].isupper()]
        assert row["ext_span_ext_test_size"] == [1] * len(row["ents"])
    _, dead = _rows(tmp_path / "out", "dead_letter")
    assert [(d["doc_id"], d["error_type"]) for d in dead] == [("d4", "extension_value"),
                                                              ("d5", "extension_value")]
    assert "doc._.ext_test_ratio (float)" in dead[0]["message"]
    assert "not finite" in dead[0]["message"] and dead[0]["raw"] == TEXTS[4]
    assert "doc._.ext_test_label (string)" in dead[1]["message"]
    assert "expected string, got dict" in dead[1]["message"]
    assert summary["counts"]["dead_letter_by_reason"] == {"extension_value": 2}


def test_meta_declares_the_extensions(pipeline, tmp_path):
    code, _, model_meta, inputs = pipeline
    summary = _run(tmp_path / "out", inputs, model_meta, "--code", str(code))
    assert summary["extensions"] == SPECS.split(",")[:3]
    files, rows = _rows(tmp_path / "out", "annotations")
    assert pq.read_schema(files[0]).names[len(annotations.COLUMNS):] == [
        "ext_doc_ext_test_upper", "ext_doc_ext_test_ratio", "ext_doc_ext_test_label"]
    assert [r["ext_doc_ext_test_upper"] for r in rows] == [3, 0, 1, 0]
    # the meta declares ext_test_ratio and ext_test_label: the NaN and the dict still fail
    _, dead = _rows(tmp_path / "out", "dead_letter")
    assert [(d["doc_id"], d["error_type"]) for d in dead] == [("d4", "extension_value"),
                                                              ("d5", "extension_value")]


def test_without_extensions_the_table_has_only_the_core_columns(pipeline, tmp_path):
    code, model, _, inputs = pipeline
    summary = _run(tmp_path / "out", inputs, model, "--code", str(code))
    files, rows = _rows(tmp_path / "out", "annotations")
    assert summary["extensions"] == [] and len(rows) == len(TEXTS)
    assert pq.read_schema(files[0]).names == annotations.SCHEMA.names


@pytest.mark.parametrize("flag, part", [
    ("doc:x", "'doc:x': not of the form LEVEL:NAME:TYPE"),
    ("sent:x:int", "the level 'sent'"),
    ("doc:x:complex", "the type 'complex' is not one of int, float, bool, string, list[int]"),
    ("doc:x:list[dict]", "the type 'list[dict]'"),
    ("doc:1x:int", "the name '1x' is not an attribute name"),
    ("doc:x:int,,token:y:bool", "an empty or non-string spec"),
    ("doc:x:int,doc:x:float", "doc._.x is declared twice"),
])
def test_bad_specs_name_the_spec_and_what_is_allowed(flag, part):
    with pytest.raises(ValueError, match=r"\[E670\] --extensions") as err:
        parse_extensions(flag)
    assert part in str(err.value) and "LEVEL:NAME:TYPE" in str(err.value)


def test_specs_parse_with_aliases():
    specs = parse_extensions(" doc:a:str , token:b:list<float>,span:c:list[string]")
    assert [str(s) for s in specs] == ["doc:a:string", "token:b:list[float]",
                                       "span:c:list[string]"]
    assert [s.column for s in specs] == ["ext_doc_a", "ext_token_b", "ext_span_c"]


def test_undeclared_attribute_is_an_error_before_the_run(pipeline, tmp_path):
    code, model, _, inputs = pipeline
    with pytest.raises(ValueError, match=r"\[E672\] --extensions token:ext_test_nope:int: "
                                         r"Token has no extension attribute"):
        annotate.plan(["--input", str(inputs), "--output", str(tmp_path / "o"), "--model",
                       str(model), "--code", str(code),
                       "--extensions", "doc:ext_test_upper:int,token:ext_test_nope:int"])
    with pytest.raises(ValueError, match=r"\[E670\] --extensions: 'doc:x:float64'"):
        annotate.plan(["--input", str(inputs), "--output", str(tmp_path / "o"), "--model",
                       "blank:en", "--extensions", "doc:x:float64"])
    assert not (tmp_path / "o").exists()


def test_too_many_specs():
    with pytest.raises(ValueError, match=r"\[E670\].*more than 256 columns"):
        parse_extensions(",".join(f"doc:x{i}:int" for i in range(257)))


def test_resume_needs_the_same_extensions_and_code(pipeline, tmp_path):
    code, model, _, inputs = pipeline
    argv = ["--input", str(inputs), "--output", str(tmp_path / "o"), "--model", str(model),
            "--code", str(code)]
    settings = [annotate.shard_settings(annotate.plan(argv + extra)) for extra in
                ([], ["--extensions", "doc:ext_test_upper:int"],
                 ["--extensions", "doc:ext_test_upper:float"])]
    assert [s["extensions"] for s in settings] == [[], ["doc:ext_test_upper:int"],
                                                   ["doc:ext_test_upper:float"]]
    assert settings[0]["code"] == extensions.read_user_code(str(code)).digest


def test_bad_meta_declaration_names_the_meta(tmp_path):
    nlp = nlp_core.blank("en")
    with pytest.raises(ValueError, match=r"\[E670\] the \"extensions\" of --model 'm'"):
        extensions.from_meta({"extensions": "doc:x:int"}, "m")
    with pytest.raises(ValueError, match=r"\[E670\].*'doc:x:dict'"):
        extensions.from_meta({"extensions": ["doc:x:dict"]}, "m")
    assert extensions.resolve(None, nlp, "blank:en", None) == ()


def test_each_worker_checks_the_declarations():
    fn = AnnotateBatches("blank:en", False, extensions=("doc:ext_test_missing_attr:int",))
    with pytest.raises(ValueError, match=r"\[E672\].*Doc has no extension attribute "
                                         r"'ext_test_missing_attr'"):
        fn.setup()


def test_a_method_extension_is_no_column():
    Doc.set_extension("ext_test_method", method=lambda doc, x: x, force=True)
    with pytest.raises(ValueError, match=r"\[E670\].*ext_test_method is a method"):
        extensions.check_declared(parse_extensions("doc:ext_test_method:int"), "blank:en",
                                  None)


def test_code_travels_as_text(tmp_path):
    """A worker that cannot see the launcher's file imports the carried text."""
    source = "from nlp_core.tokens import Doc\n" \
             "Doc.set_extension('ext_test_carried', default=7, force=True)\n"
    code = UserCode(str(tmp_path / "gone" / "carried.py"), source)
    extensions.import_user_code(code)
    assert Doc.has_extension("ext_test_carried")
    with pytest.raises(FileNotFoundError, match="E227"):
        extensions.read_user_code(str(tmp_path / "missing.py"))


def _reader(*specs):
    return ExtensionReader(parse_extensions(",".join(specs)))


@pytest.mark.parametrize("value, error", [
    (True, "expected int, got bool"),
    (1 << 63, "outside int64"),
    ("3", "expected int, got str"),
    (2.0, "expected int, got float"),
    ([1], "expected int, got list"),
    (object(), "expected int, got object"),
])
def test_bad_int_values(value, error):
    Doc.set_extension("ext_test_v", default=None, force=True)
    doc = nlp_core.blank("en")("a b")
    doc._.ext_test_v = value
    values, failures = _reader("doc:ext_test_v:int").read([doc])
    assert values == [] and failures[0][0] == 0
    assert failures[0][1].startswith("doc._.ext_test_v (int): ") and error in failures[0][1]


def test_values_are_checked_and_converted():
    nlp = nlp_core.blank("en")
    for name in ("ext_test_f", "ext_test_s", "ext_test_lb", "ext_test_ls"):
        Doc.set_extension(name, default=None, force=True)
    Token.set_extension("ext_test_tf", default=0.5, force=True)
    docs = [nlp("one two"), nlp("three"), nlp("four five"), nlp("six"), nlp("seven")]
    docs[0]._.ext_test_f = numpy.float32(1.5)
    docs[0]._.ext_test_lb = numpy.array([True, False])
    docs[0]._.ext_test_ls = ["a", None, "b"]
    docs[0][1]._.ext_test_tf = 3
    docs[1]._.ext_test_f = float("inf")
    docs[2]._.ext_test_s = "lone \ud800 surrogate"
    docs[3]._.ext_test_ls = ["a", 1]
    docs[4][0]._.ext_test_tf = "x"
    reader = _reader("doc:ext_test_f:float", "doc:ext_test_s:string",
                     "doc:ext_test_lb:list[bool]", "doc:ext_test_ls:list[string]",
                     "token:ext_test_tf:float")
    values, failures = reader.read(docs)
    assert values == [[1.5, None, [True, False], ["a", None, "b"], [0.5, 3.0]]]
    assert [i for i, _ in failures] == [1, 2, 3, 4]
    assert "not finite" in failures[0][1]
    assert "lone surrogate" in failures[1][1]
    assert "doc._.ext_test_ls (list[string]): item 1: expected string, got int" \
        in failures[2][1]
    assert "token._.ext_test_tf (float): token 0 ('seven'): expected float, got str" \
        in failures[3][1]


def test_a_getter_that_raises_and_too_many_cells(monkeypatch):
    def broken(doc):
        raise KeyError("boom")

    Doc.set_extension("ext_test_broken", getter=broken, force=True)
    Token.set_extension("ext_test_big", default="abcd", force=True)
    docs = [nlp_core.blank("en")("a b c")]
    _, failures = _reader("doc:ext_test_broken:int").read(docs)
    assert "doc._.ext_test_broken (int): reading it raised KeyError" in failures[0][1]
    monkeypatch.setattr(extensions, "MAX_VALUE_CELLS", 10)
    values, failures = _reader("token:ext_test_big:string").read(docs)
    assert values == [] and "more than 10 list items and string characters" in failures[0][1]
    monkeypatch.setattr(extensions, "MAX_VALUE_CELLS", 12)
    values, _ = _reader("token:ext_test_big:string").read(docs)
    assert values == [[["abcd"] * 3]]


def test_record_batch_span_column_follows_ents():
    Span.set_extension("ext_test_sp", default=None, force=True)
    nlp = nlp_core.blank("en")
    with_ents, without = nlp("Ann met Bob"), nlp("no entities")
    with_ents.ents = [Span(with_ents, 0, 1, label="P"), Span(with_ents, 2, 3, label="P")]
    with_ents.ents[1]._.ext_test_sp = "second"
    reader = _reader("span:ext_test_sp:string")
    docs = [with_ents, without]
    values, failures = reader.read(docs)
    assert not failures
    records = [Record(f"d{i}", "s", i, 1, d.text, None, len(d.text), len(d.text))
               for i, d in enumerate(docs)]
    batch = docs_to_record_batch(records, docs, keep_text=False, pipeline_name="p",
                                 pipeline_version="1", extensions=reader,
                                 extension_values=values)
    assert batch.schema.equals(annotations.schema(reader.specs), check_metadata=True)
    rows = batch.to_pylist()
    assert rows[0]["ext_span_ext_test_sp"] == [None, "second"]
    # no entity annotation: ents is null, and so is the span column
    assert rows[1]["ents"] is None and rows[1]["ext_span_ext_test_sp"] is None
    empty = docs_to_record_batch([], [], keep_text=False, pipeline_name="p",
                                 pipeline_version="1", extensions=reader)
    assert empty.num_rows == 0 and "ext_span_ext_test_sp" in empty.schema.names


def test_extension_value_is_a_documented_reason():
    assert "extension_value" in dead_letter.ERROR_TYPES


@pytest.mark.slow
def test_workers_of_another_machine_get_the_code_as_text(pipeline, tmp_path, monkeypatch,
                                                         worker_pythonpath):
    """Under multi_processing, worker processes that cannot see the --code file (its path
    is gone) import its carried text and write the same rows as the in-memory run."""
    code, model, _, inputs = pipeline
    carried = UserCode(str(tmp_path / "elsewhere" / "ext_code.py"), code.read_text("utf8"))
    monkeypatch.setattr(extensions, "read_user_code", lambda path: carried)
    summary = _run(tmp_path / "mp", inputs, model, "--code", str(code), "--extensions", SPECS,
                   "--direct_running_mode=multi_processing", "--direct_num_workers=2")
    _run(tmp_path / "mem", inputs, model, "--code", str(code), "--extensions", SPECS)
    workers = summary["peak_rss_mb"]["workers"]
    assert workers and all(not w.endswith(f":{os.getpid()}") for w in workers)
    for table in ("annotations", "dead_letter"):
        assert _rows(tmp_path / "mp", table)[1] == _rows(tmp_path / "mem", table)[1]


def test_spacy_input_values_come_from_user_data(tmp_path):
    """A .spacy file stored with user data: the values it holds are written (a tokenizer-
    only pipeline sets none), and one it holds of the wrong type is a dead letter."""
    Doc.set_extension("ext_test_stored", default=None, force=True)
    Token.set_extension("ext_test_tok", default=None, force=True)
    nlp = nlp_core.blank("en")
    docs = [nlp("first doc"), nlp("second doc here"), nlp("third")]
    docs[0]._.ext_test_stored = "kept"
    docs[0][1]._.ext_test_tok = 2.5
    docs[2]._.ext_test_stored = 3
    DocBin(store_user_data=True, docs=docs).to_disk(tmp_path / "in.spacy")
    summary = _run(tmp_path / "out", tmp_path / "in.spacy", "blank:en", "--extensions",
                   "doc:ext_test_stored:string,token:ext_test_tok:float")
    _, rows = _rows(tmp_path / "out", "annotations")
    assert [(r["offset"], r["ext_doc_ext_test_stored"], r["ext_token_ext_test_tok"])
            for r in sorted(rows, key=lambda r: r["offset"])] == [
        (0, "kept", [None, 2.5]), (1, None, [None, None, None])]
    _, dead = _rows(tmp_path / "out", "dead_letter")
    assert [(d["offset"], d["error_type"]) for d in dead] == [(2, "extension_value")]
    assert "expected string, got int" in dead[0]["message"] and summary["reconciled"]
