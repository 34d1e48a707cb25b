"""The annotate job end to end on FnApiRunner (in memory and multi-processing): every record
is annotated or dead-lettered with its reason, the counts reconcile, the Parquet output has
the documented schema, tokens match `nlp(text)`, and a re-run gives the same rows."""
import json
from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

import nlp_core
from beam_jobs import annotate, output_dir
from beam_jobs.shards import PartialRun
from schemas import annotations, dead_letter, schema_identity


@pytest.fixture(scope="module")
def in_memory(corpus, tmp_path_factory):
    output = tmp_path_factory.mktemp("in_memory")
    summary = annotate.run(["--input", corpus["glob"], "--output", str(output),
                            "--model", "blank:en", "--max-chars", str(corpus["max_chars"]),
                            "--keep-text", "--runner=FnApiRunner"])
    return output, summary


def _without_text(rows):
    return [{k: v for k, v in r.items() if k != "text"} for r in rows]


def test_every_record_is_annotated_or_dead_lettered(in_memory, corpus, read_table):
    output, summary = in_memory
    _, rows = read_table(output, "annotations")
    _, dead = read_table(output, "dead_letter")
    assert sorted(r["text"] for r in rows) == sorted(corpus["texts"])
    assert sorted(d["error_type"] for d in dead) == corpus["bad"]
    counts = summary["counts"]
    assert counts["read"] == corpus["n_read"] == counts["annotated"] + counts["dead_lettered"]
    assert (counts["annotated"], counts["dead_lettered"]) == (len(rows), len(dead))
    assert summary["reconciled"] is True
    assert counts["blank_lines"] == 2
    assert sum(counts["dead_letter_by_reason"].values()) == len(dead)
    on_disk = json.loads((output / "run_summary.json").read_text())
    assert on_disk["counts"] == counts and on_disk["wall_seconds"] > 0
    assert on_disk["model"]["name"] == "en_blank"
    assert not list((output / "annotations").glob("beam-temp-*"))


def test_tokens_match_the_pipeline(in_memory, read_table):
    output, _ = in_memory
    nlp = nlp_core.blank("en")
    _, rows = read_table(output, "annotations")
    for row in rows:
        doc = nlp(row["text"])
        assert row["token_start"] == [t.idx for t in doc]
        assert row["token_end"] == [t.idx + len(t.text) for t in doc]
        assert [row["text"][s:e] for s, e in zip(row["token_start"], row["token_end"])] \
            == [t.text for t in doc]
        # a tokenizer-only pipeline annotates nothing else
        assert all(row[c] is None for c in ("tag", "pos", "lemma", "dep", "head",
                                            "sent_start", "ents", "spans"))
        assert row["pipeline"] == {"name": "en_blank", "version": "0.0.0"}


def test_doc_ids_and_dead_letter_positions(in_memory, corpus, read_table):
    output, _ = in_memory
    _, rows = read_table(output, "annotations")
    plain = str(corpus["root"] / "a.jsonl")
    ids = {r["text"]: r["doc_id"] for r in rows}
    assert ids["Hello world. This is a test."] == "doc-1"
    assert ids["Integer ids become strings."] == "42"
    second = next(r for r in rows if r["text"].startswith("Mr. Smith"))
    assert second["doc_id"] == f"{plain}@{second['offset']}"
    assert (corpus["root"] / "a.jsonl").read_bytes()[second["offset"]:].startswith(b'{"text"')
    _, dead = read_table(output, "dead_letter")
    by_type = {d["error_type"]: d for d in dead}
    assert by_type["bad_json"]["line"] == 5 and by_type["bad_json"]["raw"] == "{not json"
    assert by_type["not_utf8"]["raw"] == '{"text": "bad \\xff bytes"}'
    assert by_type["text_too_long"]["raw_bytes"] > corpus["max_chars"]
    duplicate = by_type["duplicate_id"]
    assert duplicate["source"].endswith("b.jsonl.gz") and duplicate["line"] == 3
    assert duplicate["doc_id"] == "doc-1" and "a.jsonl@0" in duplicate["message"]


def test_parquet_files_carry_the_documented_schema(in_memory, read_table):
    output, _ = in_memory
    for table, module in (("annotations", annotations), ("dead_letter", dead_letter)):
        files, _ = read_table(output, table)
        for path in files:
            metadata = pq.read_metadata(path).metadata
            assert schema_identity(metadata) == (module.NAME, module.VERSION)
            schema = pq.read_schema(path)
            assert schema.names == module.SCHEMA.names
            for field in module.SCHEMA:
                assert schema.field(field.name).metadata == field.metadata


def test_multi_processing_run_gives_the_same_rows(in_memory, job_args, tmp_path, read_table,
                                                  worker_pythonpath):
    output, first = in_memory
    summary = annotate.run(job_args(tmp_path, "--keep-text",
                                    "--direct_running_mode=multi_processing",
                                    "--direct_num_workers=2"))
    assert summary["counts"] == first["counts"]
    assert read_table(tmp_path, "annotations")[1] == read_table(output, "annotations")[1]
    assert read_table(tmp_path, "dead_letter")[1] == read_table(output, "dead_letter")[1]


def test_without_keep_text_and_with_duplicates_allowed(job_args, tmp_path, read_table):
    summary = annotate.run(job_args(tmp_path, "--allow-duplicate-ids"),
                           test_pipeline=BeamTestPipeline(runner="FnApiRunner"))
    _, rows = read_table(tmp_path, "annotations")
    assert all(r["text"] is None for r in rows)
    assert "duplicate_id" not in summary["counts"]["dead_letter_by_reason"]
    assert [r["doc_id"] for r in rows].count("doc-1") == 2


def test_assert_that_on_the_built_pipeline(job_args, tmp_path, corpus):
    job_plan = annotate.plan(job_args(tmp_path))
    p = BeamTestPipeline(runner="FnApiRunner")
    outputs = annotate.build_pipeline(p, job_plan)
    reasons = outputs.dead_letters | "Types" >> beam.Map(lambda d: d.error_type)
    assert_that(reasons, equal_to(corpus["bad"]), label="DeadLetterTypes")
    total = (outputs.annotations
             | "Rows" >> beam.Map(lambda batch: batch.num_rows)
             | "Total" >> beam.CombineGlobally(sum))
    assert_that(total, equal_to([len(corpus["texts"])]), label="AnnotatedRows")
    manifests = outputs.manifests | "Names" >> beam.Map(lambda m: Path(m["files"][
        "annotations"]).name)
    assert_that(manifests, equal_to([f"part-0000{i}-of-00002.parquet" for i in (0, 1)]),
                label="Shards")
    p.run().wait_until_finish()
    # the pipeline commits shards to the partial area; only `run` swaps them into --output
    assert not (tmp_path / "annotations").exists()
    partial = PartialRun(str(tmp_path))
    assert len(list(Path(partial.path("annotations")).glob("part-*.parquet"))) == 2
    assert len(list(Path(partial.path("manifests")).glob("part-*.json"))) == 2
    partial.discard()
    output_dir.discard(job_plan.out)


def test_existing_output_needs_overwrite(in_memory, corpus):
    output, _ = in_memory
    argv = ["--input", corpus["glob"], "--output", str(output), "--model", "blank:en"]
    with pytest.raises(ValueError, match="--overwrite"):
        annotate.plan(argv)


@pytest.mark.parametrize("argv, message", [
    (["--output", "o", "--model", "blank:en"], "Missing --input"),
    (["--input", "x", "--output", "o", "--model", "blank:en", "--keep-txt"],
     "Unknown option.*--keep-txt"),
    (["--input", "/nonexistent/*.jsonl", "--output", "o", "--model", "blank:en"],
     "matches no non-empty file"),
    (["--input", "x", "--output", "o", "--model", "blank:en", "--batch-size", "0"],
     "--batch-size must be at least 1"),
])
def test_bad_command_lines_name_the_flag(argv, message):
    with pytest.raises(ValueError, match=message):
        annotate.plan(argv)


def test_help_explains_the_flags(capsys):
    assert annotate.main(["--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--input", "--output", "--model", "--input-format", "--text-field",
                 "--id-field", "--keep-text", "--batch-size", "--max-chars", "blank:LANG",
                 "dead_letter", "--direct_num_workers"):
        assert flag in out


def test_main_prints_where_the_outputs_are_and_the_counts(job_args, tmp_path, corpus, capsys):
    assert annotate.main(job_args(tmp_path)) == 0
    out = capsys.readouterr().out.splitlines()
    n_bad = len(corpus["bad"])
    assert out[0] == (f"read {corpus['n_read']} records = {corpus['n_read'] - n_bad} annotated"
                      f" + {n_bad} dead-lettered (reconciled)")
    assert "duplicate_id: 1" in out[1] and "not_utf8: 1" in out[1]
    annotations_line = next(line for line in out if line.startswith("annotations:"))
    dead_line = next(line for line in out if line.startswith("dead letters:"))
    # one shard per input file
    assert f"{tmp_path / 'annotations' / 'part-*.parquet'} (2 files)" in annotations_line
    assert f"{tmp_path / 'dead_letter' / 'part-*.parquet'} (2 files)" in dead_line
    assert f"({n_bad} rows)" in dead_line
    assert any(line.startswith("run summary:") for line in out)
