"""The annotate job's output directory: a run changes --output only when it succeeds (staged
beside it, swapped in, `_SUCCESS` last), two runs never share it (a lock, stale locks taken
over), a killed run's debris is never read as output and is removed by the next run, and the
plan refuses unusable paths before the model loads."""
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import polars
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.io.filesystem import BeamIOError, CompressionTypes, FileMetadata
from apache_beam.io.localfilesystem import LocalFileSystem

from beam_jobs import annotate, output_dir, output_lock, parquet
from beam_jobs.output_dir import SUCCESS_NAME
from beam_jobs.output_lock import LOCK_NAME, OutputInUse

from .conftest import REPO_ROOT


def _snapshot(output: Path):
    """Every file under `output` with its bytes."""
    return {str(p.relative_to(output)): p.read_bytes()
            for p in sorted(output.rglob("*")) if p.is_file()}


def _siblings(output: Path):
    """Staging areas (or anything else) the job left beside `output`."""
    return sorted(p.name for p in output.parent.iterdir() if p.name.startswith(output.name + "."))


def _assert_readers_see_a_finished_output(output: Path, n_rows: int):
    """pyarrow, DuckDB and Polars read the directories as users point them at it."""
    assert pq.read_table(output / "annotations").num_rows == n_rows
    assert polars.scan_parquet(output / "annotations").collect().height == n_rows
    # the glob a user writes over the whole directory: every Parquet file has its footer
    every_file = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{output}/**/*.parquet', union_by_name=true)"
    ).fetchall()[0][0]
    dead = pq.read_table(output / "dead_letter").num_rows
    assert every_file == n_rows + dead
    assert (output / SUCCESS_NAME).is_file()
    assert not (output / LOCK_NAME).exists()


@pytest.fixture
def no_model(monkeypatch):
    """Fail the test if the plan gets as far as loading the model."""
    def refuse(name, config=None):
        raise AssertionError(f"the model {name!r} was loaded before the output was checked")

    monkeypatch.setattr(annotate, "preload_pipeline", refuse)


# --- item 10: --overwrite replaces the old output only once the new run has succeeded ---

def test_failed_overwrite_keeps_the_previous_output(job_args, tmp_path, corpus, monkeypatch):
    output = tmp_path / "out"
    first = annotate.run(job_args(output))
    before = _snapshot(output)
    n_rows = first["counts"]["annotated"]

    def fail(self, batch):
        raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(parquet._RowGroupWriter, "write", fail)
    with pytest.raises(Exception, match="disk full"):
        annotate.run(job_args(output, "--overwrite"))
    assert _snapshot(output) == before  # run_summary.json and _SUCCESS included
    assert json.loads((output / "run_summary.json").read_text())["counts"] == first["counts"]
    _assert_readers_see_a_finished_output(output, n_rows)
    # no shard was committed: the run leaves no partial area to resume either
    assert _siblings(output) == []


def test_plan_with_overwrite_deletes_nothing(job_args, tmp_path):
    output = tmp_path / "out"
    annotate.run(job_args(output))
    before = _snapshot(output)
    job_plan = annotate.plan(job_args(output, "--overwrite"))
    assert _snapshot(output) == before
    assert not Path(job_plan.out.staging).exists()


def test_overwrite_swaps_in_the_new_output_and_keeps_other_files(job_args, tmp_path, corpus):
    output = tmp_path / "out"
    annotate.run(job_args(output))
    stale = output / "annotations" / "part-00003-of-00004.parquet"  # a shard count that changed
    stale.write_bytes((output / "annotations" / "part-00000-of-00002.parquet").read_bytes())
    (output / "notes.txt").write_text("the user's own file")
    summary = annotate.run(job_args(output, "--overwrite", "--allow-duplicate-ids"))
    assert not stale.exists()
    assert (output / "notes.txt").read_text() == "the user's own file"
    assert summary["counts"]["dead_letter_by_reason"].get("duplicate_id") is None
    # the summary names the files where they are now, not where they were staged
    for table in ("annotations", "dead_letter"):  # one shard per input file
        assert summary["files"][table] == [str(output / table / f"part-0000{i}-of-00002.parquet")
                                           for i in (0, 1)]
        assert all(Path(f).is_file() for f in summary["files"][table])
    on_disk = json.loads((output / "run_summary.json").read_text())
    assert on_disk["files"] == summary["files"]
    marker = json.loads((output / SUCCESS_NAME).read_text())
    assert marker["run_id"] and marker["finished"]
    _assert_readers_see_a_finished_output(output, summary["counts"]["annotated"])
    assert _siblings(output) == []


# --- item 11: one run per output directory ---

def test_a_second_run_on_a_locked_output_fails_at_once(job_args, tmp_path, capsys, no_model):
    output = tmp_path / "out"
    with output_lock.locked(str(output), "other-run"):
        holder = json.loads((output / LOCK_NAME).read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        assert annotate.main(job_args(output)) == 2
        err = capsys.readouterr().err
        assert "is in use by another run" in err and f"pid {os.getpid()}" in err
        assert str(output / LOCK_NAME) in err
        assert json.loads((output / LOCK_NAME).read_text()) == holder  # not taken over
    assert not (output / LOCK_NAME).exists()


def test_the_lock_is_atomic_between_runs_that_passed_the_plan(tmp_path):
    output = str(tmp_path / "out")
    with output_lock.locked(output, "a"):
        with pytest.raises(OutputInUse, match="in use by another run"):
            with output_lock.locked(output, "b"):
                pass
        assert json.loads((tmp_path / "out" / LOCK_NAME).read_text())["run_id"] == "a"
    with output_lock.locked(output, "b"):  # free again once the first run is done
        assert json.loads((tmp_path / "out" / LOCK_NAME).read_text())["run_id"] == "b"


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_stale_lock_is_taken_over_with_a_warning(job_args, tmp_path, caplog):
    output = tmp_path / "out"
    output.mkdir()
    stale = {"pid": _dead_pid(), "host": socket.gethostname(), "started": "earlier",
             "run_id": "killed-run"}
    (output / LOCK_NAME).write_text(json.dumps(stale))
    summary = annotate.run(job_args(output))
    assert summary["reconciled"]
    assert "took over the lock of run killed-run" in caplog.text
    assert not (output / LOCK_NAME).exists()
    assert not list(output.glob(LOCK_NAME + "*"))


def test_a_lock_from_another_host_is_not_judged(job_args, tmp_path, no_model):
    output = tmp_path / "out"
    output.mkdir()
    (output / LOCK_NAME).write_text(json.dumps(
        {"pid": _dead_pid(), "host": "another-machine", "started": "earlier"}))
    with pytest.raises(OutputInUse, match="another-machine"):
        annotate.plan(job_args(output))


# --- item 12: debris of killed runs ---

def test_debris_of_killed_runs_is_removed_by_the_next_run(job_args, tmp_path, corpus):
    output = tmp_path / "out"
    # a run from before the staging area: a footerless part file inside annotations/
    old_temp = output / "annotations" / "beam-temp-part-0123abcd"
    old_temp.mkdir(parents=True)
    (old_temp / "5e1f.parquet").write_bytes(b"PAR1 cut off before the footer")
    # a staged run that was killed
    staged = tmp_path / "out.tmp-20240101T000000-4242-abcdef" / "dead_letter"
    staged.mkdir(parents=True)
    (staged / "part-00000-of-00001.parquet").write_bytes(b"PAR1 no footer either")
    with pytest.raises(pa.ArrowInvalid):  # what users hit before: debris breaks the readers
        pq.read_table(output / "annotations")
    summary = annotate.run(job_args(output))
    assert not old_temp.exists()
    assert _siblings(output) == []
    _assert_readers_see_a_finished_output(output, summary["counts"]["annotated"])


KILLED_RUN = """
import os, signal, sys
from beam_jobs import annotate, parquet

def close_without_footer(self):
    self.flush()  # a row group is written, the footer is not
    self._file.flush()  # on disk, as a long run's earlier row groups would be
    os.kill(os.getpid(), signal.SIGKILL)

parquet._RowGroupWriter.close = close_without_footer
annotate.main(sys.argv[1:])
"""


def test_a_killed_run_leaves_nothing_that_looks_finished(job_args, tmp_path, corpus,
                                                         worker_pythonpath):
    output = tmp_path / "out"
    killed = subprocess.run([sys.executable, "-c", textwrap.dedent(KILLED_RUN),
                             *job_args(output)], cwd=REPO_ROOT, capture_output=True,
                            timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    # the half-written file exists, but beside the output, where readers do not look
    (staging,) = _siblings(output)
    footerless = [p for p in (tmp_path / staging).rglob("*") if ".parquet" in p.name]
    assert footerless
    with pytest.raises(pa.ArrowInvalid, match="footer"):
        pq.read_metadata(footerless[0])
    assert not (output / SUCCESS_NAME).exists()
    assert not list(output.rglob("*.parquet"))
    assert not (output / "run_summary.json").exists()
    # the next run takes over the dead run's lock and removes its staging area
    summary = annotate.run(job_args(output))
    assert _siblings(output) == []
    _assert_readers_see_a_finished_output(output, summary["counts"]["annotated"])


# --- item 13: unusable paths fail in the plan, before the model loads; Ctrl-C ---

def test_an_output_that_is_a_file_is_refused(job_args, tmp_path, no_model):
    path = tmp_path / "out"
    path.write_text("not a directory")
    with pytest.raises(ValueError, match="is a file, not a directory"):
        annotate.plan(job_args(path))
    with pytest.raises(ValueError, match="is a file, so the directory cannot be created"):
        annotate.plan(job_args(path / "below"))


def _deny_writes_to(monkeypatch, denied: Path):
    real_access = os.access

    def access(path, mode, **kwargs):
        # root may write anywhere, so a chmod would not do: deny as a read-only mount would
        if os.path.abspath(path) == str(denied) and mode & os.W_OK:
            return False
        return real_access(path, mode, **kwargs)

    monkeypatch.setattr(output_dir.os, "access", access)


def test_an_unwritable_output_is_refused(job_args, tmp_path, monkeypatch, no_model):
    output = tmp_path / "out"
    output.mkdir()
    _deny_writes_to(monkeypatch, output)
    with pytest.raises(ValueError, match="the directory is not writable"):
        annotate.plan(job_args(output))


def test_an_unwritable_parent_is_refused(job_args, tmp_path, monkeypatch, no_model):
    _deny_writes_to(monkeypatch, tmp_path)
    with pytest.raises(ValueError, match=f"{tmp_path} is not writable"):
        annotate.plan(job_args(tmp_path / "new" / "out"))


def test_an_input_directory_is_refused(tmp_path, corpus, no_model, capsys):
    argv = ["--input", str(corpus["root"]), "--output", str(tmp_path / "out"),
            "--model", "blank:en"]
    assert annotate.main(argv) == 2
    err = capsys.readouterr().err
    assert "matches a directory" in err and str(corpus["root"] / "*.jsonl") in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("previous", [False, True], ids=["first_run", "overwrite"])
def test_ctrl_c_exits_130_with_one_line_and_no_debris(job_args, tmp_path, monkeypatch, capsys,
                                                      previous):
    output = tmp_path / "out"
    if previous:
        annotate.run(job_args(output))
    before = _snapshot(output) if previous else None
    capsys.readouterr()

    def interrupt(self, batch):
        raise KeyboardInterrupt

    monkeypatch.setattr(parquet._RowGroupWriter, "write", interrupt)
    # what a terminal shows: logs reach stderr through the root logger's handler
    to_stderr = logging.StreamHandler(sys.stderr)
    logging.getLogger().addHandler(to_stderr)
    try:
        assert annotate.main(job_args(output, "--overwrite")) == 130
    finally:
        logging.getLogger().removeHandler(to_stderr)
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["interrupted: the run stopped before finishing; --output was left as it "
                   "was."]
    assert _siblings(output) == []
    if previous:
        assert _snapshot(output) == before
    else:
        assert not output.exists()


# --- the same life cycle on a filesystem without directories (as gs://, s3://) ---

class ObjectStore(LocalFileSystem):
    """`objstore://KEY` kept in ROOT/KEY on disk, with an object store's rules: only files
    exist; match, rename and delete see files (a "dir/" prefix deletes all below it, as on
    GCS); mkdirs does nothing. Beam finds it by its scheme."""

    ROOT = ""

    @classmethod
    def scheme(cls):
        return "objstore"

    def _disk(self, url):
        return os.path.join(self.ROOT, url[len("objstore://"):])

    def has_dirs(self):
        return False

    def split(self, path):
        return tuple(path.rsplit("/", 1))

    def exists(self, path):
        return os.path.isfile(self._disk(path))

    def metadata(self, path):
        disk = self._disk(path)
        if not os.path.isfile(disk):
            raise BeamIOError(f"no object {path}")
        return FileMetadata(path, os.path.getsize(disk), os.path.getmtime(disk))

    def _list(self, prefix):
        base = self._disk(prefix)
        for dirpath, _, files in os.walk(base if os.path.isdir(base) else
                                         os.path.dirname(base)):
            for name in files:
                disk = os.path.join(dirpath, name)
                if disk.startswith(base):
                    yield self.metadata("objstore://" + os.path.relpath(disk, self.ROOT))

    def create(self, path, mime_type="application/octet-stream",
               compression_type=CompressionTypes.AUTO):
        os.makedirs(os.path.dirname(self._disk(path)), exist_ok=True)
        return self._path_open(self._disk(path), "wb", mime_type, compression_type)

    def open(self, path, mime_type="application/octet-stream",
             compression_type=CompressionTypes.AUTO):
        self.metadata(path)
        return self._path_open(self._disk(path), "rb", mime_type, compression_type)

    def mkdirs(self, path):
        pass

    def rename(self, sources, destinations):
        for source, destination in zip(sources, destinations):
            self.metadata(source)
            os.makedirs(os.path.dirname(self._disk(destination)), exist_ok=True)
            os.rename(self._disk(source), self._disk(destination))

    def delete(self, paths):
        for path in paths:
            below = [m.path for m in self._list(path)] if path.endswith("/") else [path]
            for url in below:
                self.metadata(url)
                os.remove(self._disk(url))


def test_the_life_cycle_on_an_object_store(job_args, tmp_path, monkeypatch, corpus):
    store = tmp_path / "store"
    monkeypatch.setattr(ObjectStore, "ROOT", str(store))
    url = "objstore://bucket/out"
    first = annotate.run(job_args(url))
    assert first["files"]["annotations"] == [f"{url}/annotations/part-0000{i}-of-00002.parquet"
                                             for i in (0, 1)]
    output = store / "bucket" / "out"
    assert (output / SUCCESS_NAME).is_file() and not (output / LOCK_NAME).exists()
    before = _snapshot(output)
    # a staged run that was killed: the next run deletes its objects
    killed = store / "bucket" / "out.tmp-20240101T000000-4242-abcdef" / "annotations"
    killed.mkdir(parents=True)
    (killed / "part-00000-of-00001.parquet").write_bytes(b"PAR1 no footer")

    def fail(self, batch):
        raise RuntimeError("quota exceeded (simulated)")

    with monkeypatch.context() as failing:
        failing.setattr(parquet._RowGroupWriter, "write", fail)
        with pytest.raises(Exception, match="quota exceeded"):
            annotate.run(job_args(url, "--overwrite"))
    assert _snapshot(output) == before
    assert not [p for p in store.rglob("*") if p.is_file() and ".tmp-" in str(p)]
    with output_lock.locked(url, "other-run"):
        with pytest.raises(OutputInUse, match="in use by another run"):
            annotate.run(job_args(url, "--overwrite"))
    second = annotate.run(job_args(url, "--overwrite", "--allow-duplicate-ids"))
    assert second["counts"]["annotated"] == first["counts"]["annotated"] + 1
    _assert_readers_see_a_finished_output(output, second["counts"]["annotated"])
    assert not [p for p in store.rglob("*") if p.is_file() and ".tmp-" in str(p)]
