"""The EWT tagger configs under benchmarks/configs are complete training configs."""
from pathlib import Path

import pytest

from nlp_core.cli.train import load_training_config
from nlp_core.config import find_missing
from nlp_core.language import Language

CONFIG_DIR = Path(__file__).parents[2] / "benchmarks" / "configs"
CONFIGS = sorted(CONFIG_DIR.glob("tagger_*.cfg"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_tagger_configs_fill_and_build(path):
    config = load_training_config(str(path), {"paths.train": "train.conllu",
                                              "paths.dev": "dev.conllu"})
    assert find_missing(config) == []
    nlp = Language.from_config(config)
    assert nlp.pipe_names == ["tok2vec", "tagger", "upos"]
    assert nlp.get_pipe("tagger").attr == "tag" and nlp.get_pipe("upos").attr == "pos"
    assert config["training"]["score_weights"] == {"tag_acc": 0.5, "pos_acc": 0.5}


def test_both_configs_are_found():
    assert {p.name for p in CONFIGS} == {"tagger_ewt.cfg", "tagger_ewt_efficiency.cfg"}


def test_independent_tagger_config_has_its_own_tok2vec():
    config = load_training_config(str(CONFIG_DIR / "independent_tagger_ewt.cfg"),
                                  {"paths.train": "train.conllu", "paths.dev": "dev.conllu"})
    assert find_missing(config) == []
    nlp = Language.from_config(config)
    assert nlp.pipe_names == ["tagger"]
    layers = {node.name for node in nlp.get_pipe("tagger").model.walk()}
    assert "multi_hash_embed" in layers
    assert not any("listener" in name for name in layers)
