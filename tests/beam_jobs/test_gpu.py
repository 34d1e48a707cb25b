"""`--gpu` / `--gpu-id`: without cupy or a CUDA device the job stops before it starts with an
error that names the option (and a worker that cannot use its GPU fails the same way);
the pipeline is loaded once per worker process. No GPU runs here: the GPU path itself is
checked by benchmarks/gpu_run.sh on a machine that has one (the job with --gpu among its
steps; results in benchmarks/README.md)."""
import sys

import pytest
import thinc.util

from beam_jobs import annotate, model, options
from beam_jobs.annotating import AnnotateBatches


@pytest.fixture
def no_cupy(monkeypatch):
    """This machine as one without cupy (whether or not it has one)."""
    monkeypatch.setitem(sys.modules, "cupy", None)
    monkeypatch.setattr(thinc.util, "has_cupy", False)
    monkeypatch.setattr(thinc.util, "has_gpu", False)


@pytest.mark.parametrize("flags, gpu_id", [([], -1), (["--gpu"], 0), (["--gpu-id", "1"], 1),
                                           (["--gpu", "--gpu-id", "2"], 2)])
def test_gpu_flags_select_a_device(flags, gpu_id):
    parsed = options.parse_options(["--input", "x", "--output", "o", "--model", "blank:en",
                                    *flags])
    assert options.gpu_id(parsed.view_as(options.AnnotateOptions)) == gpu_id


def test_negative_gpu_id_is_refused():
    with pytest.raises(ValueError, match="--gpu-id must be 0 or more"):
        options.parse_options(["--input", "x", "--output", "o", "--model", "blank:en",
                               "--gpu-id", "-1"])


@pytest.mark.parametrize("flag", [["--gpu"], ["--gpu-id", "0"]])
def test_local_run_without_cupy_fails_naming_the_option(no_cupy, job_args, tmp_path, flag,
                                                        capsys):
    with pytest.raises(ValueError, match=r"--gpu.*cupy is not installed.*without --gpu"):
        annotate.plan(job_args(tmp_path, *flag))
    assert annotate.main(job_args(tmp_path, *flag)) == 2
    assert "error: --gpu" in capsys.readouterr().err
    assert not (tmp_path / "annotations").exists()


def test_remote_runner_leaves_the_check_to_the_workers(no_cupy, job_args, tmp_path):
    argv = [a for a in job_args(tmp_path, "--gpu") if not a.startswith("--runner")]
    assert not annotate._workers_are_local(
        options.parse_options(argv + ["--runner=DataflowRunner"]))
    assert annotate._workers_are_local(options.parse_options(
        argv + ["--runner=PortableRunner", "--environment_type=LOOPBACK"]))


def test_worker_without_cupy_fails_naming_the_option(no_cupy):
    with pytest.raises(ValueError, match=r"--gpu/--gpu-id 0: .*CuPy is not installed"):
        model.SharedPipeline("blank:en", gpu_id=0)
    fn = AnnotateBatches("blank:en", keep_text=False, gpu_id=0)
    with pytest.raises(ValueError, match="--gpu"):
        fn.setup()


def test_pipeline_loads_once_per_worker_process(job_args, tmp_path, monkeypatch):
    loads = []
    original = model.load_pipeline

    def counting(name, config=None):
        loads.append(name)
        return original(name, config)

    monkeypatch.setattr(model, "load_pipeline", counting)
    # small batches: many DoFn calls; the launcher loads the pipeline in `plan` and the
    # in-memory worker (this process) takes that copy: one load in all
    annotate.run(job_args(tmp_path, "--batch-size", "1"))
    assert loads == ["blank:en"]
    # a second DoFn instance in the same process shares the first one's pipeline
    first = AnnotateBatches("blank:en", keep_text=False)
    first.setup()
    copy = pickle_roundtrip(first)
    copy.setup()
    assert copy._pipeline is first._pipeline
    assert len(loads) == 2


def pickle_roundtrip(fn):
    from apache_beam.internal import pickler

    return pickler.loads(pickler.dumps(fn))


def test_on_a_gpu_transformers_get_auto_batch_items_unless_the_config_gives_them(tiny_bert):
    """What SharedPipeline does after loading on a GPU (auto_batch_items), on the CPU."""
    import nlp_core

    spans = {"@span_getters": "spacy-transformers.doc_spans.v1"}
    nlp = nlp_core.blank("en")
    for name in ("trf_a", "trf_b"):
        nlp.add_pipe("transformer", name=name, config={"max_batch_items": 2048, "model": {
            "name": str(tiny_bert), "get_spans": spans}})
    nlp.add_pipe("tagger")  # not a transformer: left alone
    assert model.auto_batch_items(nlp, {"components.trf_b.max_batch_items": 2048}) == ["trf_a"]
    assert nlp.get_pipe("trf_a").cfg["max_batch_items"] == "auto"
    assert nlp.get_pipe("trf_b").cfg["max_batch_items"] == 2048
    assert model.tuned_batch_items(nlp) == {}  # nothing measured on the CPU
    nlp.get_pipe("trf_a")._tuned_items = 16384  # as a GPU's first large batch leaves it
    assert model.tuned_batch_items(nlp) == {"trf_a": 16384}


@pytest.mark.slow  # builds the speed pipeline and runs the job twice in subprocesses: ~40 s
def test_gpu_benchmark_script_runs_on_the_cpu(tmp_path):
    """benchmarks/gpu_trf_job.py --dry-run: the item-5 benchmark's steps, on the CPU, so a
    session with a GPU finds a script that works."""
    import json
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_trf_job.py"
    done = subprocess.run(
        [sys.executable, str(script), "--docs", "40", "--dry-run", "--runs",
         "auto_fp32,mixed_4096,hf_fp16", "--work-dir", str(tmp_path), "--json",
         str(tmp_path / "out.json")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "out.json").read_text())
    assert set(results) == {"auto_fp32", "mixed_4096", "hf_fp16"}
    words = {name: result["words"] for name, result in results.items()}
    assert len(set(words.values())) == 1 and words["hf_fp16"] > 500, results
    assert all(result["words_per_annotate_s"] > 0 for name, result in results.items()
               if name != "hf_fp16")
    assert "job / hf_fp16" in done.stdout
    # without Beam (the device image has none): sizes by hand by name, and a profiled run
    done = subprocess.run(
        [sys.executable, str(script), "--docs", "40", "--dry-run", "--engine", "shared",
         "--runs", "mixed_8192_t2,hf_fp16,fp32_4096_t1_p2", "--profile", "fp32_4096",
         "--profile-batches", "2",
         "--profile-dir", str(tmp_path), "--work-dir", str(tmp_path), "--json",
         str(tmp_path / "shared.json")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "shared.json").read_text())
    assert set(results) == {"mixed_8192_t2", "hf_fp16", "fp32_4096_t1_p2", "profile_fp32_4096"}
    assert results["mixed_8192_t2"]["words"] == words["hf_fp16"]
    # two processes, each with half the batches, started together
    two = results["fp32_4096_t1_p2"]
    assert two["procs"] == 2 and two["words"] == words["hf_fp16"], two
    assert len(two["per_process_annotate_s"]) == 2 and two["parse_threads"] == 1
    assert results["mixed_8192_t2"]["tuning"] == []  # set by hand: nothing measured
    assert results["mixed_8192_t2"]["parse_threads"] == 2
    assert results["profile_fp32_4096"]["parse_threads"] == 1  # the CPU's default
    profile = (tmp_path / "profile_fp32_4096.txt").read_text()
    assert "2 batches" in profile and "function calls" in profile and "cumulative" in profile
    bad = subprocess.run([sys.executable, str(script), "--runs", "mixed_big"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "mixed_N, fp32_N, each with _tN" in bad.stderr
    bad = subprocess.run([sys.executable, str(script), "--profile", "mixed_4096_p2"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "nor _pN" in bad.stderr


@pytest.fixture
def parse_threads_restored():
    from nlp_core.ml import parse_threads

    yield parse_threads
    parse_threads.set_parse_threads(1)


def test_parse_threads_flag():
    parsed = options.parse_options(["--input", "x", "--output", "o", "--model", "blank:en",
                                    "--parse-threads", "3"])
    assert parsed.view_as(options.AnnotateOptions).parse_threads == 3
    with pytest.raises(ValueError, match="--parse-threads must be at least 1, got 0"):
        options.parse_options(["--input", "x", "--output", "o", "--model", "blank:en",
                               "--parse-threads", "0"])


def test_a_gpu_worker_parses_on_its_cores_but_one(monkeypatch, parse_threads_restored):
    """The GPU's worker process (the device faked: the pipeline loads on the CPU) takes
    default_gpu_threads() parse threads unless --parse-threads gives them; a CPU worker
    leaves the setting alone (1)."""
    import contextlib

    monkeypatch.setattr(model, "require_gpu", lambda gpu_id: None)
    monkeypatch.setattr(model, "on_gpu", lambda gpu_id: contextlib.nullcontext())
    monkeypatch.setattr(model, "auto_batch_items", lambda nlp, config: None)
    monkeypatch.setattr(parse_threads_restored, "usable_cpus", lambda: 6)
    model.SharedPipeline("blank:en", gpu_id=0)
    assert parse_threads_restored.parse_threads() == 5
    model.SharedPipeline("blank:en", gpu_id=0, parse_threads=2)
    assert parse_threads_restored.parse_threads() == 2
    parse_threads_restored.set_parse_threads(1)
    model.SharedPipeline("blank:en")
    assert parse_threads_restored.parse_threads() == 1
    fn = AnnotateBatches("blank:en", keep_text=False, parse_threads=3)
    fn.setup()
    assert parse_threads_restored.parse_threads() == 3
