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
