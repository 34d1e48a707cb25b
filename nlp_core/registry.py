"""Function registries that config blocks (`@architectures = "..."`) refer to.

This module sits at the bottom of the import graph (it imports only `errors`), so the code
that defines a layer, reader or component registers it right where it is written:

    from nlp_core.registry import registry

    @registry.architectures("nlp_core.Tok2Vec.v2", aliases=["spacy.Tok2Vec.v2"])
    def Tok2Vec(embed, encode): ...

Components register the same way, `@registry.factory("tagger", default_config=...)` for a
factory `make(nlp, name, **settings)` or `@registry.component("name")` for a function
`doc -> doc` (`Language.factory` / `Language.component` are the same functions), so
`pipeline/*` need not import the pipeline object. `ensure_builtins_registered()` imports the
built-in packages by name the first time a name is missing.

Names are versioned; a released name never changes behaviour. The `aliases` are the names
the spaCy documentation uses, so configs written for spaCy resolve unchanged. thinc's own
registries (`layers`, `optimizers`, `schedules`, `initializers`, `losses`, `ops`, `datasets`)
are shared, not copied: `Adam.v1`, `warmup_linear.v1`, `reduce_mean.v1` … resolve as-is.
"""
import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, List, Sequence, Tuple

import catalogue
import thinc.api  # noqa: F401  (importing it registers thinc's layers, optimizers, schedules)
import thinc.config

from .errors import Errors, nearest

# Registries owned by nlp_core, in the order `registry.names()` lists them.
OWN_REGISTRIES = (
    "architectures", "tokenizers", "factories", "readers", "batchers", "loggers", "callbacks",
    "span_getters", "annotation_setters", "scorers", "vectors", "augmenters", "misc",
)
# Registries inherited from thinc (same catalogue objects, so names registered there count).
THINC_REGISTRIES = ("layers", "optimizers", "schedules", "initializers", "losses", "ops",
                    "datasets")


class RegistryNameError(ValueError):
    """A config block names a function that is not in its registry."""


class Registry(catalogue.Registry):
    """A catalogue registry whose entries may also be registered under alias names.

    Both the versioned name and each alias map to the same function; `get_all()` lists
    every name, and `aliases_of(name)` lists the names sharing one function.
    """

    def register(self, name: str, *, func: Any | None = None,
                 aliases: Iterable[str] = ()) -> Callable:
        aliases = tuple(aliases)

        def do_registration(f: Any) -> Any:
            for each in (name, *aliases):
                catalogue._set(list(self.namespace) + [each], f)
            return f

        if func is not None:
            return do_registration(func)
        return do_registration

    def __call__(self, name: str, func: Any | None = None,
                 aliases: Iterable[str] = ()) -> Callable:
        return self.register(name, func=func, aliases=aliases)

    def get(self, name: str) -> Any:
        if name not in self:
            raise RegistryNameError(Errors.E200.format(
                registry=self.namespace[-1], name=name, where="",
                known=known_names(name, self.get_all()),
            ))
        return super().get(name)


@dataclass
class FactoryMeta:
    """What `registry.factories` holds for each component factory name.

    Attributes:
        name: the factory name a `[components.X]` block refers to (`factory = "tagger"`).
        factory: `factory(nlp, name, **config) -> component`.
        default_config: the config under which a user's `[components.X]` block is merged
            (it may hold nested `@architectures` blocks, e.g. the default model).
        assigns / requires: the Doc/Token attributes it writes / reads ("token.tag").
        retokenizes: whether it changes tokenization.
        default_score_weights: score name -> weight (None: reported but not weighted);
            combined into `[training.score_weights]` by fill-config.
    """

    name: str
    factory: Callable
    default_config: Dict[str, Any] = field(default_factory=dict)
    assigns: Tuple[str, ...] = ()
    requires: Tuple[str, ...] = ()
    retokenizes: bool = False
    default_score_weights: Dict[str, float | None] = field(default_factory=dict)


def register_with_aliases(reg: catalogue.Registry, name: str, aliases: Iterable[str] = (),
                          func: Any | None = None) -> Callable:
    """Register `func` (or decorate it) under `name` and every alias in any catalogue
    registry, including thinc's (`registry.layers`), which lack the `aliases` keyword."""

    def do_registration(f: Any) -> Any:
        for each in (name, *aliases):
            reg.register(each, func=f)
        return f

    if func is not None:
        return do_registration(func)
    return do_registration


def aliases_of(reg: catalogue.Registry, name: str) -> List[str]:
    """All names in `reg` that map to the same object as `name` (sorted, `name` included)."""
    target = reg.get(name)
    return sorted(n for n, f in reg.get_all().items() if f is target)


def known_names(name: str, known: Iterable[str]) -> str:
    """The known names closest to `name` for an error message, or a note that none exist."""
    known = list(known)
    return nearest(name, known) if known else "none (nothing is registered there yet)"


# Modules and packages whose import registers the built-in names: the [nlp] block's makers,
# then each package whose __init__ imports its registering modules.
BUILTIN_MODULES = ("nlp_core.nlp_makers", "nlp_core.ml", "nlp_core.pipeline",
                   "nlp_core.training")


def ensure_builtins_registered() -> None:
    """Import the built-in modules so that their registered names resolve.

    They are imported by name: this module sits below everything that registers, so
    reaching up to them with an `import` statement would make a cycle.
    """
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def _accept_none(path: str, registry_name: str, func_name: str) -> bool:
    return False


class registry(thinc.config.registry):
    """The confection registry of nlp_core: `registry.resolve(config)` builds every
    `@registry = "name"` block; `registry.fill(config)` adds default arguments.

    Unknown names fail with the config key, the registry and the nearest known names.
    """

    architectures = Registry(("nlp_core", "architectures"))
    tokenizers = Registry(("nlp_core", "tokenizers"))
    factories = Registry(("nlp_core", "factories"))
    readers = Registry(("nlp_core", "readers"))
    batchers = Registry(("nlp_core", "batchers"))
    loggers = Registry(("nlp_core", "loggers"))
    callbacks = Registry(("nlp_core", "callbacks"))
    span_getters = Registry(("nlp_core", "span_getters"))
    annotation_setters = Registry(("nlp_core", "annotation_setters"))
    scorers = Registry(("nlp_core", "scorers"))
    vectors = Registry(("nlp_core", "vectors"))
    augmenters = Registry(("nlp_core", "augmenters"))
    misc = Registry(("nlp_core", "misc"))

    @classmethod
    def names(cls) -> Tuple[str, ...]:
        """Names of every registry a config block may refer to (`@<name> = ...`)."""
        return OWN_REGISTRIES + THINC_REGISTRIES

    @classmethod
    def get(cls, registry_name: str, func_name: str) -> Callable:
        if registry_name not in cls.names() and not hasattr(cls, registry_name):
            raise RegistryNameError(Errors.E201.format(
                registry=registry_name, where="", known=known_names(registry_name, cls.names())))
        reg = getattr(cls, registry_name)
        if func_name not in reg:
            raise RegistryNameError(Errors.E200.format(
                registry=registry_name, name=func_name, where="",
                known=known_names(func_name, reg.get_all())))
        return reg.get(func_name)

    @classmethod
    def check_names(cls, config: Dict[str, Any], *,
                    skip: Callable[[str, str, str], bool] = _accept_none) -> None:
        """Raise RegistryNameError for the first `@registry = "name"` block in `config`
        whose registry or name is unknown, naming its dotted key path.

        Args:
            config: a (possibly nested) config dict.
            skip: `skip(key_path, registry_name, func_name)` -> True to accept an unknown
                name at that place.
        """
        for path, reg_name, func_name, _ in iter_promises(config):
            if not hasattr(cls, reg_name):
                raise RegistryNameError(Errors.E201.format(
                    registry=reg_name, where=f" at [{path}]",
                    known=known_names(reg_name, cls.names())))
            reg = getattr(cls, reg_name)
            if func_name not in reg and not skip(path, reg_name, func_name):
                raise RegistryNameError(Errors.E200.format(
                    registry=reg_name, name=func_name, where=f" at [{path}]",
                    known=known_names(func_name, reg.get_all())))

    @classmethod
    def resolve(cls, config, *, skip_names: Callable[[str, str, str], bool] | None = None,
                **kwargs) -> Dict[str, Any]:
        """confection's resolve, after `check_names(config, skip=skip_names)`."""
        cls.check_names(config, skip=skip_names or _accept_none)
        return super().resolve(config, **kwargs)

    @classmethod
    def fill(cls, config, *, skip_names: Callable[[str, str, str], bool] | None = None,
             **kwargs):
        """confection's fill, after `check_names(config, skip=skip_names)`; in confection an
        unknown name would be left unfilled without a word."""
        cls.check_names(config, skip=skip_names or _accept_none)
        return super().fill(config, **kwargs)

    @classmethod
    def factory(cls, name: str, *, default_config: Dict[str, Any] | None = None,
                assigns: Sequence[str] = (), requires: Sequence[str] = (),
                retokenizes: bool = False, default_score_weights: Dict | None = None,
                aliases: Sequence[str] = (), func: Callable | None = None) -> Callable:
        """Register a component factory `func(nlp, name, **settings) -> component` under
        `name` (and `aliases`); used as a decorator when `func` is None.

        Args:
            name: the factory name a `[components.X]` block refers to.
            default_config: the settings a `[components.X]` block may leave out, e.g. its
                default `model` block.
            assigns / requires / retokenizes / default_score_weights: see `FactoryMeta`.
            aliases: further names for the same factory.
            func: the factory, when not used as a decorator.

        Returns:
            The factory itself (or a decorator that registers and returns it).
        """

        def add_factory(factory: Callable) -> Callable:
            meta = FactoryMeta(name=name, factory=factory,
                               default_config=dict(default_config or {}),
                               assigns=tuple(assigns), requires=tuple(requires),
                               retokenizes=retokenizes,
                               default_score_weights=dict(default_score_weights or {}))
            cls.factories.register(name, func=meta, aliases=aliases)
            return factory

        return add_factory(func) if func is not None else add_factory

    @classmethod
    def component(cls, name: str, *, assigns: Sequence[str] = (), requires: Sequence[str] = (),
                  retokenizes: bool = False, func: Callable | None = None) -> Callable:
        """Register a stateless function `doc -> doc` as a component without settings;
        used as a decorator when `func` is None.

        Returns:
            The function itself (or a decorator that registers and returns it).
        """

        def add_component(function: Callable) -> Callable:
            def make(nlp: Any, name: str) -> Callable:
                return function

            cls.factory(name, assigns=assigns, requires=requires, retokenizes=retokenizes,
                        func=make)
            return function

        return add_component(func) if func is not None else add_component

    @classmethod
    def get_factory_meta(cls, factory_name: str) -> FactoryMeta:
        """What was registered for the component factory `factory_name`.

        Raises:
            ValueError: E207 naming the closest registered factories.
        """
        if factory_name not in cls.factories:
            ensure_builtins_registered()
        if factory_name not in cls.factories:
            raise ValueError(Errors.E207.format(
                factory=factory_name, name="?",
                known=known_names(factory_name, cls.factories.get_all())))
        return cls.factories.get(factory_name)

    @classmethod
    def listing(cls) -> Dict[str, List[str]]:
        """Every registry and its sorted names: what a config can refer to right now."""
        return {name: sorted(getattr(cls, name).get_all()) for name in cls.names()}


def iter_promises(config: Any, parent: str = ""
                  ) -> Iterator[Tuple[str, str, str, Dict[str, Any]]]:
    """Yield `(dotted_key, registry_name, func_name, block)` for each `@registry` block,
    outer blocks before the blocks nested in them."""
    if not hasattr(config, "items"):
        return
    refs = [(k[1:], v) for k, v in config.items() if isinstance(k, str) and k.startswith("@")]
    for reg_name, func_name in refs:
        yield parent, reg_name, func_name, config
    for key, value in config.items():
        if hasattr(value, "items"):
            yield from iter_promises(value, f"{parent}.{key}" if parent else str(key))


__all__ = ["registry", "Registry", "FactoryMeta", "known_names", "RegistryNameError",
           "register_with_aliases", "aliases_of", "iter_promises", "ensure_builtins_registered",
           "BUILTIN_MODULES"]
