"""What lets the annotate job scale over worker processes and keep its overhead low:
shards for every process, per-process thread limits, the stage times in run_summary.json,
the bucketed duplicate-id pass, and the garbage collector's frozen start-up objects."""
import gc
import json
import zlib

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to
from threadpoolctl import threadpool_info, threadpool_limits

from beam_jobs import annotate, workers
from beam_jobs.duplicate_ids import FindDuplicateIds, bucket_of, id_buckets
from beam_jobs.io import ReadRawChunks
from beam_jobs.model import SharedPipeline
from beam_jobs.records import CheckOptions
from beam_jobs.stage_times import STAGES

MIB = 1 << 20
MP2 = ["--runner=FnApiRunner", "--direct_running_mode=multi_processing",
       "--direct_num_workers=2"]


def test_shards_are_cut_so_that_every_process_gets_an_equal_share():
    # one worker: --shard-mb as given
    assert workers.shard_bytes([60 * MIB], 64, 1) == 64 * MIB
    # two: 4 shards each
    assert workers.shard_bytes([60 * MIB], 64, 2) == 60 * MIB // 8
    # never above --shard-mb
    assert workers.shard_bytes([6000 * MIB], 64, 2) == 64 * MIB
    # a small input: fewer shards, a multiple of the processes, none below the minimum
    size = workers.shard_bytes([600 << 10], 64, 2)
    assert -(-(600 << 10) // size) == 2
    assert workers.shard_bytes([10], 64, 2) == 5
    assert workers.shard_bytes([], 64, 2) == 64 * MIB  # compressed / .spacy input only


def test_processes_and_threads_follow_the_runner(monkeypatch):
    monkeypatch.setattr(workers, "machine_cores", lambda: 8)
    local = PipelineOptions(["--runner=FnApiRunner"])
    assert workers.local_processes(local) == 1
    assert workers.worker_threads(local) == 8
    multi = PipelineOptions(MP2)
    assert workers.local_processes(multi) == 2
    assert workers.worker_threads(multi) == 4
    every_core = PipelineOptions(["--runner=FnApiRunner",
                                  "--direct_running_mode=multi_processing",
                                  "--direct_num_workers=0"])
    assert workers.local_processes(every_core) == 8
    assert workers.worker_threads(every_core) == 1
    remote = PipelineOptions(["--runner=DataflowRunner", "--num_workers=5"])
    assert workers.local_processes(remote) is None
    assert workers.worker_threads(remote) is None
    assert workers.planned_processes(remote) == 5


def test_gpu_workers_share_the_parse_threads(monkeypatch):
    """--gpu with several local worker processes: each takes its share of the cores but
    one for its parse threads; one process, a remote runner or --parse-threads: as given
    (None: the worker's own default, the cores but one)."""
    from nlp_core.ml import parse_threads

    monkeypatch.setattr(parse_threads, "usable_cpus", lambda: 16)
    multi = PipelineOptions(MP2)
    assert workers.gpu_parse_threads(multi, None) == 7
    assert workers.gpu_parse_threads(multi, 3) == 3
    four = PipelineOptions(["--runner=FnApiRunner", "--direct_running_mode=multi_processing",
                            "--direct_num_workers=4"])
    assert workers.gpu_parse_threads(four, None) == 3
    assert workers.gpu_parse_threads(PipelineOptions(["--runner=FnApiRunner"]), None) is None
    remote = PipelineOptions(["--runner=DataflowRunner"])
    assert workers.gpu_parse_threads(remote, None) is None
    monkeypatch.setattr(parse_threads, "usable_cpus", lambda: 2)
    assert workers.gpu_parse_threads(four, None) == 1  # never below one


def test_plan_splits_one_small_file_for_two_workers(tmp_path):
    corpus = tmp_path / "one.jsonl"
    line = json.dumps({"text": "A sentence of a few words. " * 10}) + "\n"
    corpus.write_text(line * (3 * MIB // len(line)))
    args = ["--input", str(corpus), "--output", str(tmp_path / "out"), "--model", "blank:en"]
    assert len(annotate.plan(args + ["--runner=FnApiRunner"]).shards) == 1
    two = annotate.plan(args + MP2)
    assert len(two.shards) == 8
    assert annotate.shard_settings(two)["shard_bytes"] == two.shard_bytes
    # a resumed run keeps the shards it was planned with, whatever the workers now
    resumed = {"settings": {"shard_bytes": two.shard_bytes}}
    assert annotate._shard_bytes(PipelineOptions(args + ["--runner=FnApiRunner"]),
                                 [str(corpus)], "jsonl", resumed) == two.shard_bytes


def test_thread_pools_are_limited_per_process(monkeypatch):
    import torch  # installed with the test extra; thinc imports it with the pipeline

    for name in workers.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas, "no BLAS thread pool found in this process"
    torch_threads = torch.get_num_threads()
    monkeypatch.setattr(workers, "_applied", None)
    try:
        workers.limit_threads(3)
        assert {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"} == {1}
        assert torch.get_num_threads() == 3
    finally:
        threadpool_limits(limits=blas[0]["num_threads"], user_api="blas")
        torch.set_num_threads(torch_threads)
        monkeypatch.setattr(workers, "_applied", None)


def test_user_thread_settings_win(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    monkeypatch.setattr(workers, "_applied", None)
    before = [pool["num_threads"] for pool in threadpool_info()]
    workers.limit_threads(1)
    assert [pool["num_threads"] for pool in threadpool_info()] == before


def test_the_worker_sets_malloc_once_unless_the_user_did(monkeypatch):
    calls = []
    monkeypatch.setattr(workers, "set_malloc", lambda **kw: calls.append(kw) or True)
    monkeypatch.setattr(workers, "_malloc_pid", None)
    workers.steady_malloc()
    workers.steady_malloc()  # once per process
    assert calls == [{**workers.MALLOC_SETTINGS, "respect_environment": True}]
    monkeypatch.setattr(workers, "_malloc_pid", None)


def test_run_summary_splits_the_time_by_stage(job_args, tmp_path):
    summary = annotate.run(job_args(tmp_path / "out"))
    stages = summary["stage_seconds"]
    assert set(stages) == set(STAGES)
    assert all(seconds > 0 for seconds in stages.values()), stages
    assert sum(summary["stage_share"].values()) == pytest.approx(1, abs=1e-3)
    written = json.loads((tmp_path / "out" / "run_summary.json").read_text())
    assert written["stage_seconds"] == stages


def _duplicate_corpus(path):
    records = [{"id": "a", "text": "one"}, {"text": "no id"}, {"id": "b", "text": "two"},
               {"id": "a", "text": "three"}, {"id": "b", "text": ""}, {"id": 7, "text": "x"},
               {"id": "7", "text": "y"}]
    lines = [json.dumps(r) for r in records]
    offsets = [sum(len(x) + 1 for x in lines[:i]) for i in range(len(lines))]
    taker = {"id": f"{path}@{offsets[1]}", "text": "takes the id-less record's id"}
    path.write_text("\n".join(lines + [json.dumps(taker)]) + "\n")
    return offsets


@pytest.mark.parametrize("n_buckets", [1, 3, 64])
def test_duplicate_ids_do_not_depend_on_the_buckets(tmp_path, n_buckets):
    path = tmp_path / "dups.jsonl"
    offsets = _duplicate_corpus(path)
    source = str(path)
    p = BeamTestPipeline(runner="FnApiRunner")
    found = (p
             | ReadRawChunks(source, "jsonl", CheckOptions())
             | FindDuplicateIds(CheckOptions(), n_buckets)
             | beam.Map(lambda entry: entry[0]))
    # the second "a", "7" after 7 (both ids are "7"), the id-less record whose generated id
    # a later record took; the second "b" is invalid (empty text): its id does not count
    assert_that(found, equal_to([((source, offsets[3]), "a"), ((source, offsets[6]), "7"),
                                 ((source, offsets[1]), f"{source}@{offsets[1]}")]))
    p.run().wait_until_finish()


def test_id_buckets_are_stable_and_sized_by_the_input():
    # the same in every worker process (not str's per-process hash())
    assert bucket_of("doc-1", 64) == zlib.crc32(b"doc-1") % 64
    assert bucket_of("caf\u00e9", 7) == zlib.crc32("caf\u00e9".encode("utf8")) % 7
    assert id_buckets(0) == 1
    assert id_buckets(100 * MIB) == 7
    assert id_buckets(1 << 50) == 1 << 16


def test_the_worker_freezes_its_start_up_objects():
    gc.unfreeze()
    SharedPipeline("blank:en")
    assert gc.get_freeze_count() > 0
