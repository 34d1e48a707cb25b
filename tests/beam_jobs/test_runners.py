"""The portable path: the job submitted to Beam's local job service (PortableRunner, LOOPBACK
workers) with `--setup_file`, so that building and staging the package's sdist is
exercised. A job service that does not start fails the test."""
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from beam_jobs import annotate

START_TIMEOUT_S = 60
REPO_ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


@pytest.fixture
def job_endpoint(tmp_path):
    port = _free_port()
    log = (tmp_path / "job_service.log").open("wb")
    service = subprocess.Popen(
        [sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main",
         "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if service.poll() is not None:
                pytest.fail(f"the job service exited with {service.returncode}: "
                            + (tmp_path / "job_service.log").read_text()[-2000:])
            try:
                socket.create_connection(("localhost", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"the job service did not listen on port {port} within "
                                f"{START_TIMEOUT_S} s")
                time.sleep(0.2)
        yield f"localhost:{port}"
    finally:
        service.terminate()
        try:
            service.wait(timeout=20)
        except subprocess.TimeoutExpired:
            service.kill()
        log.close()


@pytest.mark.slow  # starts Beam's job service and builds an sdist: about 11 s
def test_portable_runner_with_setup_file(job_endpoint, job_args, corpus, tmp_path,
                                         read_table):
    summary = annotate.run([arg for arg in job_args(tmp_path / "out") if "--runner" not in arg]
                           + ["--runner=PortableRunner", f"--job_endpoint={job_endpoint}",
                              "--environment_type=LOOPBACK",
                              f"--setup_file={REPO_ROOT / 'setup.py'}"])
    assert summary["runner"] == "PortableRunner" and summary["reconciled"]
    assert summary["counts"]["read"] == corpus["n_read"]
    _, rows = read_table(tmp_path / "out", "annotations")
    _, dead = read_table(tmp_path / "out", "dead_letter")
    assert len(rows) == len(corpus["texts"])
    assert sorted(d["error_type"] for d in dead) == corpus["bad"]


@pytest.mark.slow  # the job service and an sdist again: about 15 s
def test_convert_vectors_on_the_portable_runner_equals_init_vectors(job_endpoint, tmp_path):
    """The vector job through the job service with LOOPBACK workers writes what `init
    vectors` writes, byte for byte, with --prune."""
    from beam_jobs import convert_vectors
    from nlp_core.cli.init_vectors import init_vectors

    source = REPO_ROOT.parent / "shared" / "data" / "interop" / "vectors-small.txt"
    init_vectors("en", str(source), tmp_path / "init", prune=500, progress=False)
    summary = convert_vectors.run(
        ["--input", str(source), "--output", str(tmp_path / "job"), "--prune", "500",
         "--runner=PortableRunner", f"--job_endpoint={job_endpoint}",
         "--environment_type=LOOPBACK", f"--setup_file={REPO_ROOT / 'setup.py'}"])
    assert summary["runner"] == "PortableRunner" and summary["reconciled"]
    for name in ("config.cfg", "meta.json", "tokenizer", "vocab/vectors", "vocab/key2row",
                 "vocab/vectors.cfg", "vocab/strings.json"):
        assert (tmp_path / "job" / name).read_bytes() == \
            (tmp_path / "init" / name).read_bytes(), name


@pytest.mark.slow  # the job service, an sdist and the job twice: about 60 s
def test_prepare_pretraining_on_the_portable_runner_equals_in_memory(job_endpoint, tmp_path):
    """The pretraining-corpus job through the job service with LOOPBACK workers writes the
    same shards, removed rows and counts as on the in-memory runner."""
    import json

    import pyarrow.parquet as pq

    from beam_jobs import prepare_pretraining

    sentences = [line[len("# text = "):].strip() for line in
                 (REPO_ROOT.parent / "shared" / "data" / "ud_english_ewt" /
                  "en_ewt-ud-dev.conllu").read_text(encoding="utf8").splitlines()
                 if line.startswith("# text = ")]
    texts = [" ".join(sentences[i:i + 6]) for i in range(0, 360, 6)]
    near = texts[2].split()
    near[3] = "zebra"
    records = [{"id": f"d{i:03d}", "text": t} for i, t in enumerate(texts)]
    records += [{"id": "exact", "text": texts[1] + "  "}, {"id": "near", "text": " ".join(near)}]
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n{bad\n")
    common = ["--input", str(tmp_path / "in.jsonl"), "--write-removed", "--shard-docs", "10",
              "--min-words", "20", "--no-quality-filters"]
    local = prepare_pretraining.run(common + ["--output", str(tmp_path / "local"),
                                              "--runner=FnApiRunner"])
    portable = prepare_pretraining.run(
        common + ["--output", str(tmp_path / "portable"), "--runner=PortableRunner",
                  f"--job_endpoint={job_endpoint}", "--environment_type=LOOPBACK",
                  f"--setup_file={REPO_ROOT / 'setup.py'}"])
    assert portable["runner"] == "PortableRunner" and portable["reconciled"]
    assert portable["counts"] == local["counts"]
    assert portable["counts"]["exact_duplicates"] == 1
    assert portable["counts"]["near_duplicates"] >= 1
    names = sorted(p.name for p in (tmp_path / "local" / "shards").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "portable" / "shards").iterdir())
    for name in names:
        assert (tmp_path / "portable" / "shards" / name).read_bytes() == \
            (tmp_path / "local" / "shards" / name).read_bytes(), name
    removed = [sorted(pq.read_table(tmp_path / run / "removed").to_pylist(),
                      key=lambda r: r["doc_id"]) for run in ("local", "portable")]
    assert removed[0] == removed[1]


@pytest.mark.slow  # GloVe 400k twice (text, word2vec binary) through the job service: minutes
def test_convert_vectors_glove_400k_on_the_portable_runner_equals_init_vectors(job_endpoint,
                                                                               tmp_path):
    """GloVe 6B 50d (400,000 rows) as GloVe text and as word2vec binary, --prune 20000,
    through the job service with LOOPBACK workers: init vectors' files byte for byte."""
    from vector_files import glove_table, write_glove, write_word2vec_binary

    from beam_jobs import convert_vectors
    from nlp_core.cli.init_vectors import init_vectors

    words, table = glove_table()
    files = {"text": write_glove(tmp_path / "glove.txt", words, table),
             "binary": write_word2vec_binary(tmp_path / "glove.bin", words, table)}
    del words, table
    init = tmp_path / "init"
    init_vectors("en", str(files["text"]), init, prune=20000, attr="LOWER", progress=False)
    for kind, path in files.items():
        out = tmp_path / kind
        summary = convert_vectors.run(
            ["--input", str(path), "--output", str(out), "--prune", "20000", "--attr",
             "LOWER", "--runner=PortableRunner", f"--job_endpoint={job_endpoint}",
             "--environment_type=LOOPBACK", f"--setup_file={REPO_ROOT / 'setup.py'}"])
        assert summary["runner"] == "PortableRunner" and summary["reconciled"], kind
        assert summary["counts"]["rows_remapped"] == 380_000
        for name in ("config.cfg", "meta.json", "tokenizer", "vocab/vectors", "vocab/key2row",
                     "vocab/vectors.cfg", "vocab/strings.json"):
            assert (out / name).read_bytes() == (init / name).read_bytes(), (kind, name)
        report = {k: v for k, v in json.loads((out / "prune_report.json").read_text()).items()
                  if k != "source"}
        expected = json.loads((init / "prune_report.json").read_text())
        expected.pop("source")
        assert report == expected, kind
