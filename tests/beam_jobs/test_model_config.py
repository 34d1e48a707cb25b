"""`--model-config KEY=VALUE`: overrides of the pipeline's saved config when the annotate
job loads it (in the launcher's check and in every worker), part of a run's resume
settings; malformed items name the flag."""
import json

import pytest

from beam_jobs import annotate
from beam_jobs.model import SharedPipeline, forget_preloaded, load_pipeline, preload_pipeline


def test_an_override_changes_the_pipeline_the_job_runs(job_args, tmp_path, read_table):
    plain = tmp_path / "plain"
    argv = job_args(plain, "--keep-text")
    argv[argv.index("blank:en")] = "en_ewt_sm"
    annotate.run(argv)
    changed = tmp_path / "changed"
    argv = job_args(changed, "--keep-text", "--model-config", 'nlp.disabled=["ner"]',
                    "--model-config", "nlp.batch_size=7")
    argv[argv.index("blank:en")] = "en_ewt_sm"
    summary = annotate.run(argv)
    _, before = read_table(plain, "annotations")
    _, after = read_table(changed, "annotations")
    assert summary["counts"]["annotated"] == len(after) == len(before)
    assert any(row["ents"] for row in before)
    assert not any(row["ents"] for row in after)
    assert [row["tag"] for row in after] == [row["tag"] for row in before]
    written = json.loads((changed / "run_summary.json").read_text())
    assert written["counts"] == summary["counts"]


def test_the_launcher_and_the_workers_load_it_with_the_override():
    config = {"nlp.disabled": ["ner"]}
    nlp = preload_pipeline("en_ewt_sm", config)
    assert "ner" in nlp.disabled
    # the in-memory worker takes the launcher's copy only for the same overrides
    assert SharedPipeline("en_ewt_sm", config=config).nlp is nlp
    other = SharedPipeline("en_ewt_sm")
    assert other.nlp is not nlp and "ner" not in other.nlp.disabled
    forget_preloaded()


@pytest.mark.parametrize("item, message", [
    ("cpu_inference=int8", "dotted config key"),
    ("components.transformer.cpu_inference", "dotted config key"),
    ("nosuch.key=1", "nosuch"),
])
def test_bad_overrides_name_the_flag(job_args, tmp_path, item, message):
    argv = job_args(tmp_path, "--model-config", item)
    argv[argv.index("blank:en")] = "en_ewt_sm"
    with pytest.raises((ValueError, OSError), match=message):
        annotate.plan(argv)


def test_a_blank_pipeline_takes_no_override():
    with pytest.raises(ValueError, match="--model-config does not apply to blank:en"):
        load_pipeline("blank:en", {"nlp.batch_size": 3})


def test_a_changed_override_is_a_changed_resume_setting(job_args, tmp_path):
    argv = job_args(tmp_path, "--model-config", "nlp.batch_size=7")
    argv[argv.index("blank:en")] = "en_ewt_sm"
    settings = annotate.shard_settings(annotate.plan(argv))
    assert settings["model_config"] == {"nlp.batch_size": 7}
    forget_preloaded()
