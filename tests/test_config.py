"""Loading, overriding, filling and validating training configs."""
from pathlib import Path

import pytest
from confection import Config

from nlp_core.config import (
    MissingValuesError,
    fill_config,
    find_missing,
    get_default_config,
    load_config,
    load_config_from_str,
    parse_config_overrides,
    validate_training_config,
)
from nlp_core.language import Language
from nlp_core.registry import RegistryNameError

SEED_CONFIGS = Path(__file__).parents[2] / "shared" / "seed" / "configs"

PARTIAL = """
[paths]
train = "corpus/train.spacy"

[nlp]
lang = "en"
pipeline = ["dense"]

[components]

[components.dense]
factory = "test_config.dense"

[components.dense.model]
@layers = "Relu.v1"
nO = 8

[training]
max_steps = ${training.eval_frequency}
"""


@Language.factory("test_config.dense", default_config={"width": 4, "label": "X"},
                  default_score_weights={"dense_acc": 2.0, "dense_loss": None})
def make_dense(nlp, name, model, width: int, label: str, extra: bool = False):
    return lambda doc: doc


def test_overrides_use_dotted_keys_and_keep_variables():
    config = load_config_from_str(PARTIAL, overrides={"paths.train": "other.spacy",
                                                      "training.eval_frequency": 5})
    assert config["paths"]["train"] == "other.spacy"
    assert config["training"]["max_steps"] == "${training.eval_frequency}"
    assert config.interpolate()["training"]["max_steps"] == 5


def test_interpolation_replaces_variables(tmp_path):
    path = tmp_path / "config.cfg"
    path.write_text("[paths]\ntrain = \"a.spacy\"\n\n[corpora]\n\n[corpora.train]\n"
                    "path = ${paths.train}\n", encoding="utf8")
    config = load_config(path, interpolate=True)
    assert config["corpora"]["train"]["path"] == "a.spacy"


def test_override_of_a_missing_section_names_the_key():
    with pytest.raises(ValueError, match="nosuch.key"):
        load_config_from_str("[paths]\ntrain = null\n", overrides={"nosuch.key": 1})


def test_a_json_block_override_replaces_the_whole_section():
    text = PARTIAL + "eval_frequency = 4\n\n[training.batcher]\n@batchers = \"a.v1\"\nsize = 3\n"
    block = {"@batchers": "b.v1", "size": "${training.eval_frequency}"}
    config = load_config_from_str(text, overrides=parse_config_overrides(
        ["--training.batcher", '{"@batchers": "b.v1", "size": "${training.eval_frequency}"}',
         "--training.eval_frequency", "6"]))
    assert config["training"]["batcher"] == block
    assert config["training"]["eval_frequency"] == 6
    resolved = load_config_from_str(text, overrides={"training.batcher": block},
                                    interpolate=True)
    assert resolved["training"]["batcher"] == {"@batchers": "b.v1", "size": 4}
    with pytest.raises(ValueError, match="nosuch.block"):
        load_config_from_str(text, overrides={"nosuch.block": {"a": 1}})


def test_missing_config_file_says_how_to_make_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="init config"):
        load_config(tmp_path / "absent.cfg")


def test_command_line_overrides_parse_json_values():
    assert parse_config_overrides(["--paths.train", "x.spacy", "--training.max_steps=10",
                                   "--training.dropout", "0.2", "--nlp.flag"]) == {
        "paths.train": "x.spacy", "training.max_steps": 10, "training.dropout": 0.2,
        "nlp.flag": True}
    with pytest.raises(ValueError, match="--section.key"):
        parse_config_overrides(["train.spacy"])


def test_default_config_has_spacys_sections_and_keys():
    config = get_default_config()
    assert list(config)[:7] == ["paths", "system", "nlp", "components", "corpora",
                                "training", "initialize"]
    for key in ("seed", "dropout", "accumulate_gradient", "patience", "max_epochs",
                "max_steps", "eval_frequency", "frozen_components", "annotating_components",
                "before_to_disk", "batcher", "optimizer", "score_weights", "logger"):
        assert key in config["training"]
    for key in ("vectors", "init_tok2vec", "before_init", "after_init", "components",
                "tokenizer"):
        assert key in config["initialize"]
    assert config["nlp"]["tokenizer"] == {"@tokenizers": "nlp_core.Tokenizer.v1"}
    pretraining = get_default_config(pretraining=True)
    assert pretraining["pretraining"]["component"] == "tok2vec"


def test_missing_values_are_named_with_dotted_paths():
    config = load_config_from_str("""
    [nlp]
    lang = null
    pipeline = ["dense", "ghost"]

    [components]

    [components.dense]
    factory = "test_config.dense"

    [training]
    dropout = ???
    """)
    with pytest.raises(MissingValuesError) as err:
        validate_training_config(config)
    message = str(err.value)
    for key in ("nlp.lang", "training.dropout", "components.ghost", "components.dense.model",
                "paths", "system", "corpora", "training.optimizer"):
        assert key in err.value.missing
        assert key in message
    assert "init fill-config" in message


def test_corpus_paths_are_missing_only_when_required():
    filled = fill_config(load_config_from_str(PARTIAL))
    assert find_missing(filled) == []
    assert find_missing(filled, require_paths=True) == ["paths.dev"]


def test_fill_config_completes_a_partial_config():
    filled = fill_config(load_config_from_str(PARTIAL))
    dense = filled["components"]["dense"]
    assert dense["factory"] == "test_config.dense"
    # The factory's default config and signature defaults are added ...
    assert dense["width"] == 4 and dense["label"] == "X" and dense["extra"] is False
    # ... and the registered layer's default arguments.
    assert dense["model"]["nO"] == 8
    assert {"nI": None, "dropout": None, "normalize": False}.items() <= dense["model"].items()
    # Missing sections come from the defaults; variables stay variables.
    assert filled["training"]["optimizer"]["@optimizers"] == "Adam.v1"
    assert filled["training"]["max_steps"] == "${training.eval_frequency}"
    assert filled["training"]["score_weights"] == {"dense_acc": 1.0, "dense_loss": None}
    assert filled["paths"]["train"] == "corpus/train.spacy"
    # What fill writes loads back unchanged.
    again = load_config_from_str(filled.to_str(interpolate=False))
    assert again == filled


def test_fill_config_adds_pretraining_section_on_request():
    filled = fill_config(load_config_from_str(PARTIAL), pretraining=True)
    assert filled["pretraining"]["objective"]["@architectures"] == (
        "nlp_core.PretrainCharacters.v1")
    assert filled["corpora"]["pretrain"]["path"] == "${paths.raw_text}"
    assert "pretraining" not in fill_config(load_config_from_str(PARTIAL))


def test_fill_config_rejects_a_wrong_argument():
    text = PARTIAL.replace("nO = 8", "nO = 8\nwidht = 3")
    with pytest.raises(ValueError, match="widht"):
        fill_config(load_config_from_str(text))


def test_fill_config_names_key_and_name_of_unregistered_architecture():
    text = PARTIAL.replace('@layers = "Relu.v1"', '@architectures = "spacy.Tok2Vek.v2"')
    with pytest.raises(RegistryNameError) as err:
        fill_config(load_config_from_str(text))
    assert "'spacy.Tok2Vek.v2'" in str(err.value)
    assert "spacy.Tok2Vec.v2" in str(err.value)  # the nearest registered name is suggested
    assert "[components.dense.model]" in str(err.value)


def test_fill_config_names_an_unknown_factory():
    text = PARTIAL.replace('factory = "test_config.dense"', 'factory = "test_config.dens"')
    with pytest.raises(RegistryNameError) as err:
        fill_config(load_config_from_str(text))
    assert "'test_config.dens'" in str(err.value)
    assert "[components.dense]" in str(err.value)
    assert "'test_config.dense'" in str(err.value)


def test_fill_config_fills_the_pretraining_objective():
    text = PARTIAL + '\n[pretraining]\n\n[pretraining.objective]\n' \
        '@architectures = "spacy.PretrainCharacters.v1"\n'
    filled = fill_config(load_config_from_str(text))
    objective = filled["pretraining"]["objective"]
    assert objective["@architectures"] == "spacy.PretrainCharacters.v1"
    assert (objective["maxout_pieces"], objective["hidden_size"],
            objective["n_characters"]) == (3, 300, 4)


def test_fill_config_fills_the_training_readers():
    text = PARTIAL + '\n[corpora]\n\n[corpora.train]\n@readers = "spacy.Corpus.v1"\n' \
        'path = ${paths.train}\n'
    filled = fill_config(load_config_from_str(text))
    assert filled["corpora"]["train"]["@readers"] == "spacy.Corpus.v1"
    assert filled["corpora"]["train"]["max_length"] == 0


@pytest.mark.parametrize("name", ["shared_tok2vec_ner.cfg", "independent_tok2vec_ner.cfg",
                                  "static_vectors_tagger.cfg", "transformer_ner.cfg"])
def test_seed_configs_fail_with_the_unregistered_name(name):
    path = SEED_CONFIGS / name
    assert path.exists(), f"seed config {path} is missing: the tests need ../shared beside the repo"
    config = load_config(path)
    try:
        fill_config(config)
    except RegistryNameError as err:
        assert "[components." in str(err)
    else:  # every architecture and factory it uses is registered by now
        assert find_missing(fill_config(config)) == []


def test_fill_config_accepts_a_plain_dict():
    filled = fill_config(Config({"nlp": {"lang": "xx"}}))
    assert filled["nlp"]["batch_size"] == 1000
    assert find_missing(filled) == []


def test_fill_config_gives_the_encoder_the_embedding_width_of_the_seed_block():
    config = fill_config(load_config(SEED_CONFIGS / "static_vectors_tagger.cfg"))
    tok2vec = config["components"]["tagger"]["model"]["tok2vec"]
    assert tok2vec["embed"]["width"] == tok2vec["encode"]["width"] == 128
    assert find_missing(config) == []
