"""Resumable vector conversions: each shard's passes are committed to OUTPUT.partial/; a run
that stops (an error, SIGKILL of the launcher) is finished by a rerun with --resume that
redoes only what was not committed, and whose output equals `init vectors`' and an
uninterrupted run's, counts included; without --resume a partial run is an error naming
--resume and --overwrite."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cloudpickle
import numpy
import pytest

from beam_jobs import convert_vectors, vector_shards
from beam_jobs.shards import plan_shards
from beam_jobs.vector_shards import VectorPartial
from nlp_core.cli.init_vectors import init_vectors

REPO_ROOT = Path(__file__).resolve().parents[2]
SMALL = REPO_ROOT.parent / "shared" / "data" / "interop" / "vectors-small.txt"
FILES = ["config.cfg", "meta.json", "tokenizer", "vocab/vectors", "vocab/key2row",
         "vocab/vectors.cfg", "vocab/strings.json", "prune_report.json"]
SHARD_BYTES = 100_000  # vectors-small.txt (~1 MB) in ~10 shards


def _args(path, output, *extra):
    return ["--input", str(path), "--output", str(output), "--runner=FnApiRunner", *extra]


def _assert_same_files(output: Path, expected: Path):
    for name in FILES:
        assert (output / name).read_bytes() == (expected / name).read_bytes(), name
    assert (output / "_SUCCESS").exists()
    assert not Path(str(output) + ".partial").exists()


STEPS = (vector_shards.ParseKeys, vector_shards.KeptShard, vector_shards.RemapShard)
REAL_WORK = {cls: cls.work for cls in STEPS}


def _record_work(monkeypatch, calls, fail_remap_from=None):
    """Wrap each step's work to note (step, shard index); with `fail_remap_from`, the
    remap step fails on shards of that index and above."""
    for cls in STEPS:
        real = REAL_WORK[cls]

        def work(self, shard, *side, _real=real):
            if fail_remap_from is not None and self.step_name == vector_shards.REMAPPED \
                    and shard.index >= fail_remap_from:
                raise RuntimeError("the machine went away (simulated)")
            calls.append((self.step_name, shard.index))
            return _real(self, shard, *side)

        monkeypatch.setattr(cls, "work", work)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """`init vectors --prune 500` of vectors-small.txt and an uninterrupted job run."""
    root = tmp_path_factory.mktemp("cv_resume")
    init_vectors("en", str(SMALL), root / "init", prune=500, progress=False)
    summary = convert_vectors.run(_args(SMALL, root / "clean", "--prune", "500"),
                                  desired_bundle_size=SHARD_BYTES)
    return root / "init", summary


def test_an_unfinished_run_is_resumed_doing_only_what_was_left(reference, tmp_path,
                                                                monkeypatch):
    init, clean = reference
    output = tmp_path / "out"
    calls = []
    _record_work(monkeypatch, calls, fail_remap_from=6)
    with pytest.raises(Exception, match="went away"):
        convert_vectors.run(_args(SMALL, output, "--prune", "500", "--retries", "0"),
                            desired_bundle_size=SHARD_BYTES)
    n_shards = clean["shards"]["total"]
    assert n_shards >= 8
    partial = VectorPartial(str(output))
    manifests = sorted(p.name for p in Path(partial.path("manifests")).glob("*.json"))
    assert len([m for m in manifests if m.endswith(".keys.json")]) == n_shards
    remapped_before = {m for m in manifests if m.endswith(".remapped.json")}
    assert 0 < len(remapped_before) <= 6
    assert not (output / "vocab").exists()  # --output untouched
    with pytest.raises(ValueError, match="partial run.*--resume.*--overwrite"):
        convert_vectors.plan(_args(SMALL, output, "--prune", "500"), SHARD_BYTES)
    with pytest.raises(ValueError, match="prune"):
        convert_vectors.plan(_args(SMALL, output, "--prune", "400", "--resume"), SHARD_BYTES)

    calls.clear()
    _record_work(monkeypatch, calls)
    summary = convert_vectors.run(_args(SMALL, output, "--prune", "500", "--resume"),
                                  desired_bundle_size=SHARD_BYTES)
    # only the remap step of the shards that had not committed it ran again
    assert {step for step, _ in calls} == {vector_shards.REMAPPED}
    redone = {f"part-{i:05d}-of-{n_shards:05d}.remapped.json" for _, i in calls}
    assert not redone & remapped_before
    assert len(redone) + len(remapped_before) == n_shards
    assert summary["shards"]["steps_resumed"] == 3 * n_shards - len(redone)
    _assert_same_files(output, init)
    assert summary["reconciled"] and summary["counts"] == clean["counts"]


def test_overwrite_discards_a_partial_run(reference, tmp_path, monkeypatch):
    init, clean = reference
    output = tmp_path / "out"
    calls = []
    _record_work(monkeypatch, calls, fail_remap_from=0)
    with pytest.raises(Exception, match="went away"):
        convert_vectors.run(_args(SMALL, output, "--prune", "500", "--retries", "0"),
                            desired_bundle_size=SHARD_BYTES)
    calls.clear()
    _record_work(monkeypatch, calls)
    summary = convert_vectors.run(_args(SMALL, output, "--prune", "500", "--overwrite"),
                                  desired_bundle_size=SHARD_BYTES)
    assert len([c for c in calls if c[0] == vector_shards.KEYS]) == clean["shards"]["total"]
    assert summary["shards"]["steps_resumed"] == 0
    _assert_same_files(output, init)
    assert summary["counts"] == clean["counts"]


def test_a_manifest_counts_only_with_its_shard_and_files(tmp_path):
    shard = plan_shards([str(SMALL)], "jsonl", SHARD_BYTES)[0]
    other = plan_shards([str(SMALL)], "jsonl", SHARD_BYTES + 1)[0]
    partial = VectorPartial(str(tmp_path / "out"))
    data = partial.step_file("keys", shard)
    Path(data).parent.mkdir(parents=True)
    Path(data).write_bytes(b"x")
    partial.commit(shard, "keys", {"rows": 1, "files": {"keys": data}})
    assert partial.manifest(shard, "keys")["rows"] == 1
    assert partial.manifest(shard, "kept") is None      # another step
    assert partial.manifest(other, "keys") is None      # another plan's shard
    elsewhere = tmp_path / "elsewhere.arrow"
    elsewhere.write_bytes(b"x")
    partial.commit(shard, "keys", {"rows": 1, "files": {"keys": str(elsewhere)}})
    assert partial.manifest(shard, "keys") is None      # names a file not its own
    partial.commit(shard, "keys", {"rows": 1, "files": {"keys": data}})
    Path(data).unlink()
    assert partial.manifest(shard, "keys") is None      # its file is gone: redone
    Path(partial.path("manifests", f"{shard.name}.keys.json")).write_text("{not json")
    assert partial.manifest(shard, "keys") is None      # damaged: redone


def _synthetic(path: Path, rows: int, dims: int) -> Path:
    """word2vec text with a repeated word and a bad line now and then."""
    rng = numpy.random.default_rng(7)
    values = rng.uniform(-1, 1, size=(rows, dims))
    with path.open("w") as out:
        out.write(f"{rows} {dims}\n")
        for i in range(rows):
            word = f"w{i // 2}" if i % 997 == 1 else f"w{i}"
            numbers = " ".join(f"{v:.5f}" for v in values[i])
            if i % 1999 == 3:
                numbers = numbers.replace(" ", " x", 1)  # not a number
            out.write(f"{word} {numbers}\n")
    return path


@pytest.mark.slow  # a 25 MB file converted three times and by init vectors: about 2 min
def test_sigkill_of_the_launcher_then_resume(tmp_path):
    path = _synthetic(tmp_path / "vectors.txt", 40_000, 100)
    options = ["--prune", "5000", "--skip-bad-lines", "--shard-mb", "1"]
    init_vectors("en", str(path), tmp_path / "init", prune=5000, skip_bad_lines=True,
                 progress=False)
    clean = convert_vectors.run(_args(path, tmp_path / "clean", *options))
    n_steps = 3 * clean["shards"]["total"]
    assert clean["shards"]["total"] >= 20 and clean["counts"]["dead_lettered"] > 0
    output = tmp_path / "out"
    launcher = subprocess.Popen([sys.executable, "-m", "beam_jobs.convert_vectors",
                                 *_args(path, output, *options)], cwd=REPO_ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    manifests = Path(str(output) + ".partial") / "manifests"
    deadline = time.monotonic() + 300
    while len(list(manifests.glob("*.json"))) < n_steps // 2:
        assert launcher.poll() is None, launcher.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "no progress in 300 s"
        time.sleep(0.05)
    launcher.send_signal(signal.SIGKILL)
    launcher.wait()
    launcher.stderr.close()
    done = len(list(manifests.glob("*.json")))
    assert n_steps // 2 <= done < n_steps and not (output / "vocab").exists()

    summary = convert_vectors.run(_args(path, output, *options, "--resume"))
    assert 0 < summary["shards"]["steps_resumed"] <= done
    _assert_same_files(output, tmp_path / "init")
    assert summary["reconciled"] and summary["counts"] == clean["counts"]
    assert summary["files"] == {t: [f.replace(str(tmp_path / "clean"), str(output))
                                    for f in files] for t, files in clean["files"].items()}
    on_disk = json.loads((output / "run_summary.json").read_text())
    assert on_disk["counts"] == clean["counts"] and on_disk["reconciled"]


class KillWorkerOnce(vector_shards.ParseKeys):
    """ParseKeys whose worker process dies (os._exit) on shard 1, once per test."""

    def work(self, shard, *side):
        marker = os.environ["KILL_MARKER"]
        if shard.index == 1 and not os.path.exists(marker):
            Path(marker).write_text(str(os.getpid()))
            os._exit(3)
        return super().work(shard, *side)


@pytest.mark.slow  # starts two worker processes twice: about 40 s
def test_a_worker_killed_mid_run_under_multi_processing(reference, tmp_path, monkeypatch,
                                                        worker_pythonpath):
    init, clean = reference
    output = tmp_path / "out"
    monkeypatch.setenv("KILL_MARKER", str(tmp_path / "killed-once"))
    # the worker processes unpickle the DoFn: send this test's class by value
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        monkeypatch.setattr(convert_vectors, "ParseKeys", KillWorkerOnce)
        summary = convert_vectors.run(
            ["--input", str(SMALL), "--output", str(output), "--prune", "500",
             "--direct_running_mode=multi_processing", "--direct_num_workers=2"],
            desired_bundle_size=SHARD_BYTES)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert int((tmp_path / "killed-once").read_text()) != os.getpid()  # a worker died
    assert summary["shards"]["attempts"] == 2
    _assert_same_files(output, init)
    assert summary["reconciled"] and summary["counts"] == clean["counts"]
