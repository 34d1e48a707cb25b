"""The annotate job's tensors table: `--tensors trf_tokens --tensor-dtype float16` and
`--tensors trf_wordpieces` write one row per annotated doc with the annotations' doc ids,
the values the pipeline computed, and `nlp_core.read_tensors` gives them back."""
import numpy
import pyarrow.parquet as pq
import pytest

import nlp_core
from beam_jobs import annotate
from beam_jobs.tensors import docs_to_tensor_batch
from nlp_core.tensors_io import read_tensor_rows
from schemas import schema_identity, tensors

DOC_SPANS = {"@span_getters": "spacy-transformers.doc_spans.v1"}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def trf_pipeline(tmp_path_factory, tiny_bert):
    """A saved transformer-only pipeline (tiny random BERT)."""
    root = tmp_path_factory.mktemp("trf_pipeline")
    nlp = nlp_core.blank("en")
    nlp.add_pipe("transformer", config={"model": {
        "name": str(tiny_bert), "get_spans": DOC_SPANS}})
    nlp.initialize()
    nlp.to_disk(root / "pipeline")
    return root / "pipeline"


def token_means(doc):
    data = doc._.trf_data
    out = numpy.zeros((len(doc), data.width), dtype="f")
    start = 0
    for i, n in enumerate(data.align.lengths.tolist()):
        if n:
            out[i] = data.wordpiece_output[data.align.dataXd[start:start + n]].mean(0)
        start += n
    return out


def test_schema_is_versioned_and_documented():
    from pathlib import Path

    import schemas

    readme = (Path(schemas.__file__).with_name("README.md")).read_text(encoding="utf8")
    assert schemas.SCHEMAS["tensors"] is tensors and "`tensors` v1" in readme
    for dtype in ("float16", "float32"):
        schema = tensors.schema(dtype)
        assert schema_identity(schema.metadata) == ("tensors", 1)
        for field in schema:
            assert field.metadata[b"description"].decode().strip()
            assert f"`{field.name}`" in readme
    assert str(tensors.schema("float16").field("values").type.value_type) == "halffloat"


def test_trf_tokens_float16(trf_pipeline, job_args, read_table, tmp_path, capsys):
    output = tmp_path / "out"
    args = job_args(output, "--keep-text", "--tensors", "trf_tokens",
                    "--tensor-dtype", "float16")
    args[args.index("--model") + 1] = str(trf_pipeline)
    assert annotate.main(args) == 0
    assert "MB/s" in capsys.readouterr().out
    _, rows = read_table(output, "annotations")
    files = sorted((output / "tensors").glob("part-*.parquet"))
    assert schema_identity(pq.read_metadata(files[0]).metadata) == ("tensors", 1)
    vectors = nlp_core.read_tensors(output / "tensors")
    assert sorted(vectors) == sorted(r["doc_id"] for r in rows)
    nlp = nlp_core.load(trf_pipeline)
    for row in rows:
        got = vectors[row["doc_id"]]
        assert got.dtype == numpy.float16 and got.shape == (len(row["token_start"]), 32)
        numpy.testing.assert_allclose(got, token_means(nlp(row["text"])), atol=2e-3)
    summary = annotate.read_json(str(output / "run_summary.json"))
    assert summary["tensors"]["bytes_written"] > 0 and summary["tensors"]["mb_per_second"] > 0
    assert summary["schemas"]["tensors"] == 1


def test_docs_to_tensor_batch_kinds(trf_pipeline):
    nlp = nlp_core.load(trf_pipeline)
    docs = list(nlp.pipe(["the cat  sat", "hello"]))
    batch = docs_to_tensor_batch(["a", "b"], docs, "trf_wordpieces", "float32")
    row = batch.to_pylist()[0]
    data = docs[0]._.trf_data
    assert row["shape"] == [len(data.wordpiece_ids), 32]
    assert row["token_wordpiece_counts"] == data.align.lengths.tolist() == [1, 1, 0, 1]
    assert row["wordpiece_start"] == data.wordpiece_offsets[:, 0].tolist()
    numpy.testing.assert_allclose(numpy.array(row["values"]).reshape(row["shape"]),
                                  data.wordpiece_output, rtol=1e-6)
    tokens = docs_to_tensor_batch(["a", "b"], docs, "trf_tokens").to_pylist()[0]
    numpy.testing.assert_allclose(numpy.array(tokens["values"]).reshape(tokens["shape"]),
                                  token_means(docs[0]), rtol=1e-5)
    assert tokens["wordpiece_ids"] is None
    for doc in docs:
        doc.tensor = numpy.ones((len(doc), 3), dtype="f")
    t2v = docs_to_tensor_batch(["a", "b"], docs, "tok2vec", "float16").to_pylist()
    assert [r["shape"] for r in t2v] == [[4, 3], [1, 3]]


def test_read_tensor_rows_gives_the_wordpiece_alignment(trf_pipeline, tmp_path):
    import pyarrow as pa

    nlp = nlp_core.load(trf_pipeline)
    docs = list(nlp.pipe(["ca n't  go", "the cat sat", ""]))
    batch = docs_to_tensor_batch(["a", "b", "c"], docs, "trf_wordpieces", "float16")
    pq.write_table(pa.Table.from_batches([batch]), tmp_path / "part-0.parquet")
    rows = {r.doc_id: r for r in read_tensor_rows(tmp_path)}
    for doc_id, doc in zip("abc", docs):
        row, data = rows[doc_id], doc._.trf_data
        assert row.kind == "trf_wordpieces" and row.array.dtype == numpy.float16
        numpy.testing.assert_allclose(row.array, data.wordpiece_output, atol=2e-3)
        assert row.wordpiece_ids.tolist() == data.wordpiece_ids.tolist()
        assert row.wordpiece_offsets.tolist() == data.wordpiece_offsets.tolist()
        assert row.token_counts.tolist() == data.align.lengths.tolist()
        assert row.token_wordpieces.tolist() == data.align.dataXd.tolist()
    assert rows["c"].array.shape == (0, 32)
    with pytest.raises(FileNotFoundError, match="tensors/ folder"):
        nlp_core.read_tensors(tmp_path / "missing")


def test_tensors_need_the_right_component(job_args, tmp_path):
    with pytest.raises(ValueError, match="--tensors trf_tokens needs a pipeline with a "
                                         "transformer"):
        annotate.plan(job_args(tmp_path / "out", "--tensors", "trf_tokens"))


def test_a_long_documents_row_joins_its_pieces_tensors(trf_pipeline):
    """A document annotated in pieces (beam_jobs/pieces.py) gets one row: the pieces'
    vectors in order, wordpiece offsets into the whole text, links into the whole row."""
    from beam_jobs.model import SharedPipeline

    shared = SharedPipeline(str(trf_pipeline), piece_chars=120)
    text = "The cat sat on the mat. " * 6 + "\n\nA dog  barked twice!" * 8
    docs, pieces, failures = shared.annotate_pieces([text, "short one"])
    assert not failures and len(pieces[0]) > 2 and len(pieces[1]) == 1
    row = docs_to_tensor_batch(["long", "short"], docs, "trf_wordpieces",
                               pieces=pieces).to_pylist()[0]
    datas = [p._.trf_data for p in pieces[0]]
    n_wp = sum(len(d.wordpiece_ids) for d in datas)
    assert row["shape"] == [n_wp, 32] and len(row["wordpiece_start"]) == n_wp
    assert row["wordpiece_ids"] == [i for d in datas for i in d.wordpiece_ids.tolist()]
    start = 0
    expected = []
    for piece, data in zip(pieces[0], datas):
        expected += [piece.text[a:b] for a, b in data.wordpiece_offsets.tolist()]
        start += len(piece.text)
    assert [text[a:b] for a, b in zip(row["wordpiece_start"], row["wordpiece_end"])] == \
        expected
    assert row["token_wordpiece_counts"] == [
        n for d in datas for n in d.align.lengths.tolist()]
    assert len(row["token_wordpiece_counts"]) == len(docs[0])
    links = numpy.array(row["token_wordpieces"])
    assert links.max() < n_wp and len(links) == sum(row["token_wordpiece_counts"])
    numpy.testing.assert_allclose(
        numpy.array(row["values"]).reshape(row["shape"]),
        numpy.concatenate([d.wordpiece_output for d in datas]), rtol=1e-6)
    tokens = docs_to_tensor_batch(["long", "short"], docs, "trf_tokens",
                                  pieces=pieces).to_pylist()
    assert tokens[0]["shape"] == [len(docs[0]), 32]
    numpy.testing.assert_allclose(
        numpy.array(tokens[0]["values"]).reshape(tokens[0]["shape"]),
        numpy.concatenate([token_means(p) for p in pieces[0]]), rtol=1e-5, atol=1e-7)
    numpy.testing.assert_allclose(
        numpy.array(tokens[1]["values"]).reshape(tokens[1]["shape"]), token_means(docs[1]),
        rtol=1e-5)
