"""The registries a config refers to: names, aliases, thinc's functions, unknown names."""
import subprocess
import sys

import pytest
from confection import Config

from nlp_core.registry import RegistryNameError, aliases_of, register_with_aliases, registry

# A config may refer to these registries as `@<name> = "..."`.
EXPECTED_REGISTRIES = {
    "architectures", "tokenizers", "factories", "readers", "batchers", "loggers", "callbacks",
    "span_getters", "annotation_setters", "scorers", "vectors", "augmenters", "misc",
    "layers", "optimizers", "schedules", "initializers", "losses", "ops", "datasets",
}


def test_registry_listing_names_every_registry_and_its_functions():
    listing = registry.listing()
    assert set(listing) == EXPECTED_REGISTRIES
    # thinc's functions are reachable under their own names.
    for name in ("Adam.v1", "SGD.v1", "RAdam.v1"):
        assert name in listing["optimizers"]
    for name in ("warmup_linear.v1", "compounding.v1", "constant.v1", "decaying.v1"):
        assert name in listing["schedules"]
    for name in ("reduce_mean.v1", "Relu.v1", "chain.v1"):
        assert name in listing["layers"]
    # The pipeline object's own makers, under versioned names and seed aliases.
    import nlp_core.nlp_makers  # noqa: F401

    listing = registry.listing()
    assert {"nlp_core.Tokenizer.v1", "spacy.Tokenizer.v1"} <= set(listing["tokenizers"])
    assert {"nlp_core.Vectors.v1", "spacy.Vectors.v1"} <= set(listing["vectors"])


def test_register_with_aliases_decorator_maps_every_name_to_one_function():
    @registry.architectures("test_registry.Thing.v1", aliases=["spacy.TestThing.v1"])
    def thing(width: int = 4):
        return width

    assert registry.architectures.get("spacy.TestThing.v1") is thing
    assert aliases_of(registry.architectures, "test_registry.Thing.v1") == [
        "spacy.TestThing.v1", "test_registry.Thing.v1"]
    config = Config({"x": {"@architectures": "spacy.TestThing.v1", "width": 7}})
    assert registry.resolve(config)["x"] == 7


def test_register_with_aliases_works_on_thincs_registries():
    def my_layer():
        return "layer"

    register_with_aliases(registry.layers, "test_registry.layer.v1",
                          ["spacy.test_layer.v1"], func=my_layer)
    assert registry.layers.get("spacy.test_layer.v1") is my_layer
    assert registry.resolve({"x": {"@layers": "spacy.test_layer.v1"}})["x"] == "layer"


def test_thinc_optimizer_and_schedule_configs_resolve():
    config = Config().from_str("""
    [optimizer]
    @optimizers = "Adam.v1"
    beta1 = 0.9

    [optimizer.learn_rate]
    @schedules = "warmup_linear.v1"
    warmup_steps = 2
    total_steps = 10
    initial_rate = 0.01
    """)
    optimizer = registry.resolve(config)["optimizer"]
    assert optimizer.__class__.__name__ == "Optimizer"


def test_fill_adds_default_arguments_of_registered_functions():
    filled = registry.fill({"size": {"@schedules": "compounding.v1", "start": 1, "stop": 9,
                                     "compound": 1.1}})
    assert filled["size"]["t"] == 0.0


def test_unknown_name_names_registry_key_path_and_nearest_names():
    config = {"training": {"optimizer": {"@optimizers": "Adamm.v1"}}}
    with pytest.raises(RegistryNameError) as err:
        registry.resolve(config)
    message = str(err.value)
    assert "'Adamm.v1'" in message
    assert "'optimizers'" in message
    assert "[training.optimizer]" in message
    assert "'Adam.v1'" in message


def test_unknown_name_is_an_error_in_fill_too():
    # confection alone would leave an unknown block unfilled without a word.
    with pytest.raises(RegistryNameError, match=r"components\.ner\.model"):
        registry.fill({"components": {"ner": {"model": {
            "@architectures": "spacy.NotThere.v1"}}}})


def test_unknown_registry_is_named_with_nearest_registries():
    with pytest.raises(RegistryNameError) as err:
        registry.resolve({"x": {"@architecture": "a.v1"}})
    assert "'architecture'" in str(err.value)
    assert "'architectures'" in str(err.value)


def test_direct_get_of_unknown_name_lists_nearest():
    with pytest.raises(RegistryNameError, match="Adam.v1"):
        registry.get("optimizers", "Adma.v1")
    with pytest.raises(RegistryNameError, match="test_registry"):
        registry.architectures.get("test_registry.Thing.v9")


def test_factories_register_on_the_registry_and_through_language():
    from nlp_core import blank
    from nlp_core.language import Language

    @registry.factory("test_registry_marker", default_config={"mark": "x"})
    def make_marker(nlp, name: str, mark: str):
        def marker(doc):
            doc.user_data["mark"] = mark
            return doc

        return marker

    @Language.component("test_registry_noop")
    def noop(doc):
        return doc

    assert Language.get_factory_meta("test_registry_marker").factory is make_marker
    assert registry.get_factory_meta("test_registry_noop").name == "test_registry_noop"
    nlp = blank("xx")
    nlp.add_pipe("test_registry_marker", config={"mark": "y"})
    nlp.add_pipe("test_registry_noop")
    assert nlp("a b").user_data["mark"] == "y"
    with pytest.raises(ValueError, match="test_registry_marker"):
        registry.get_factory_meta("test_registry_markr")


def test_built_in_factories_resolve_without_importing_them_first():
    # The registry imports the built-in packages by name when a factory is not found yet.
    code = ("import sys; from nlp_core.registry import registry; "
            "assert 'nlp_core.pipeline' not in sys.modules; "
            "print(registry.get_factory_meta('tagger').name)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "tagger"
