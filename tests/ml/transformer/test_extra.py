"""torch and transformers are the optional `nlp-core[transformers]` extra: a CNN pipeline
imports, loads and annotates without them (a worker then starts without paying for torch),
and a transformer pipeline fails when it is built, with an error naming the extra.

The child processes stand for an environment without the extra: a finder put first on
their `sys.meta_path` refuses `torch`, `transformers` and `tokenizers` (which transformers
brings), as if they were not installed.
"""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import nlp_core
from nlp_core.ml.transformer.extra import missing_extra_modules, require_extra

REPO_ROOT = Path(__file__).resolve().parents[3]
DOC_SPANS = {"@span_getters": "spacy-transformers.doc_spans.v1"}
EXTRA = 'pip install torch==2.13.0 && pip install "nlp-core[transformers]"'

WITHOUT_EXTRA = textwrap.dedent('''
    import importlib.abc
    import json
    import sys


    class NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "transformers", "tokenizers"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None


    sys.meta_path.insert(0, NotInstalled())
''')


def run_without_extra(body: str) -> dict:
    """Run `body` in a fresh Python where torch and transformers cannot be imported; it
    fills the dict `out`, returned here."""
    code = WITHOUT_EXTRA + "out = {}\n" + textwrap.dedent(body) + "\nprint(json.dumps(out))\n"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def saved_transformer_pipeline(tiny_bert, tmp_path_factory):
    nlp = nlp_core.blank("en")
    nlp.add_pipe("transformer", config={"model": {"name": str(tiny_bert),
                                                  "get_spans": DOC_SPANS}})
    nlp.initialize()
    path = tmp_path_factory.mktemp("trf_pipeline") / "pipeline"
    nlp.to_disk(path)
    return path


def test_cnn_worker_imports_loads_and_annotates_without_torch():
    out = run_without_extra('''
        import nlp_core
        import beam_jobs.annotate
        from beam_jobs.model import SharedPipeline

        doc = nlp_core.load("en_ewt_sm")("Apple is looking at buying a U.K. startup.")
        out["deps"] = [token.dep_ for token in doc]
        out["ents"] = [ent.text for ent in doc.ents]
        docs, failures = SharedPipeline("en_ewt_sm").annotate(["Hello world.", "A test."])
        out["batch"] = [len(d) for d in docs]
        out["failures"] = failures
        out["imported"] = sorted(m for m in sys.modules
                                 if m.split(".")[0] in ("torch", "transformers", "tokenizers"))
    ''')
    assert out["deps"][:3] == ["nsubj", "aux", "ROOT"] and out["ents"] == ["Apple", "U.K."]
    assert out["batch"] == [3, 3] and out["failures"] == []
    assert out["imported"] == []


def test_transformer_pipeline_without_torch_names_the_extra(saved_transformer_pipeline):
    out = run_without_extra(f'''
        import nlp_core
        from beam_jobs.model import load_pipeline
        from nlp_core.ml.transformer import MissingExtraError

        path = {str(saved_transformer_pipeline)!r}
        try:
            nlp_core.load(path)
        except MissingExtraError as err:
            out["load"] = str(err)
        try:
            load_pipeline(path)
        except OSError as err:
            out["job"] = str(err)
        try:
            nlp_core.blank("en").add_pipe("transformer", config={{"model": {{
                "name": "bert-base-cased", "get_spans": {DOC_SPANS!r}}}}})
        except MissingExtraError as err:
            out["add_pipe"] = str(err)
    ''')
    assert set(out) == {"load", "job", "add_pipe"}
    for message in out.values():
        assert message.count("[E339]") == 1 and EXTRA in message
        assert "needs torch and transformers" in message
    assert out["job"].startswith(f"--model {str(saved_transformer_pipeline)!r}: ")
    assert "'bert-base-cased'" in out["add_pipe"]


def test_with_the_extra_installed_nothing_is_missing():
    assert missing_extra_modules() == []
    require_extra("any-model")


def test_runtime_dependencies_leave_torch_to_the_extra():
    import tomllib  # standard library from Python 3.11, which the test extra needs anyway

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]

    def names(requirements):
        return {req.split(">")[0].split("=")[0].split("<")[0].split("[")[0].strip()
                for req in requirements}

    extras = project["optional-dependencies"]
    assert not names(project["dependencies"]) & {"torch", "transformers"}
    assert names(extras["transformers"]) == {"torch", "transformers"}
    assert "nlp-core[transformers]" in extras["test"]
