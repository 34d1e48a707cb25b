"""`python -m nlp_core display`: a page from an annotations table, with the run summary;
errors exit 1 with a message naming the input."""
import json
import socket
import threading
import time
import urllib.request

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import nlp_core.cli.display as display_cli
from beam_jobs.arrow import docs_to_record_batch
from beam_jobs.records import Record
from nlp_core.cli import app
from nlp_core.tokens import Doc
from nlp_core.vocab import Vocab
from schemas import annotations

runner = CliRunner()


@pytest.fixture(scope="module")
def output(tmp_path_factory):
    out = tmp_path_factory.mktemp("annotated")
    (out / "annotations").mkdir()
    vocab = Vocab()
    texts = [["Ada", "met", "Bob", "."], ["<script>alert(1)</script>", "is", "text"],
             ["Paris", "is", "big"]]
    docs = [Doc(vocab, words, heads=[1] * len(words), deps=["dep"] * len(words),
                pos=["X"] * len(words), ents=["B-PER"] + ["O"] * (len(words) - 1))
            for words in texts]
    records = [Record(f"id-{k}", "in.jsonl", k, k + 1, d.text, None, 1, 1)
               for k, d in enumerate(docs)]
    batch = docs_to_record_batch(records, docs, keep_text=True, pipeline_name="en_t",
                                 pipeline_version="2.0")
    pq.write_table(pa.Table.from_batches([batch]), out / "annotations" / "part-0.parquet")
    assert batch.schema.metadata == annotations.SCHEMA.metadata
    (out / "run_summary.json").write_text(json.dumps({
        "model": {"name": "en_t", "version": "2.0", "components": ["parser"]},
        "counts": {"read": 5, "annotated": 3, "dead_lettered": 2,
                   "dead_letter_by_reason": {"bad_json": 1, "empty_text": 1}},
        "reconciled": True}))
    return out


def test_page_with_selected_docs_ids_metadata_and_summary(output, tmp_path):
    page = tmp_path / "page.html"
    result = runner.invoke(app, ["display", str(output), "--doc-id", "id-1", "--doc-id",
                                 "id-9", "--style", "ent", "--output", str(page)])
    assert result.exit_code == 0, result.output
    assert "picked 1 document(s) of 3 rows" in result.output
    assert "no row with doc_id 'id-9'" in result.output
    html = page.read_text(encoding="utf8")
    assert "id-1" in html and "id-0" not in html and "in.jsonl" in html
    assert "en_t 2.0" in html and "bad_json" in html and "empty_text" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html
    assert "No row with doc_id &#x27;id-9&#x27;" in html


def test_where_and_limit(output, tmp_path):
    page = tmp_path / "page.html"
    result = runner.invoke(app, ["display", str(output / "annotations" / "*.parquet"),
                                 "--where", "length(token_start) = 3", "--limit", "1",
                                 "--output", str(page)])
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf8")
    assert "id-1" in html and "id-2" not in html and "more rows match" in html
    assert html.count('class="nc-arc"') == 2


@pytest.mark.parametrize("args, message", [
    (["--where", "text = "], "E589"),
    (["--where", "os.system('x') = 1"], "E590"),
    (["--limit", "0"], "E592"),
    (["--style", "tree"], "E580"),
    ([], "E594"),
])
def test_errors_exit_1_with_the_reason(output, tmp_path, args, message):
    extra = [] if message == "E594" else ["--output", str(tmp_path / "p.html")]
    result = runner.invoke(app, ["display", str(output), *args, *extra])
    assert result.exit_code == 1 and message in result.output


def test_missing_input_is_named(tmp_path):
    result = runner.invoke(app, ["display", str(tmp_path / "none"), "-o", str(tmp_path / "p")])
    assert result.exit_code == 1 and "E587" in result.output


def test_serve_port(output, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    servers = []
    real_make_server = display_cli.serve.__globals__["make_server"]

    def recording_make_server(html, **kwargs):
        server = real_make_server(html, **kwargs)
        servers.append(server)
        return server

    monkeypatch.setitem(display_cli.serve.__globals__, "make_server", recording_make_server)
    thread = threading.Thread(target=runner.invoke,
                              args=(app, ["display", str(output), "--serve", str(port)]),
                              daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if servers:
                break
            time.sleep(0.05)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert "id-0" in response.read().decode("utf8")
    finally:
        for server in servers:
            server.shutdown()
        thread.join(timeout=10)


def test_display_runs_without_torch():
    """`python -m nlp_core display` makes torch unimportable (thinc would import it: 1-2 s
    of start-up the command never uses)."""
    import sys

    from nlp_core.__main__ import block_unused_torch

    saved = sys.modules.pop("torch", None)
    try:
        assert not block_unused_torch(["nlp_core", "displayx"])
        assert "torch" not in sys.modules
        assert block_unused_torch(["nlp_core", "display", "out/annotated", "-o", "p.html"])
        assert sys.modules["torch"] is None
    finally:  # this process's torch (if it had one) back in place for the other tests
        sys.modules.pop("torch", None)
        if saved is not None:
            sys.modules["torch"] = saved
