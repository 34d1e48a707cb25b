"""Training configs: load, override, fill with defaults, and check for missing values.

A config is a confection `Config` (a nested dict read from an INI-style file) whose
`@registry = "name"` blocks refer to registered functions (see `registry.py`). Loading keeps
`${section.key}` variables unless asked to interpolate, so a filled config written back to
disk still shows them.

    config = load_config("config.cfg", overrides={"paths.train": "train.spacy"})
    filled = fill_config(config)          # what `init fill-config` writes
    validate_training_config(filled)      # raises, naming every missing key
"""
import copy
import inspect
import sys
import typing
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Sequence, Tuple, Union

import srsly
from confection import Config, ConfigValidationError

from .errors import Errors
from .registry import (
    FactoryMeta,
    RegistryNameError,
    ensure_builtins_registered,
    iter_promises,
    known_names,
    registry,
)

DEFAULT_CONFIG_PATH = Path(__file__).parent / "default_config.cfg"
DEFAULT_PRETRAINING_CONFIG_PATH = Path(__file__).parent / "default_config_pretraining.cfg"
DEFAULT_DISTILLATION_CONFIG_PATH = Path(__file__).parent / "default_config_distillation.cfg"
# The value a config author writes for "fill this in before training".
MISSING = "???"
TRAINING_SECTIONS = ("paths", "system", "nlp", "components", "corpora", "training",
                     "initialize")
SECTION_ORDER = [*TRAINING_SECTIONS, "pretraining", "distillation"]
# Names the default config and the `init config` templates use for functions that land with
# the training and pretraining code. Until they are registered, fill-config keeps their
# blocks as written (the defaults spell out every argument); resolving them still fails.
# Accepted only outside [nlp] and [components], where a wrong name would break the pipeline.
PLANNED_NAMES: Dict[str, Tuple[str, ...]] = {}


class MissingValuesError(ValueError):
    """A config lacks values it needs; `.missing` lists their dotted keys."""

    def __init__(self, message: str, missing: List[str]):
        super().__init__(message)
        self.missing = missing


# --- loading and overrides -----------------------------------------------------------------


def load_config(path: Union[str, Path], overrides: Dict[str, Any] | None = None,
                interpolate: bool = False) -> Config:
    """Read a config file ("-" reads stdin).

    Args:
        path: the .cfg file.
        overrides: dotted key -> value, e.g. {"paths.train": "train.spacy"}; the section
            must exist, the key need not.
        interpolate: replace `${section.key}` variables by their values.
    """
    if str(path) == "-":
        return load_config_from_str(sys.stdin.read(), overrides, interpolate)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(Errors.E203.format(path=path))
    return load_config_from_str(path.read_text(encoding="utf8"), overrides, interpolate,
                                source=str(path))


def load_config_from_str(text: str, overrides: Dict[str, Any] | None = None,
                         interpolate: bool = False, source: str = "<string>") -> Config:
    """Parse config text; arguments as in `load_config`."""
    overrides = dict(overrides or {})
    # confection drops a dict given for a whole section (`--training.batcher '{...}'`):
    # the section's own lines win. Such values replace the block after parsing.
    blocks = {key: value for key, value in overrides.items() if isinstance(value, dict)}
    plain = {key: value for key, value in overrides.items() if key not in blocks}
    try:
        config = Config().from_str(text, interpolate=interpolate and not blocks,
                                   overrides=plain)
    except ConfigValidationError as err:
        if plain and err.title == "Error parsing config overrides":
            sections = [".".join(e["loc"][:-1]) for e in err.errors]
            raise ValueError(Errors.E204.format(keys=", ".join(plain), source=source,
                                                sections=", ".join(sections))) from None
        raise ValueError(Errors.E205.format(source=source, detail=str(err).strip())) from None
    for key, value in blocks.items():
        *parents, name = key.split(".")
        node: Any = config
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if not parents or not isinstance(node, dict):
            raise ValueError(Errors.E204.format(keys=key, source=source,
                                                sections=".".join(parents) or key))
        node[name] = copy.deepcopy(value)
    if blocks and interpolate:
        config = config.interpolate()
    return config


def parse_config_overrides(args: Sequence[str]) -> Dict[str, Any]:
    """Turn command-line extras (`--paths.train x --training.max_steps=10`) into an
    overrides dict; values are read as JSON where they parse, else kept as strings."""
    result: Dict[str, Any] = {}
    args = list(args)
    while args:
        opt = args.pop(0)
        if not opt.startswith("--") or "." not in opt:
            raise ValueError(Errors.E206.format(arg=opt))
        opt = opt[2:]
        if "=" in opt:
            opt, value = opt.split("=", 1)
        elif args and not args[0].startswith("--"):
            value = args.pop(0)
        else:
            value = "true"
        try:
            result[opt.replace("-", "_")] = srsly.json_loads(value)
        except ValueError:
            result[opt.replace("-", "_")] = value
    return result


def get_default_config(pretraining: bool = False, distillation: bool = False) -> Config:
    """The default training config (plus the [pretraining] / [distillation] defaults if
    asked)."""
    config = load_config(DEFAULT_CONFIG_PATH)
    if pretraining:
        config = config.merge(load_config(DEFAULT_PRETRAINING_CONFIG_PATH))
    if distillation:
        config = config.merge(load_config(DEFAULT_DISTILLATION_CONFIG_PATH))
    return Config(config, section_order=SECTION_ORDER)


def get_dot(config: Dict[str, Any], key: str, default: Any = None) -> Any:
    """`get_dot(config, "training.optimizer.learn_rate")`."""
    node: Any = config
    for part in key.split("."):
        if not hasattr(node, "get") or part not in node:
            return default
        node = node[part]
    return node


# --- filling ---------------------------------------------------------------------------------


class _FactoryArgs:
    """Looks like a catalogue registry to confection: for factory `name` it returns a
    function with the factory's config parameters (no `nlp`, `name`) that returns its
    keyword arguments. Filling or resolving a `{"@_component": name, ...}` block through it
    validates a component's settings and builds its nested blocks without building it."""

    def __contains__(self, name: str) -> bool:
        return name in registry.factories

    def get_all(self) -> Dict[str, Any]:
        return registry.factories.get_all()

    def get(self, name: str) -> Callable[..., Dict[str, Any]]:
        meta: FactoryMeta = registry.factories.get(name)
        return _args_collector(meta.factory)


def _args_collector(factory: Callable) -> Callable[..., Dict[str, Any]]:
    params = list(inspect.signature(factory).parameters.values())[2:]
    hints = _setting_hints(factory, [p.name for p in params])
    params = [p.replace(annotation=hints.get(p.name, Any)) for p in params]

    def collect(**kwargs: Any) -> Dict[str, Any]:
        return kwargs

    collect.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return collect


def _setting_hints(factory: Callable, names: List[str]) -> Dict[str, Any]:
    """The resolved type hints of the factory's settings `names`. The `nlp` argument is
    left out: factories annotate it as "Language" without importing the pipeline class."""
    annotations = getattr(factory, "__annotations__", {})

    def settings() -> None: ...

    settings.__annotations__ = {k: v for k, v in annotations.items() if k in names}
    try:
        return typing.get_type_hints(settings, globalns=getattr(factory, "__globals__", None))
    except Exception:  # unresolvable forward references: accept any value
        return {}


class _ComponentRegistry(registry):
    _component = _FactoryArgs()


def _components_as_promises(config: Config) -> Config:
    """Copy of `config` where each `[components.X]` block that has a factory is a promise
    `{"@_component": factory, ...}`, with the factory's default config merged under it."""
    config = config.copy()
    for name, block in list(config.get("components", {}).items()):
        if "source" in block or "factory" not in block:
            continue
        factory = block["factory"]
        if factory not in registry.factories:
            raise RegistryNameError(Errors.E207.format(
                factory=factory, name=name, known=known_names(factory, registry.factories.get_all())))
        meta: FactoryMeta = registry.factories.get(factory)
        user = {k: v for k, v in block.items() if k != "factory"}
        merged = Config(meta.default_config).merge(user)
        config["components"][name] = {"@_component": factory, **merged}
    return config


def _components_from_promises(config: Dict[str, Any]) -> None:
    for name, block in list(config.get("components", {}).items()):
        if "@_component" in block:
            factory = block.pop("@_component")
            config["components"][name] = {"factory": factory, **block}


def fill_component(name: str, block: Dict[str, Any], *, validate: bool = True) -> Config:
    """The `[components.NAME]` block with the factory's defaults and every registered
    function's default arguments added; `block` holds `factory` and its settings."""
    promised = _components_as_promises(Config({"components": {name: dict(block)}}))
    filled = _ComponentRegistry.fill(promised, validate=validate)
    _components_from_promises(filled)
    return Config(filled["components"][name])


def resolve_component(name: str, block: Dict[str, Any], *,
                      validate: bool = True) -> Dict[str, Any]:
    """The keyword arguments of the factory of `[components.NAME]`, with nested blocks built
    (`model` becomes a thinc Model). `block` must be interpolated."""
    promised = _components_as_promises(Config({"components": {name: dict(block)}}))
    resolved = _ComponentRegistry.resolve(promised, validate=validate)
    return resolved["components"][name]


def _is_planned(path: str, reg_name: str, func_name: str) -> bool:
    if path.split(".")[0] in ("nlp", "components"):
        return False
    planned = PLANNED_NAMES.get(reg_name, ())
    return func_name in planned or func_name in {n.replace("nlp_core.", "spacy.", 1)
                                                 for n in planned}


def fill_config(config: Config, *, pretraining: bool = False, distillation: bool = False,
                validate: bool = True) -> Config:
    """Complete a partial config: add the sections and keys of the default config, each
    component factory's default config, and every registered function's default arguments.

    Args:
        config: the partial config (variables are kept).
        pretraining: also add the [pretraining] defaults.
        distillation: also add the [distillation] defaults.
        validate: check argument types of registered functions.

    Returns:
        The filled config.

    Raises:
        RegistryNameError: a block names an unregistered function or factory.
        MissingValuesError: a registered function's required argument has no value.
    """
    ensure_builtins_registered()
    config = get_default_config(pretraining, distillation).merge(config)
    _share_tok2vec_widths(config)
    promised = _components_as_promises(config)
    _ComponentRegistry.check_names(promised, skip=_is_planned)
    missing = _missing_arguments(promised)
    if missing:
        raise MissingValuesError(Errors.E202.format(
            n=len(missing), keys="\n".join(f"  - {k}" for k in missing),
            hint=Errors.E208), missing)
    filled = _ComponentRegistry.fill(promised, validate=validate, skip_names=_is_planned)
    _components_from_promises(filled)
    _fill_score_weights(filled)
    return Config(filled, section_order=SECTION_ORDER)


TOK2VEC_NAMES = ("spacy.Tok2Vec.v2", "nlp_core.Tok2Vec.v2")


def _share_tok2vec_widths(config: Dict[str, Any]) -> None:
    """A Tok2Vec's embed and encode layers must have one width: when a block sets it on one
    of them only (as the seed's static-vectors example does), the other takes the same."""
    for value in config.values():
        if not isinstance(value, dict):
            continue
        if value.get("@architectures") in TOK2VEC_NAMES:
            embed, encode = value.get("embed"), value.get("encode")
            if isinstance(embed, dict) and isinstance(encode, dict):
                if "width" in embed and "width" not in encode and _takes_width(encode):
                    encode["width"] = embed["width"]
                elif "width" in encode and "width" not in embed and _takes_width(embed):
                    embed["width"] = encode["width"]
        _share_tok2vec_widths(value)


def _takes_width(block: Dict[str, Any]) -> bool:
    """Whether the architecture of `block` has a `width` argument (a custom embedding such as
    the seed's `MyEmbedding(output_width)` has not)."""
    name = block.get("@architectures")
    if name not in registry.architectures:
        return False
    params = inspect.signature(registry.architectures.get(name)).parameters
    return "width" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def _fill_score_weights(config: Dict[str, Any]) -> None:
    """Set [training.score_weights] from the components' default weights when the user gave
    none: weights are normalised to sum to 1 over the pipeline."""
    training = config.get("training")
    if training is None or training.get("score_weights"):
        return
    weights: Dict[str, float | None] = {}
    for name in config.get("nlp", {}).get("pipeline", []):
        factory = config.get("components", {}).get(name, {}).get("factory")
        if factory in registry.factories:
            weights.update(registry.factories.get(factory).default_score_weights)
    total = sum(w for w in weights.values() if w)
    training["score_weights"] = {k: (round(w / total, 2) if w and total else w)
                                 for k, w in weights.items()}


# --- missing values --------------------------------------------------------------------------


def _required_params(func: Callable, skip: int = 0) -> List[str]:
    params = list(inspect.signature(func).parameters.values())[skip:]
    return [p.name for p in params if p.default is p.empty
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _missing_arguments(config: Dict[str, Any]) -> List[str]:
    """Dotted keys of required arguments absent from registered function blocks."""
    missing = []
    for path, reg_name, func_name, block in iter_promises(config):
        reg = getattr(_ComponentRegistry, reg_name, None)
        if reg is None or func_name not in reg:
            continue
        func = reg.get(func_name)
        for param in _required_params(func):
            if param not in block and not (param == "args" and "*" in block):
                missing.append(f"{path}.{param}")
    return missing


def _iter_values(config: Dict[str, Any], parent: str = "") -> Iterator[Tuple[str, Any]]:
    for key, value in config.items():
        path = f"{parent}.{key}" if parent else str(key)
        if hasattr(value, "items"):
            yield from _iter_values(value, path)
        else:
            yield path, value


def find_missing(config: Config, *, require_paths: bool = False) -> List[str]:
    """Dotted keys a training config lacks: absent sections and keys of the defaults,
    `???` placeholders, pipeline names without a [components] block, component blocks
    without a factory, and required arguments of registered functions and factories.

    Args:
        config: the (filled) config, with or without variables interpolated.
        require_paths: also count an empty `path` of the train and dev readers.
    """
    ensure_builtins_registered()
    missing: List[str] = []
    defaults = get_default_config()
    for section in TRAINING_SECTIONS:
        if section not in config:
            missing.append(section)
        elif section in ("system", "nlp", "training", "initialize"):
            missing.extend(f"{section}.{key}" for key in defaults[section]
                           if key not in config[section])
    missing.extend(path for path, value in _iter_values(config) if value == MISSING)
    nlp = config.get("nlp", {})
    if "lang" in nlp and nlp["lang"] is None:
        missing.append("nlp.lang")
    components = config.get("components", {})
    missing.extend(f"components.{name}" for name in nlp.get("pipeline", [])
                   if name not in components)
    for name, block in components.items():
        if "factory" not in block and "source" not in block:
            missing.append(f"components.{name}.factory")
    for key in ("train_corpus", "dev_corpus"):
        target = config.get("training", {}).get(key)
        if target is not None and get_dot(config, target) is None:
            missing.append(target)
    try:
        promised = _components_as_promises(config)
    except RegistryNameError:
        promised = config
    missing.extend(_missing_arguments(promised))
    if require_paths:
        missing.extend(_missing_corpus_paths(config))
    return list(dict.fromkeys(missing))


def _missing_corpus_paths(config: Config) -> List[str]:
    try:
        interpolated = Config(config).interpolate()
    except ConfigValidationError:
        return []
    missing = []
    for key in ("train_corpus", "dev_corpus"):
        target = get_dot(interpolated, f"training.{key}")
        block = get_dot(interpolated, target) if target else None
        if hasattr(block, "get") and "path" in block and block["path"] is None:
            raw = get_dot(config, f"{target}.path")
            missing.append(raw.strip("${}") if isinstance(raw, str) and raw.startswith("${")
                           else f"{target}.path")
    return missing


def validate_training_config(config: Config, *, require_paths: bool = False) -> None:
    """Raise MissingValuesError naming every missing value (see `find_missing`)."""
    missing = find_missing(config, require_paths=require_paths)
    if missing:
        raise MissingValuesError(Errors.E202.format(
            n=len(missing), keys="\n".join(f"  - {k}" for k in missing), hint=Errors.E209),
            missing)


__all__ = ["Config", "load_config", "load_config_from_str", "parse_config_overrides",
           "get_default_config", "fill_config", "fill_component", "resolve_component", "find_missing", "validate_training_config",
           "MissingValuesError", "get_dot", "MISSING", "ensure_builtins_registered"]
