"""Resumable runs: the input is committed shard by shard to OUTPUT.partial/; a run that
stops (an error, SIGKILL of the launcher) is finished by a rerun with --resume, whose output
equals that of an uninterrupted run; a pipeline that fails (a worker process killed under
multi_processing) is rerun over the shards left; without --resume a partial run is an error
naming --resume and --overwrite."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cloudpickle
import pyarrow.parquet as pq
import pytest

from beam_jobs import annotate, shard_annotating
from beam_jobs.shard_annotating import AnnotateShards
from beam_jobs.shards import PartialRun

REPO_ROOT = Path(__file__).resolve().parents[2]


def _corpus(root: Path, n_files: int, per_file: int) -> str:
    root.mkdir(parents=True, exist_ok=True)
    for f in range(n_files):
        lines = []
        for i in range(per_file):
            record = {"id": f"f{f}-{i}", "text": f"Record {i} of file {f} says hello {i % 7}."}
            if i % 97 == 5:
                record = {"id": f"f{f}-{i}", "text": ""}  # a dead letter now and then
            lines.append(json.dumps(record))
        (root / f"part{f}.jsonl").write_text("\n".join(lines) + "\n")
    return str(root / "*.jsonl")


def _args(pattern, output, *extra):
    return ["--input", pattern, "--output", str(output), "--model", "blank:en",
            "--runner=FnApiRunner", *extra]


def _table(output: Path, table: str):
    rows = [row for f in sorted((output / table).glob("part-*.parquet"))
            for row in pq.read_table(f).to_pylist()]
    return sorted(rows, key=lambda r: (r["source"], r["offset"]))


def _assert_same_output(output: Path, clean: Path, summary, clean_summary):
    rows, expected = _table(output, "annotations"), _table(clean, "annotations")
    ids = [r["doc_id"] for r in rows]
    assert len(ids) == len(set(ids)) and set(ids) == {r["doc_id"] for r in expected}
    assert rows == expected
    assert _table(output, "dead_letter") == _table(clean, "dead_letter")
    assert summary["reconciled"] and summary["counts"] == clean_summary["counts"]
    assert summary["files"] == {t: [f.replace(str(clean), str(output)) for f in files]
                                for t, files in clean_summary["files"].items()}
    assert not Path(str(output) + ".partial").exists()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Four input files (four shards) and the output of an uninterrupted run over them."""
    root = tmp_path_factory.mktemp("resume")
    pattern = _corpus(root / "in", 4, 60)
    summary = annotate.run(_args(pattern, root / "clean"))
    return pattern, root / "clean", summary


def _fail_after_commits(monkeypatch, output: Path, n: int):
    """Every shard fails to read once `n` shards of `output` are committed."""
    real = shard_annotating.read_shard

    def read_shard(shard, rules):
        manifests = Path(PartialRun(str(output)).path("manifests")).glob("*.json")
        if len(list(manifests)) >= n:
            raise RuntimeError("the machine went away (simulated)")
        return real(shard, rules)

    monkeypatch.setattr(shard_annotating, "read_shard", read_shard)


def test_an_unfinished_run_is_resumed_to_the_same_output(small, tmp_path, monkeypatch):
    pattern, clean, clean_summary = small
    output = tmp_path / "out"
    _fail_after_commits(monkeypatch, output, 2)
    with pytest.raises(Exception, match="went away"):
        annotate.run(_args(pattern, output, "--retries", "0"))
    monkeypatch.undo()
    partial = PartialRun(str(output))
    assert len(list(Path(partial.path("manifests")).glob("*.json"))) == 2
    assert not (output / "annotations").exists()  # --output untouched
    with pytest.raises(ValueError, match="partial run.*--resume.*--overwrite"):
        annotate.plan(_args(pattern, output))
    with pytest.raises(ValueError, match="keep_text"):
        annotate.plan(_args(pattern, output, "--resume", "--keep-text"))

    summary = annotate.run(_args(pattern, output, "--resume"))
    assert summary["shards"] == {"total": 4, "resumed_from": 2, "attempts": 1}
    _assert_same_output(output, clean, summary, clean_summary)


def test_overwrite_discards_a_partial_run(small, tmp_path, monkeypatch):
    pattern, clean, clean_summary = small
    output = tmp_path / "out"
    _fail_after_commits(monkeypatch, output, 1)
    with pytest.raises(Exception, match="went away"):
        annotate.run(_args(pattern, output, "--retries", "0"))
    monkeypatch.undo()
    summary = annotate.run(_args(pattern, output, "--overwrite"))
    assert summary["shards"]["resumed_from"] == 0
    _assert_same_output(output, clean, summary, clean_summary)


def test_a_failed_pipeline_is_retried_over_the_shards_left(small, tmp_path, monkeypatch):
    pattern, clean, clean_summary = small
    output = tmp_path / "out"
    real = shard_annotating.read_shard
    failed = []

    def fail_once(shard, rules):
        if shard.index == 2 and not failed:
            failed.append(shard.name)
            raise RuntimeError("worker lost (simulated)")
        return real(shard, rules)

    monkeypatch.setattr(shard_annotating, "read_shard", fail_once)
    summary = annotate.run(_args(pattern, output))
    assert failed and summary["shards"]["attempts"] == 2
    _assert_same_output(output, clean, summary, clean_summary)


class KillWorkerOnce(AnnotateShards):
    """Kills its worker process (os._exit, no cleanup) half way through shard 1: once, as
    long as the file $KILL_MARKER does not exist (worker processes inherit the launcher's
    environment)."""

    def process(self, shard, duplicates):
        marker = os.environ["KILL_MARKER"]
        for n, output in enumerate(super().process(shard, duplicates)):
            if n == 1 and shard.index == 1 and not os.path.exists(marker):
                Path(marker).write_text(str(os.getpid()))
                os._exit(3)
            yield output


@pytest.mark.slow  # starts two worker processes twice: about 30 s
def test_a_worker_killed_mid_run_under_multi_processing(small, tmp_path, monkeypatch,
                                                        worker_pythonpath):
    pattern, clean, clean_summary = small
    output = tmp_path / "out"
    monkeypatch.setenv("KILL_MARKER", str(tmp_path / "killed-once"))
    # the worker processes unpickle the DoFn: send this test's class by value
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        monkeypatch.setattr(annotate, "AnnotateShards", KillWorkerOnce)
        summary = annotate.run(_args(pattern, output, "--direct_running_mode=multi_processing",
                                     "--direct_num_workers=2"))
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    killed = int((tmp_path / "killed-once").read_text())
    assert killed != os.getpid()  # a worker process died, not this one
    assert summary["shards"]["attempts"] == 2
    _assert_same_output(output, clean, summary, clean_summary)


@pytest.mark.slow  # three runs over 50,000 records: about a minute
def test_sigkill_of_the_launcher_half_way_then_resume(tmp_path):
    pattern = _corpus(tmp_path / "in", 20, 2500)
    clean_summary = annotate.run(_args(pattern, tmp_path / "clean"))
    assert clean_summary["counts"]["read"] == 50_000
    output = tmp_path / "out"
    launcher = subprocess.Popen([sys.executable, "-m", "beam_jobs.annotate",
                                 *_args(pattern, output)], cwd=REPO_ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    manifests = Path(str(output) + ".partial") / "manifests"
    deadline = time.monotonic() + 300
    while len(list(manifests.glob("*.json"))) < 10:
        assert launcher.poll() is None, launcher.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "no progress in 300 s"
        time.sleep(0.05)
    launcher.send_signal(signal.SIGKILL)
    launcher.wait()
    launcher.stderr.close()
    done = len(list(manifests.glob("*.json")))
    assert 10 <= done < 20 and not (output / "annotations").exists()

    summary = annotate.run(_args(pattern, output, "--resume"))
    assert summary["shards"]["resumed_from"] == done
    _assert_same_output(output, tmp_path / "clean", summary, clean_summary)


@pytest.mark.parametrize("shard_bytes", [1, 50, 333, 1 << 20])
def test_byte_range_shards_hold_every_record_once(tmp_path, shard_bytes):
    from beam_jobs.records import CheckOptions
    from beam_jobs.shard_annotating import read_shard
    from beam_jobs.shards import plan_shards

    lines = [json.dumps({"id": i, "text": "w" * (i * 7 % 90)}) for i in range(40)]
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n\n")
    (tmp_path / "b.jsonl").write_text("\n".join(lines[:3]) + "\n")
    shards = plan_shards([str(tmp_path / "b.jsonl"), str(tmp_path / "a.jsonl")], "jsonl",
                         shard_bytes)
    assert [s.path for s in shards] == sorted(s.path for s in shards)  # sorted, stable
    assert [s.name for s in shards] == [f"part-{i:05d}-of-{len(shards):05d}"
                                        for i in range(len(shards))]
    seen = [(Path(s.path).name, item.payload) for s in shards
            for chunk in read_shard(s, CheckOptions()) for item in chunk.items]
    expected = [("a.jsonl", line.encode()) for line in lines] \
        + [("b.jsonl", line.encode()) for line in lines[:3]]
    assert seen == expected
