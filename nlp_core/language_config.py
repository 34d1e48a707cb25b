"""A pipeline and its config: `Language.from_config(config)` builds the pipeline a config
describes, and `nlp.config` is the config that builds it again.

    [nlp]
    lang = "en"
    pipeline = ["tok2vec", "tagger"]
    disabled = []
    batch_size = 1000

    [nlp.tokenizer]                     # and optional vectors / before_creation /
    @tokenizers = "nlp_core.Tokenizer.v1"  # after_creation / after_pipeline_creation

    [components.tagger]
    factory = "tagger"                  # a name registered with `registry.factory`

The functions here hold the bodies of those two `Language` members and work on the
pipeline's own state (`_components`, `_pipe_configs`, `_config`).
"""
from typing import TYPE_CHECKING, Any, Dict, Iterable, Type, Union

from confection import Config

from .config import fill_config
from .errors import Errors
from .registry import registry
from .vocab import Vocab

if TYPE_CHECKING:
    from .language import Language

# Keys of [nlp] that name registered functions, resolved before the pipeline is built.
NLP_MAKERS = ("tokenizer", "vectors", "before_creation", "after_creation",
              "after_pipeline_creation")


def pipeline_config(nlp: "Language") -> Config:
    """The full config that recreates `nlp` with `Language.from_config`: the config it
    was built from, with `[nlp]` and `[components]` as the pipeline is now."""
    config = nlp._config.copy()
    block = config["nlp"]
    block["lang"] = nlp.lang
    block["pipeline"] = nlp.component_names
    block["disabled"] = nlp.disabled
    block["batch_size"] = nlp.batch_size
    config["components"] = {name: nlp._pipe_configs[name].copy()
                            for name in nlp.component_names}
    return config


def from_config(cls: Type["Language"], config: Union[Config, Dict[str, Any]], *,
                vocab: Vocab | None = None, disable: Iterable[str] = (),
                enable: Iterable[str] | None = None, exclude: Iterable[str] = (),
                meta: Dict[str, Any] | None = None, auto_fill: bool = True,
                validate: bool = True) -> "Language":
    """Build the pipeline a config describes.

    Args:
        cls: `Language` or a subclass (`[nlp] before_creation` may replace it).
        config: the config; filled with the defaults first when `auto_fill`.
        vocab: the Vocab to share; default: a new one.
        disable: components built but disabled (added to `[nlp] disabled`).
        enable: if given, every component not named here is disabled.
        exclude: components not built at all.
        meta: meta.json fields.
        auto_fill: fill the config with the defaults first.
        validate: check the settings of registered functions and factories.

    Raises:
        ValueError: E221 without `[nlp] lang`; E225 for a pipeline name without a
            `[components]` block; E222 for a block without a factory.
    """
    config = Config(config)
    if auto_fill:
        config = fill_config(config, validate=validate)
    interpolated = config.interpolate() if not config.is_interpolated else config
    nlp_cfg = interpolated["nlp"]
    if not nlp_cfg.get("lang"):
        raise ValueError(Errors.E221)
    makers = {k: nlp_cfg[k] for k in NLP_MAKERS if k in nlp_cfg}
    made = registry.resolve({"nlp": makers}, validate=validate)["nlp"]
    lang_cls = made["before_creation"](cls) if made.get("before_creation") else cls
    nlp = lang_cls(vocab, lang=nlp_cfg["lang"], create_tokenizer=made.get("tokenizer"),
                   meta=meta, batch_size=nlp_cfg.get("batch_size", 1000))
    if made.get("vectors") is not None:
        nlp.vocab.vectors = made["vectors"](nlp.vocab)
    if made.get("after_creation"):
        nlp = made["after_creation"](nlp)
    exclude = set(exclude)
    components = interpolated.get("components", {})
    for name in nlp_cfg.get("pipeline", []):
        if name in exclude:
            continue
        if name not in components:
            raise ValueError(Errors.E225.format(name=name))
        block = components[name]
        if "factory" not in block:
            raise ValueError(Errors.E222.format(name=name))
        nlp._components.append((name, nlp._build(name, block, validate=validate)))
        nlp._pipe_configs[name] = Config(config["components"][name])
    to_disable = set(nlp_cfg.get("disabled", [])) | set(disable)
    if enable is not None:
        to_disable |= {n for n in nlp.component_names if n not in set(enable)}
    for name in to_disable:
        if name in nlp.component_names:
            nlp.disable_pipe(name)
    nlp._link_components()
    if made.get("after_pipeline_creation"):
        nlp = made["after_pipeline_creation"](nlp)
    nlp._config = Config({k: v for k, v in config.items() if k != "components"},
                         section_order=config.section_order)
    return nlp
