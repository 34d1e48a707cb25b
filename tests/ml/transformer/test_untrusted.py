"""A transformer model directory or config is untrusted: the model's own Python code never
runs (no config can set trust_remote_code), and weights load only from safetensors."""
import json
import shutil

import pytest
import torch

from nlp_core.ml.transformer.loading import load_pretrained
from nlp_core.registry import registry

# Python shipped with a "model": creates the marker file MARKER when imported (an absolute
# path: transformers runs such code from a copy in its modules cache)
EVIL_CODE = """
import pathlib
pathlib.Path(MARKER).write_text("the model's code ran")
from transformers import BertConfig


class EvilConfig(BertConfig):
    model_type = "bert"
"""


@pytest.fixture
def evil_bert(tiny_bert, tmp_path):
    """The tiny BERT with code of its own that config.json asks to run (auto_map)."""
    path = tmp_path / "evil"
    shutil.copytree(tiny_bert, path)
    (path / "evil.py").write_text(EVIL_CODE.replace("MARKER", repr(str(path / "EXECUTED"))))
    config = json.loads((path / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "evil.EvilConfig"}
    (path / "config.json").write_text(json.dumps(config))
    return path


def _config(path, **settings):
    return {"model": {"@architectures": "spacy-transformers.TransformerModel.v3",
                      "name": str(path),
                      "get_spans": {"@span_getters": "spacy-transformers.doc_spans.v1"},
                      **settings}}


@pytest.mark.parametrize("section", ["tokenizer_config", "transformer_config"])
def test_a_config_cannot_switch_on_remote_code(evil_bert, section):
    with pytest.raises(ValueError, match=rf"E620.*{section}\['trust_remote_code'\]"):
        registry.resolve(_config(evil_bert, **{section: {"trust_remote_code": True}}))
    with pytest.raises(ValueError, match="E620"):
        load_pretrained(evil_bert, **{"tokenizer_config": {}, "transformer_config": {},
                                      section: {"trust_remote_code": True}})
    assert not (evil_bert / "EXECUTED").exists()


# {}: bert.py builds it; a setting bert.py leaves to transformers: AutoModel does
@pytest.mark.parametrize("settings,cls", [({}, "BertEncoder"),
                                          ({"layer_norm_eps": 1e-12}, "BertModel")])
def test_a_model_directory_asking_for_its_code_loads_without_running_it(evil_bert, settings,
                                                                        cls):
    encoder, _ = load_pretrained(evil_bert, tokenizer_config={}, transformer_config=settings)
    assert type(encoder).__name__ == cls
    assert not (evil_bert / "EXECUTED").exists()


@pytest.mark.parametrize("setting", [{"use_safetensors": False}, {"from_tf": True}])
def test_a_config_cannot_ask_for_other_weights(tiny_bert, setting):
    with pytest.raises(ValueError, match=f"E620.*{next(iter(setting))}"):
        registry.resolve(_config(tiny_bert, transformer_config=setting))


def test_pickled_weights_are_refused_unread(tiny_bert, tmp_path, monkeypatch):
    path = tmp_path / "pickled"
    shutil.copytree(tiny_bert, path)
    from safetensors.torch import load_file

    torch.save(load_file(path / "model.safetensors"), path / "pytorch_model.bin")
    (path / "model.safetensors").unlink()

    def no_unpickling(*args, **kwargs):
        raise AssertionError("torch.load was called on an untrusted file")

    monkeypatch.setattr(torch, "load", no_unpickling)
    with pytest.raises(OSError, match=r"E621.*pytorch_model\.bin.*safetensors"):
        load_pretrained(path, tokenizer_config={}, transformer_config={})
    model = registry.resolve(_config(path))["model"]
    with pytest.raises(OSError, match="E621"):
        model.initialize()
