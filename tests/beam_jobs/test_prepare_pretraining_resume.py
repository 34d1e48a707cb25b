"""Resumable runs of the pretraining-corpus job: each input shard is read, cleaned, filtered
and committed to OUTPUT.partial/; a run that stops (an error, SIGKILL of the launcher) is
finished by a rerun with --resume, whose shards, removed and dead-letter rows and stats equal
those of an uninterrupted run; a failing pipeline is rerun with the committed shards kept;
without --resume a partial run is an error naming --resume and --overwrite."""
import gzip
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
from shared_data import shared_path

from beam_jobs import prepare_pretraining, pretraining_input
from beam_jobs.pretraining_input import CleanShards, input_shards, read_input_shard
from beam_jobs.records import CheckOptions
from beam_jobs.shards import PartialRun

REPO_ROOT = Path(__file__).resolve().parents[2]


def _sentences():
    path = shared_path("ud_english_ewt", "en_ewt-ud-train.conllu")
    with path.open(encoding="utf8") as file_:
        return [line[len("# text = "):].strip() for line in file_
                if line.startswith("# text = ")]


def _corpus(root: Path, n_files: int, per_file: int) -> str:
    """`n_files` JSONL files of `per_file` records: documents of three EWT sentences, with
    exact copies (another file's document, spaced differently), near copies (one word
    changed), documents too short to keep and bad records now and then."""
    sentences = _sentences()
    root.mkdir(parents=True, exist_ok=True)
    n = 0
    for f in range(n_files):
        lines = []
        for i in range(per_file):
            text = " ".join(sentences[(3 * n + k) % len(sentences)] for k in range(3))
            if i % 50 == 7 and n > 100:  # an exact copy of an earlier document
                text = "  ".join(sentences[(3 * (n - 100) + k) % len(sentences)]
                                 for k in range(3))
            elif i % 50 == 13 and n > 100:  # a near copy
                words = " ".join(sentences[(3 * (n - 90) + k) % len(sentences)]
                                 for k in range(3)).split()
                words[len(words) // 2] = "zebra"
                text = " ".join(words)
            record = {"id": f"f{f:02d}-{i:05d}", "text": text}
            line = json.dumps(record)
            if i % 97 == 5:
                line = "{not json"
            elif i % 89 == 3:
                line = json.dumps({"id": f"f{f:02d}-{i:05d}", "text": ""})
            lines.append(line)
            n += 1
        (root / f"part{f:02d}.jsonl").write_text("\n".join(lines) + "\n")
    return str(root / "*.jsonl")


def _args(pattern, output, *extra):
    return ["--input", pattern, "--output", str(output), "--runner=FnApiRunner",
            "--write-removed", "--shard-docs", "40", "--no-quality-filters",
            "--min-words", "12", *extra]


def _outputs(out: Path):
    """What a run wrote, comparable across runs: shard bytes by name, removed and dead-letter
    rows sorted, stats without paths and times."""
    stats = json.loads((out / "stats.json").read_text())
    shards = {p.name: p.read_bytes() for p in sorted((out / "shards").iterdir())}
    removed = sorted(pq.read_table(out / "removed").to_pylist(), key=lambda r: r["doc_id"])
    dead = sorted(pq.read_table(out / "dead_letter").to_pylist(),
                  key=lambda r: (r["source"], r["offset"]))
    for shard in stats["shards"]:
        shard["path"] = Path(shard["path"]).name
    # the input shards' files (the whole-corpus steps' corpus-* files are as many as the
    # runner makes bundles)
    files = {t: sorted(Path(f).name for f in paths if Path(f).name.startswith("part-"))
             for t, paths in stats["files"].items()}
    return shards, removed, dead, files, {k: stats[k] for k in (
        "counts", "steps", "shards", "duplicate_clusters", "reconciled")}


def _assert_same_output(output: Path, clean: Path):
    shards, removed, dead, files, stats = _outputs(output)
    assert stats["reconciled"]
    assert shards and shards == _outputs(clean)[0]
    ids = [r["doc_id"] for r in removed]
    assert len(ids) == len(set(ids))
    assert (removed, dead, files, stats) == _outputs(clean)[1:]
    assert not Path(str(output) + ".partial").exists()
    assert (output / "_SUCCESS").exists()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Four input files (four input shards) and the output of an uninterrupted run."""
    root = tmp_path_factory.mktemp("resume")
    pattern = _corpus(root / "in", 4, 80)
    stats = prepare_pretraining.run(_args(pattern, root / "clean"))
    assert stats["counts"]["exact_duplicates"] and stats["counts"]["near_duplicates"]
    assert stats["counts"]["filtered_by_reason"] and stats["counts"]["dead_letter_by_reason"]
    assert stats["input_shards"] == {"total": 4, "resumed_from": 0, "attempts": 1}
    return pattern, root / "clean"


def _manifests(output: Path):
    return list(Path(PartialRun(str(output)).path("manifests")).glob("*.json"))


def _fail_after_commits(monkeypatch, output: Path, n: int):
    """Every input shard fails to read once `n` shards of `output` are committed."""
    real = pretraining_input.read_input_shard

    def read(shard, rules, paragraphs):
        if len(_manifests(output)) >= n:
            raise RuntimeError("the machine went away (simulated)")
        return real(shard, rules, paragraphs)

    monkeypatch.setattr(pretraining_input, "read_input_shard", read)


def test_an_unfinished_run_is_resumed_to_the_same_output(small, tmp_path, monkeypatch):
    pattern, clean = small
    output = tmp_path / "out"
    _fail_after_commits(monkeypatch, output, 2)
    with pytest.raises(Exception, match="went away"):
        prepare_pretraining.run(_args(pattern, output, "--retries", "0"))
    monkeypatch.undo()
    assert len(_manifests(output)) == 2
    assert not (output / "shards").exists() and not (output / "stats.json").exists()
    with pytest.raises(ValueError, match="partial run.*--resume.*--overwrite"):
        prepare_pretraining.plan(_args(pattern, output))
    with pytest.raises(ValueError, match="min_words"):
        prepare_pretraining.plan(_args(pattern, output, "--resume", "--min-words", "3"))

    committed = {json.loads(p.read_text())["shard"]["path"] for p in _manifests(output)}
    read = []
    real = pretraining_input.read_input_shard

    def read_logged(shard, rules, paragraphs):
        read.append(shard.path)
        return real(shard, rules, paragraphs)

    monkeypatch.setattr(pretraining_input, "read_input_shard", read_logged)
    stats = prepare_pretraining.run(_args(pattern, output, "--resume"))
    # the committed shards are not read again, the two others once each
    assert len(read) == 2 and not set(read) & committed
    assert stats["input_shards"] == {"total": 4, "resumed_from": 2, "attempts": 1}
    _assert_same_output(output, clean)


@pytest.mark.slow  # the job twice more on the small corpus: about 15 s
def test_a_damaged_committed_shard_is_redone(small, tmp_path, monkeypatch):
    """A committed shard whose documents file was cut short (a disk that filled up, a
    copy interrupted) is read again instead of failing the resumed run."""
    pattern, clean = small
    output = tmp_path / "out"
    _fail_after_commits(monkeypatch, output, 2)
    with pytest.raises(Exception, match="went away"):
        prepare_pretraining.run(_args(pattern, output, "--retries", "0"))
    monkeypatch.undo()
    manifest = json.loads(sorted(_manifests(output))[0].read_text())
    docs = Path(manifest["files"]["docs"])
    docs.write_bytes(docs.read_bytes()[:100])
    stats = prepare_pretraining.run(_args(pattern, output, "--resume"))
    assert stats["input_shards"]["resumed_from"] == 1
    _assert_same_output(output, clean)


@pytest.mark.slow  # the job twice more on the small corpus: about 15 s
def test_overwrite_discards_a_partial_run(small, tmp_path, monkeypatch):
    pattern, clean = small
    output = tmp_path / "out"
    _fail_after_commits(monkeypatch, output, 1)
    with pytest.raises(Exception, match="went away"):
        prepare_pretraining.run(_args(pattern, output, "--retries", "0"))
    monkeypatch.undo()
    stats = prepare_pretraining.run(_args(pattern, output, "--overwrite"))
    assert stats["input_shards"]["resumed_from"] == 0
    _assert_same_output(output, clean)


@pytest.mark.slow  # the job twice more on the small corpus: about 15 s
def test_a_failed_pipeline_is_retried_with_the_committed_shards(small, tmp_path,
                                                                monkeypatch):
    pattern, clean = small
    output = tmp_path / "out"
    real = pretraining_input.read_input_shard
    failed = []

    def fail_once(shard, rules, paragraphs):
        if shard.index == 2 and not failed:
            failed.append(shard.name)
            raise RuntimeError("worker lost (simulated)")
        return real(shard, rules, paragraphs)

    monkeypatch.setattr(pretraining_input, "read_input_shard", fail_once)
    stats = prepare_pretraining.run(_args(pattern, output))
    assert failed and stats["input_shards"]["attempts"] == 2
    _assert_same_output(output, clean)


@pytest.mark.slow  # the job twice more on the small corpus: about 15 s
def test_a_failure_after_every_shard_is_committed(small, tmp_path, monkeypatch):
    """The whole-corpus steps fail (e.g. the launcher dies during near dedupe): a resumed
    run reads no input shard and redoes them from the committed documents."""
    pattern, clean = small
    output = tmp_path / "out"
    real = pretraining_input.ReadCleaned.process

    def fail(self, manifest):
        raise RuntimeError("lost during dedupe (simulated)")

    monkeypatch.setattr(pretraining_input.ReadCleaned, "process", fail)
    with pytest.raises(Exception, match="lost during dedupe"):
        prepare_pretraining.run(_args(pattern, output, "--retries", "0"))
    assert len(_manifests(output)) == 4 and not (output / "shards").exists()
    monkeypatch.setattr(pretraining_input.ReadCleaned, "process", real)
    monkeypatch.setattr(pretraining_input, "read_input_shard", None)  # must not be called
    stats = prepare_pretraining.run(_args(pattern, output, "--resume"))
    assert stats["input_shards"] == {"total": 4, "resumed_from": 4, "attempts": 1}
    _assert_same_output(output, clean)


class KillWorkerOnce(CleanShards):
    """Kills its worker process (os._exit, no cleanup) half way through input shard 1: once,
    as long as the file $KILL_MARKER does not exist (worker processes inherit the
    launcher's environment)."""

    def process(self, shard, duplicates):
        marker = os.environ["KILL_MARKER"]
        if shard.index == 1 and not os.path.exists(marker):
            Path(marker).write_text(str(os.getpid()))
            os._exit(3)
        yield from super().process(shard, duplicates)


@pytest.mark.slow  # starts two worker processes twice: about 60 s
def test_a_worker_killed_under_multi_processing(small, tmp_path, monkeypatch,
                                                worker_pythonpath):
    pattern, clean = small
    output = tmp_path / "out"
    monkeypatch.setenv("KILL_MARKER", str(tmp_path / "killed-once"))
    # the workers import this module (its shared_data import too)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO_ROOT / "tests"),
                                                      os.environ["PYTHONPATH"]]))
    # the worker processes unpickle the DoFn: send this test's class by value
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        monkeypatch.setattr(prepare_pretraining, "CleanShards", KillWorkerOnce)
        stats = prepare_pretraining.run(_args(
            pattern, output, "--direct_running_mode=multi_processing",
            "--direct_num_workers=2"))
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    killed = int((tmp_path / "killed-once").read_text())
    assert killed != os.getpid()  # a worker process died, not this one
    assert stats["input_shards"]["attempts"] == 2
    _assert_same_output(output, clean)


def test_a_manifest_counts_only_with_the_shards_own_files(tmp_path):
    """A manifest naming another file (damaged, or written by hand) does not commit its
    shard: the run would read that file as the shard's documents."""
    (tmp_path / "a.jsonl").write_text('{"text": "x"}\n')
    shards = input_shards([str(tmp_path / "a.jsonl")], "jsonl", False, 1 << 20)
    partial = PartialRun(str(tmp_path / "out"))
    partial.start(shards, {"k": 1})
    tables = pretraining_input.shard_tables(False)
    for table in tables:
        Path(partial.table_file(table, shards[0])).parent.mkdir(parents=True, exist_ok=True)
        Path(partial.table_file(table, shards[0])).write_bytes(b"")
    own = {t: partial.table_file(t, shards[0]) for t in tables}
    partial.commit_shard(shards[0], {"files": {**own, "docs": str(tmp_path / "a.jsonl")}})
    assert partial.committed(shards, tables) == {}
    partial.commit_shard(shards[0], {"files": own})
    assert list(partial.committed(shards, tables)) == [shards[0].name]


@pytest.mark.parametrize("shard_bytes", [1, 50, 333, 1 << 20])
def test_text_line_shards_hold_every_document_once(tmp_path, shard_bytes):
    lines = [f"line {i} " + "w" * (i * 7 % 90) for i in range(40)]
    (tmp_path / "a.txt").write_text("\n".join(lines) + "\n\n")
    (tmp_path / "b.txt").write_text("\n".join(lines[:3]) + "\n")
    with gzip.open(tmp_path / "c.txt.gz", "wt") as file_:
        file_.write("\n".join(lines[:5]) + "\n")
    paths = [str(tmp_path / name) for name in ("c.txt.gz", "b.txt", "a.txt")]
    shards = input_shards(paths, "text", False, shard_bytes)
    assert [s.path for s in shards] == sorted(s.path for s in shards)
    assert [s.name for s in shards] == [f"part-{i:05d}-of-{len(shards):05d}"
                                        for i in range(len(shards))]
    assert [s for s in shards if s.path.endswith(".gz")][0].end is None  # whole
    seen = [(Path(s.path).name, item.offset, item.payload) for s in shards
            for chunk in read_input_shard(s, CheckOptions(), False) for item in chunk.items]
    offsets = [sum(len(line) + 1 for line in lines[:i]) for i in range(40)]
    expected = [("a.txt", offsets[i], line.encode()) for i, line in enumerate(lines)]
    expected += [("b.txt", offsets[i], line.encode()) for i, line in enumerate(lines[:3])]
    expected += [("c.txt.gz", offsets[i], line.encode()) for i, line in enumerate(lines[:5])]
    assert seen == expected


def test_whole_file_shards(tmp_path):
    """Paragraph text, .spacy and Parquet files are one shard each, whatever their size."""
    (tmp_path / "a.txt").write_text("one\ntwo\n\nthree\n" * 100)
    (tmp_path / "b.parquet").write_bytes(b"PAR1")
    for kind, name, paragraphs in (("text", "a.txt", True), ("parquet", "b.parquet", False)):
        shards = input_shards([str(tmp_path / name)], kind, paragraphs, 16)
        assert [(s.start, s.end, s.kind) for s in shards] == [(0, None, kind)]


@pytest.mark.slow  # three runs over 50,000 records: about 3-4 minutes on 2 cores
def test_sigkill_of_the_launcher_half_way_then_resume(tmp_path):
    pattern = _corpus(tmp_path / "in", 20, 2500)
    clean_stats = prepare_pretraining.run(_args(pattern, tmp_path / "clean"))
    assert clean_stats["counts"]["read"] == 50_000
    output = tmp_path / "out"
    launcher = subprocess.Popen([sys.executable, "-m", "beam_jobs.prepare_pretraining",
                                 *_args(pattern, output)], cwd=REPO_ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    manifests = Path(str(output) + ".partial") / "manifests"
    deadline = time.monotonic() + 600
    while len(list(manifests.glob("*.json"))) < 10:
        assert launcher.poll() is None, launcher.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "no progress in 600 s"
        time.sleep(0.05)
    launcher.send_signal(signal.SIGKILL)
    launcher.wait()
    launcher.stderr.close()
    done = len(list(manifests.glob("*.json")))
    assert 10 <= done < 20 and not (output / "shards").exists()

    stats = prepare_pretraining.run(_args(pattern, output, "--resume"))
    assert stats["input_shards"]["resumed_from"] == done
    assert stats["counts"] == clean_stats["counts"]
    _assert_same_output(output, tmp_path / "clean")
