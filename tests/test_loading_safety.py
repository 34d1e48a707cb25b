"""Loading runs no code from a name, `--code` replaces no module, and a cut-off file of a
saved pipeline names itself (issue 11, items 8, 9 and 14)."""
import json
import shutil
import sys
import textwrap

import pytest
from pipeline.toy_pipelines import independent_nlp, make_examples, train
from typer.testing import CliRunner

import nlp_core
from beam_jobs import annotate
from beam_jobs.model import load_pipeline
from nlp_core.cli import app
from nlp_core.language import Language
from nlp_core.registry import registry
from nlp_core.user_code import import_code, user_code_module_name

# A module body that leaves a file behind when it is imported (run).
MARKER_CODE = """
from pathlib import Path
Path({marker!r}).write_text("imported")

def load(**kwargs):
    Path({marker!r}).write_text("load() called")
"""


@pytest.fixture
def on_path(tmp_path, monkeypatch):
    """tmp_path on sys.path and the working directory, as a user's project folder is, and
    tmp_path/site on sys.path, as site-packages is; modules imported from them are
    forgotten afterwards."""
    (tmp_path / "site").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith(("mymodel", "looks_like", "fake_", "test_loading_")):
            del sys.modules[name]


@pytest.fixture(scope="module")
def tagger_dir(tmp_path_factory):
    """A saved blank:en + tagger pipeline, trained for two steps on four sentences."""
    nlp = independent_nlp()
    train(nlp, make_examples(nlp), n_steps=2)
    path = tmp_path_factory.mktemp("tagger") / "pipeline"
    nlp.to_disk(path)
    return path


def cut_copy(source, tmp_path, relative, keep=0.5):
    """A copy of the pipeline directory `source` with the file `relative` cut to `keep` of
    its length; returns (directory, the cut file)."""
    target = tmp_path / "cut"
    shutil.copytree(source, target)
    cut = target / relative
    data = cut.read_bytes()
    cut.write_bytes(data[:int(len(data) * keep)])
    return target, cut


# --- item 8: --model NAME runs no code ------------------------------------------------


def test_a_local_module_named_as_model_is_not_imported(on_path):
    marker = on_path / "marker.txt"
    (on_path / "mymodel.py").write_text(MARKER_CODE.format(marker=str(marker)))
    with pytest.raises(OSError) as err:
        nlp_core.load("mymodel")
    message = str(err.value)
    assert "'mymodel'" in message and "mymodel.py" in message
    assert "not a pipeline package" in message and "config.cfg" in message
    assert not marker.exists()
    assert "mymodel" not in sys.modules


def test_model_flag_names_itself_and_lists_what_it_takes(on_path):
    marker = on_path / "marker.txt"
    (on_path / "mymodel.py").write_text(MARKER_CODE.format(marker=str(marker)))
    with pytest.raises(OSError) as err:
        load_pipeline("mymodel")
    message = str(err.value)
    assert message.startswith("--model 'mymodel'")
    assert "blank:LANG" in message and "en_ewt_sm" in message
    assert not marker.exists()


def test_a_standard_library_module_is_a_clear_error():
    with pytest.raises(OSError, match=r"'json'.*not a pipeline package"):
        nlp_core.load("json")
    with pytest.raises(OSError, match=r"^--model 'json'"):
        load_pipeline("json")


def test_a_package_without_config_is_not_imported(on_path):
    marker = on_path / "marker.txt"
    package = on_path / "site" / "looks_like_a_model"
    package.mkdir()
    (package / "__init__.py").write_text(MARKER_CODE.format(marker=str(marker)))
    with pytest.raises(OSError, match="holds no config.cfg and declares no pipeline entry"):
        nlp_core.load("looks_like_a_model")
    assert not marker.exists()


def test_a_dotted_name_is_rejected_without_importing_its_parent(on_path):
    marker = on_path / "marker.txt"
    package = on_path / "site" / "looks_like_a_model"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text(MARKER_CODE.format(marker=str(marker)))
    (package / "sub" / "__init__.py").write_text("")
    with pytest.raises(OSError, match="not the name of a package"):
        nlp_core.load("looks_like_a_model.sub")
    assert not marker.exists()


def test_an_installed_pipeline_package_loads_as_data(on_path):
    marker = on_path / "marker.txt"
    nlp = nlp_core.blank("en")
    nlp.meta = {"name": "fake_pipeline", "version": "1.0.0"}
    package = on_path / "site" / "fake_pipeline_pkg"
    nlp.to_disk(package)
    (package / "__init__.py").write_text(MARKER_CODE.format(marker=str(marker)))
    loaded = nlp_core.load("fake_pipeline_pkg")
    assert isinstance(loaded, Language)
    assert loaded.meta["name"] == "fake_pipeline" and loaded.meta["version"] == "1.0.0"
    assert [t.text for t in loaded("Hello world.")] == ["Hello", "world", "."]
    assert not marker.exists(), "the package's data was loaded without running its code"
    assert load_pipeline("fake_pipeline_pkg").meta["name"] == "fake_pipeline"


def write_entry_point_package(root, name, body):
    """An installed distribution (dist-info on sys.path) declaring the entry point `name` in
    nlp_core_pipelines, pointing at the module `name`_impl with `body`."""
    (root / f"{name}_impl.py").write_text(textwrap.dedent(body))
    dist_info = root / f"{name}-0.1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\n"
                                        "Version: 0.1.0\n")
    (dist_info / "entry_points.txt").write_text(
        f"[nlp_core_pipelines]\n{name} = {name}_impl\n")


def test_a_declared_entry_point_is_loaded_and_its_result_checked(on_path):
    write_entry_point_package(on_path / "site", "fake_ep_good", """
        import nlp_core

        def load(**kwargs):
            return nlp_core.blank("en", meta={"name": "from_entry_point"})
        """)
    write_entry_point_package(on_path / "site", "fake_ep_bad", """
        def load(**kwargs):
            return {"not": "a pipeline"}
        """)
    assert nlp_core.load("fake_ep_good").meta["name"] == "from_entry_point"
    with pytest.raises(ValueError, match=r"'fake_ep_bad'.*returned dict, not an nlp_core"):
        nlp_core.load("fake_ep_bad")


def test_legitimate_names_still_load(tagger_dir):
    assert nlp_core.load(tagger_dir).pipe_names == ["tagger"]
    assert nlp_core.load(str(tagger_dir)).pipe_names == ["tagger"]
    assert load_pipeline("blank:en").pipe_names == []
    assert "en_ewt_sm" in nlp_core.shipped_pipelines()


# --- item 9: --code never replaces a module ---------------------------------------------

JSON_PY = """
from nlp_core.registry import registry

@registry.misc("test_loading_safety.from_json_py.v1")
def from_json_py():
    return "registered by json.py"
"""


def test_code_named_json_py_registers_without_replacing_json(tmp_path):
    code = tmp_path / "json.py"
    code.write_text(JSON_PY)
    module = import_code(code)
    try:
        assert sys.modules["json"] is json
        assert json.loads("[1]") == [1]
        assert module.__name__ == user_code_module_name(code) != "json"
        assert module.__name__.startswith("nlp_core_user_code_")
        assert registry.misc.get("test_loading_safety.from_json_py.v1")() == \
            "registered by json.py"
    finally:
        sys.modules.pop(user_code_module_name(code), None)


def test_code_files_of_the_same_stem_get_their_own_modules(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "layers.py").write_text("VALUE = 'a'\n")
    (tmp_path / "b" / "layers.py").write_text("VALUE = 'b'\n")
    first = import_code(tmp_path / "a" / "layers.py")
    second = import_code(tmp_path / "b" / "layers.py")
    try:
        assert first.__name__ != second.__name__
        assert sys.modules[first.__name__].VALUE == "a"
        assert sys.modules[second.__name__].VALUE == "b"
    finally:
        sys.modules.pop(first.__name__, None)
        sys.modules.pop(second.__name__, None)


def test_cli_code_json_py_keeps_the_standard_json(tmp_path):
    code = tmp_path / "json.py"
    code.write_text(JSON_PY + textwrap.dedent("""
        @registry.architectures("test_loading_safety.Custom.v1")
        def custom(width: int = 7):
            return width
        """))
    partial = tmp_path / "partial.cfg"
    partial.write_text('[nlp]\nlang = "en"\npipeline = []\n\n[components]\n\n'
                       '[custom]\n@architectures = "test_loading_safety.Custom.v1"\n')
    try:
        result = CliRunner().invoke(app, ["init", "fill-config", str(partial), "-",
                                          "--code", str(code)])
        assert result.exit_code == 0, result.output
        assert "width = 7" in result.stdout
        assert sys.modules["json"] is json
    finally:
        sys.modules.pop(user_code_module_name(code), None)


# --- item 14: a cut-off file of a saved pipeline names itself ---------------------------


@pytest.mark.parametrize("relative", ["tagger/model.msgpack", "tagger/cfg.json",
                                      "vocab/strings.json", "meta.json", "tokenizer",
                                      "config.cfg"])
@pytest.mark.parametrize("keep", [0.5, 0.0])
def test_a_truncated_file_is_named(tagger_dir, tmp_path, relative, keep):
    directory, cut = cut_copy(tagger_dir, tmp_path, relative, keep)
    with pytest.raises(ValueError) as err:
        nlp_core.load(directory)
    assert str(cut) in str(err.value)


def test_truncated_weights_say_what_to_do(tagger_dir, tmp_path):
    directory, cut = cut_copy(tagger_dir, tmp_path, "tagger/model.msgpack")
    with pytest.raises(ValueError) as err:
        nlp_core.load(directory)
    message = str(err.value)
    assert f"Cannot read {cut}" in message
    assert "corrupt or truncated" in message and "copy the whole pipeline directory" in message


def test_annotate_job_reports_a_truncated_weights_file(tagger_dir, tmp_path, capsys):
    directory, cut = cut_copy(tagger_dir, tmp_path, "tagger/model.msgpack")
    corpus = tmp_path / "in.jsonl"
    corpus.write_text('{"text": "Hello."}\n')
    code = annotate.main(["--input", str(corpus), "--output", str(tmp_path / "out"),
                          "--model", str(directory), "--runner=FnApiRunner"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: --model '{directory}'") and str(cut) in err
    assert "Traceback" not in err


def test_a_truncated_transformer_weights_file_is_named(tiny_bert, tmp_path, one_torch_thread):
    nlp = nlp_core.blank("en")
    nlp.add_pipe("transformer", config={"model": {"name": str(tiny_bert)}})
    nlp.initialize()
    nlp.to_disk(tmp_path / "trf")
    for relative in ["transformer/model/model.safetensors",
                     "transformer/model/tokenizer.json"]:
        directory, cut = cut_copy(tmp_path / "trf", tmp_path / relative.replace("/", "_"),
                                  relative)
        with pytest.raises(ValueError) as err:
            nlp_core.load(directory)
        assert f"Cannot read {cut}" in str(err.value)
