"""The pipeline object: a tokenizer plus named components run in order over each Doc.

    nlp = nlp_core.blank("en")
    nlp.add_pipe("tagger")                    # a factory registered with Language.factory
    doc = nlp("A sentence.")
    docs = list(nlp.pipe(texts, batch_size=256, n_process=4))
    nlp.to_disk("out/")                       # config.cfg, meta.json, vocab/, one dir per pipe
    nlp = nlp_core.load("out/")
    optimizer = nlp.initialize(lambda: train_examples)   # labels and shapes from the data
    losses = nlp.update(batch, sgd=optimizer)            # one training step over Examples
    scores = nlp.evaluate(dev_examples)                  # token_acc, tag_acc, speed, ...

A component is built by its factory, `factory(nlp, name, **settings) -> component`, from a
`[components.NAME]` config block; it is called as `component(doc) -> doc` and, if it has
them, `component.pipe(docs, batch_size=...)`, `component.to_disk(path)` and
`component.from_disk(path) -> component`. Saving writes data only; loading rebuilds every
component from config.cfg, then reads its data. Nothing is ever pickled.
"""
import itertools
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Sequence, Tuple, Union

import srsly
from confection import Config

from .config import (
    ensure_builtins_registered,
    fill_component,
    fill_config,
    get_default_config,
    resolve_component,
)
from .errors import Errors
from .pipeline_files import UnreadableFileError, parsing, read_json
from .pipeline_packages import call_entry_point, find_pipeline_package
from .registry import FactoryMeta, known_names, registry
from .tokens import Doc
from .vocab import Vocab

PipeEntry = Tuple[str, Callable[[Doc], Doc]]


@registry.tokenizers("nlp_core.Tokenizer.v1", aliases=["spacy.Tokenizer.v1"])
def make_default_tokenizer() -> Callable[["Language"], Callable[[str], Doc]]:
    """The rule-based tokenizer of the pipeline's language (`[nlp.tokenizer]`)."""

    def create(nlp: "Language") -> Callable[[str], Doc]:
        from .tokenizer import create_tokenizer

        return create_tokenizer(nlp.vocab, nlp.defaults)

    return create


@registry.vectors("nlp_core.Vectors.v1", aliases=["spacy.Vectors.v1"])
def make_default_vectors() -> Callable[[Vocab], Any]:
    """The vocab's static vectors table (`[nlp.vectors]`): empty until loaded from disk or
    from `[initialize] vectors`."""

    def create(vocab: Vocab) -> Any:
        return vocab.vectors

    return create


class Language:
    """A tokenizer and a pipeline of named components.

    Args:
        vocab: the shared Vocab; by default a new one with the language's lexical attributes.
        lang: language code ("en", "xx" for any language); defaults to `vocab.lang` or "xx".
        create_tokenizer: `create(nlp) -> tokenizer`; defaults to the language's rules.
        meta: meta.json fields (name, version, description, ...).
        batch_size: default batch size of `nlp.pipe`.
    """

    def __init__(self, vocab: Vocab | None = None, *, lang: str | None = None,
                 create_tokenizer: Callable[["Language"], Callable] | None = None,
                 meta: Dict[str, Any] | None = None, batch_size: int = 1000):
        from .lang import get_lang_defaults

        self.lang = lang or (vocab.lang if vocab is not None and vocab.lang else "xx")
        self.defaults = get_lang_defaults(self.lang)
        if vocab is None:
            vocab = Vocab(lex_attr_getters=getattr(self.defaults, "lex_attr_getters", None),
                          lang=self.lang)
        self.vocab = vocab
        self.batch_size = batch_size
        self._meta = dict(meta or {})
        self._components: List[PipeEntry] = []
        self._disabled: set = set()
        self._pipe_configs: Dict[str, Config] = {}
        self._config = get_default_config()
        self._config["nlp"]["lang"] = self.lang
        self._optimizer: Any = None
        self.tokenizer = (create_tokenizer or make_default_tokenizer())(self)

    # --- factories ----------------------------------------------------------------------

    @classmethod
    def factory(cls, name: str, *, default_config: Dict[str, Any] | None = None,
                assigns: Sequence[str] = (), requires: Sequence[str] = (),
                retokenizes: bool = False, default_score_weights: Dict | None = None,
                aliases: Sequence[str] = (), func: Callable | None = None) -> Callable:
        """Register a component factory `func(nlp, name, **settings) -> component` under
        `name` (and `aliases`). `default_config` holds the settings a `[components.X]` block
        may leave out, e.g. its default `model` block."""

        def add_factory(factory: Callable) -> Callable:
            meta = FactoryMeta(name=name, factory=factory,
                               default_config=dict(default_config or {}),
                               assigns=tuple(assigns), requires=tuple(requires),
                               retokenizes=retokenizes,
                               default_score_weights=dict(default_score_weights or {}))
            registry.factories.register(name, func=meta, aliases=aliases)
            return factory

        return add_factory(func) if func is not None else add_factory

    @classmethod
    def component(cls, name: str, *, assigns: Sequence[str] = (), requires: Sequence[str] = (),
                  retokenizes: bool = False, func: Callable[[Doc], Doc] | None = None
                  ) -> Callable:
        """Register a stateless function `doc -> doc` as a component without settings."""

        def add_component(function: Callable[[Doc], Doc]) -> Callable[[Doc], Doc]:
            def make(nlp: "Language", name: str) -> Callable[[Doc], Doc]:
                return function

            cls.factory(name, assigns=assigns, requires=requires, retokenizes=retokenizes,
                        func=make)
            return function

        return add_component(func) if func is not None else add_component

    @staticmethod
    def get_factory_meta(factory_name: str) -> FactoryMeta:
        if factory_name not in registry.factories:
            ensure_builtins_registered()
        if factory_name not in registry.factories:
            raise ValueError(Errors.E207.format(
                factory=factory_name, name="?",
                known=known_names(factory_name, registry.factories.get_all())))
        return registry.factories.get(factory_name)

    # --- pipeline -----------------------------------------------------------------------

    @property
    def components(self) -> List[PipeEntry]:
        """All (name, component) pairs, disabled ones included."""
        return list(self._components)

    @property
    def component_names(self) -> List[str]:
        return [name for name, _ in self._components]

    @property
    def pipeline(self) -> List[PipeEntry]:
        """The enabled (name, component) pairs, in the order they run."""
        return [(n, p) for n, p in self._components if n not in self._disabled]

    @property
    def pipe_names(self) -> List[str]:
        return [name for name, _ in self.pipeline]

    @property
    def disabled(self) -> List[str]:
        return [name for name in self.component_names if name in self._disabled]

    @property
    def pipe_factories(self) -> Dict[str, str]:
        return {name: cfg["factory"] for name, cfg in self._pipe_configs.items()}

    def _check_name(self, name: str) -> None:
        if name not in self.component_names:
            raise KeyError(Errors.E214.format(name=name, names=self.component_names,
                                              known=known_names(name, self.component_names)))

    def get_pipe(self, name: str) -> Callable[[Doc], Doc]:
        self._check_name(name)
        return dict(self._components)[name]

    def has_pipe(self, name: str) -> bool:
        return name in self.component_names

    def add_pipe(self, factory_name: str, name: str | None = None, *,
                 before: Union[str, int] | None = None,
                 after: Union[str, int] | None = None, first: bool = False,
                 last: bool = False, config: Dict[str, Any] | None = None,
                 validate: bool = True) -> Callable[[Doc], Doc]:
        """Build a component with the factory `factory_name` and add it to the pipeline.

        Args:
            factory_name: a name registered with `Language.factory` / `Language.component`.
            name: the component's name in this pipeline (default: the factory name).
            before, after: the name or index of the component to insert it next to.
            first, last: insert at the start / end (the default).
            config: settings overriding the factory's default config.
            validate: check the settings against the factory's signature.

        Returns:
            The new component.
        """
        if not isinstance(factory_name, str):
            raise ValueError(Errors.E212.format(type=type(factory_name).__name__))
        name = name or factory_name
        if "." in name:
            raise ValueError(Errors.E230.format(name=name))
        if name in self.component_names:
            raise ValueError(Errors.E213.format(name=name, names=self.component_names))
        index = self._insert_index(before, after, first, last)
        self.get_factory_meta(factory_name)
        block = fill_component(name, {"factory": factory_name, **(config or {})},
                               validate=validate)
        component = self._build(name, block, validate=validate)
        self._components.insert(index, (name, component))
        self._pipe_configs[name] = block
        self._link_components()
        return component

    def _build(self, name: str, block: Dict[str, Any], *, validate: bool) -> Callable:
        meta = self.get_factory_meta(block["factory"])
        settings = resolve_component(name, block, validate=validate)
        return meta.factory(self, name, **settings)

    def _insert_index(self, before, after, first: bool, last: bool) -> int:
        given = [x for x in (before, after) if x is not None] + [x for x in (first, last) if x]
        if len(given) > 1:
            raise ValueError(Errors.E215.format(before=before, after=after, first=first,
                                                last=last))
        names = self.component_names
        if first:
            return 0
        for ref, offset in ((before, 0), (after, 1)):
            if ref is None:
                continue
            if isinstance(ref, int):
                if not 0 <= ref < len(names):
                    raise ValueError(Errors.E216.format(ref=ref, names=names))
                return ref + offset
            if ref not in names:
                raise ValueError(Errors.E216.format(ref=ref, names=names))
            return names.index(ref) + offset
        return len(names)

    def remove_pipe(self, name: str) -> PipeEntry:
        """Remove the component `name`; returns its (name, component) pair."""
        self._check_name(name)
        index = self.component_names.index(name)
        entry = self._components.pop(index)
        self._pipe_configs.pop(name, None)
        self._disabled.discard(name)
        self._link_components()
        return entry

    def rename_pipe(self, old_name: str, new_name: str) -> None:
        self._check_name(old_name)
        if new_name in self.component_names:
            raise ValueError(Errors.E213.format(name=new_name, names=self.component_names))
        index = self.component_names.index(old_name)
        self._components[index] = (new_name, self._components[index][1])
        self._pipe_configs[new_name] = self._pipe_configs.pop(old_name)
        if old_name in self._disabled:
            self._disabled.discard(old_name)
            self._disabled.add(new_name)
        self._link_components()

    def disable_pipe(self, name: str) -> None:
        self._check_name(name)
        self._disabled.add(name)

    def enable_pipe(self, name: str) -> None:
        self._check_name(name)
        self._disabled.discard(name)

    def select_pipes(self, *, disable: Union[str, Iterable[str]] | None = None,
                     enable: Union[str, Iterable[str]] | None = None) -> "DisabledPipes":
        """Disable components, either those named in `disable` or all but those in `enable`.
        Use as a context manager (`with nlp.select_pipes(enable=["tagger"]): ...`) or call
        `.restore()` on the result to re-enable them."""
        if disable is None and enable is None:
            raise ValueError(Errors.E218)
        disable = [disable] if isinstance(disable, str) else list(disable or [])
        if enable is not None:
            enable = [enable] if isinstance(enable, str) else list(enable)
            for name in enable:
                self._check_name(name)
            to_disable = [n for n in self.pipe_names if n not in enable]
            if disable and set(disable) != set(to_disable):
                raise ValueError(Errors.E228.format(disable=disable, enable=enable,
                                                    names=self.component_names))
            disable = to_disable
        for name in disable:
            self._check_name(name)
        disable = [n for n in disable if n not in self._disabled]
        for name in disable:
            self.disable_pipe(name)
        return DisabledPipes(self, disable)

    # --- running ------------------------------------------------------------------------

    def make_doc(self, text: str) -> Doc:
        return self.tokenizer(text)

    def _ensure_doc(self, doc_like: Union[str, Doc]) -> Doc:
        if isinstance(doc_like, Doc):
            return doc_like
        if isinstance(doc_like, str):
            return self.make_doc(doc_like)
        raise TypeError(Errors.E210.format(type=type(doc_like).__name__))

    def __call__(self, text: Union[str, Doc]) -> Doc:
        """Tokenize `text` (a pre-tokenized Doc keeps its tokens) and run the pipeline."""
        doc = self._ensure_doc(text)
        for name, proc in self.pipeline:
            doc = _checked(name, proc(doc))
        return doc

    def pipe(self, texts: Iterable[Any], *, as_tuples: bool = False,
             batch_size: int | None = None, n_process: int = 1) -> Iterator[Any]:
        """Process a stream of texts (or Docs) and yield Docs in the same order.

        Args:
            texts: strs or pre-tokenized Docs; with `as_tuples`, `(text, context)` pairs.
            as_tuples: yield `(doc, context)` pairs.
            batch_size: docs per batch given to components with a `pipe` method.
            n_process: worker processes (-1: one per CPU). Workers load the pipeline from
                a temporary `to_disk` copy; docs travel as msgpack bytes.
        """
        batch_size = batch_size or self.batch_size
        if as_tuples:
            pairs1, pairs2 = itertools.tee(_checked_pairs(texts))
            docs = self.pipe((t for t, _ in pairs1), batch_size=batch_size, n_process=n_process)
            yield from zip(docs, (c for _, c in pairs2))
            return
        if n_process == -1:
            import os

            n_process = os.cpu_count() or 1
        if not isinstance(n_process, int) or n_process < 1:
            raise ValueError(Errors.E226.format(n_process=n_process))
        if n_process > 1:
            from .util import pipe_in_processes

            yield from pipe_in_processes(self, texts, n_process=n_process, batch_size=batch_size)
            return
        docs: Iterable[Doc] = (self._ensure_doc(text) for text in texts)
        for name, proc in self.pipeline:
            if hasattr(proc, "pipe"):
                docs = proc.pipe(docs, batch_size=batch_size)
            else:
                docs = (_checked(name, proc(doc)) for doc in docs)
        yield from docs

    # --- training -----------------------------------------------------------------------

    def _link_components(self) -> None:
        """Connect each embedding component (one with `find_listeners`, e.g. tok2vec) to
        the listener layers in the other components' models. A listener with upstream
        "NAME" belongs to component NAME; one with "*" to the nearest embedding component
        before its own component. Runs whenever the pipeline changes."""
        embedders = [(i, proc) for i, (_, proc) in enumerate(self._components)
                     if hasattr(proc, "find_listeners")]
        for name, proc in self._components:
            if getattr(proc, "is_trainable", False) and hasattr(proc, "name"):
                proc.name = name
        for _, proc in embedders:
            proc.remove_listeners()
        for j, (name, proc) in enumerate(self._components):
            before = [embedder for i, embedder in embedders if i < j]
            nearest = before[-1] if before else None
            for i, embedder in embedders:
                if i != j:
                    embedder.find_listeners(proc, name=name, wildcard=embedder is nearest)

    def _initialize_settings(self) -> Dict[str, Any]:
        """The resolved `[initialize]` block of this pipeline's config."""
        config = self.config
        if "initialize" not in config:
            return {}
        interpolated = Config(config).interpolate()
        return registry.resolve({"initialize": interpolated["initialize"]},
                                validate=False)["initialize"]

    def initialize(self, get_examples: Callable[[], Iterable[Any]] | None = None, *,
                   sgd: Any = None) -> Any:
        """Initialise the components for training (labels and weight shapes from the data)
        and return the optimizer.

        Reads `[initialize]` from the config: `components.NAME` settings go to that
        component's `initialize` (e.g. `labels`); `init_tok2vec` loads pretrained weights
        into the embedding layer ([pretraining] component / layer); `before_init` /
        `after_init` are called with the pipeline.

        Args:
            get_examples: returns the training Examples (iterated once per component that
                collects labels, so it must return a fresh iterable on each call). Without
                it, components are initialised from one placeholder example, so labels
                must come from `[initialize.components]`.
            sgd: the optimizer to return; default: `create_optimizer()`.

        Returns:
            The optimizer (also kept for `update` calls without `sgd`).
        """

        if get_examples is None:
            get_examples = self._placeholder_examples
        settings = self._initialize_settings()
        if settings.get("before_init") is not None:
            settings["before_init"](self)
        if settings.get("vectors") is not None and self.vocab.vectors is None:
            raise NotImplementedError(Errors.E364.format(path=settings["vectors"]))
        for key, what in (("vocab_data", "lexeme data tables"),
                          ("lookups", "lookup tables (lemmatizer data)")):
            if settings.get(key) is not None:
                raise NotImplementedError(Errors.E365.format(key=key, value=settings[key],
                                                                 what=what))
        if hasattr(self.tokenizer, "initialize"):
            self.tokenizer.initialize(get_examples, nlp=self,
                                      **dict(settings.get("tokenizer") or {}))
        self._link_components()
        component_settings = settings.get("components") or {}
        for name, proc in self.pipeline:
            if hasattr(proc, "initialize"):
                kwargs = dict(component_settings.get(name) or {})
                if _accepts(proc.initialize, "nlp"):
                    kwargs["nlp"] = self
                proc.initialize(get_examples, **kwargs)
        if settings.get("init_tok2vec") is not None:
            self._load_init_tok2vec(settings["init_tok2vec"])
        if settings.get("after_init") is not None:
            settings["after_init"](self)
        self._optimizer = sgd if sgd is not None else self.create_optimizer()
        return self._optimizer

    def _placeholder_examples(self) -> List[Any]:
        from .training.example import Example

        doc = Doc(self.vocab, words=["x", "y", "z"])
        return [Example(doc, doc.copy())]

    def _load_init_tok2vec(self, path: Union[str, Path]) -> None:
        """Load pretrained weights (thinc msgpack bytes, as `pretrain` writes them) into
        `[pretraining] component` (default "tok2vec"), or its `layer` ref if set."""

        path = Path(path)
        if not path.is_file():
            raise OSError(Errors.E366.format(path=str(path)))
        pretraining = self._config.get("pretraining") or {}
        component = pretraining.get("component") or "tok2vec"
        layer = pretraining.get("layer") or ""
        if component not in self.component_names:
            raise ValueError(Errors.E368.format(component=component,
                                                    names=self.component_names))
        model = self.get_pipe(component).model
        if layer:
            model = model.get_ref(layer)
        try:
            model.from_bytes(path.read_bytes())
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(Errors.E367.format(
                path=str(path), component=component,
                layer=f" (layer {layer!r})" if layer else "", detail=err)) from None

    def resume_training(self, *, sgd: Any = None) -> Any:
        """Continue training an already initialised pipeline: keeps the weights and labels,
        returns the optimizer (`sgd`, the current one, or a new `create_optimizer()`)."""
        self._link_components()
        if sgd is not None:
            self._optimizer = sgd
        elif getattr(self, "_optimizer", None) is None:
            self._optimizer = self.create_optimizer()
        return self._optimizer

    def create_optimizer(self) -> Any:
        """The optimizer of `[training.optimizer]` (thinc's Adam with defaults when the
        config has none)."""
        from thinc.api import Adam

        block = self.config.get("training", {}).get("optimizer")
        if not block:
            return Adam()
        config = Config(self.config).interpolate()
        return registry.resolve({"optimizer": config["training"]["optimizer"]})["optimizer"]

    def update(self, examples: Iterable[Any], *, drop: float = 0.0, sgd: Any = None,
               losses: Dict[str, float] | None = None, exclude: Iterable[str] = (),
               annotates: Iterable[str] = ()) -> Dict[str, float]:
        """Learn from one batch of Examples.

        Each enabled component runs in order: a trainable one not in `exclude` updates
        (forward, loss, backprop); one named in `annotates` then writes its predictions on
        the examples' predicted docs, so later components see them. A component in
        `exclude` (frozen) is not updated, but still runs when it is in `annotates` or when
        components being updated listen to it (they then get its output without gradient).
        Finally each updated component applies the optimizer step (`finish_update`).

        Args:
            examples: Examples; their predicted docs are what the components see.
            drop: dropout rate.
            sgd: the optimizer; None: the one from `initialize` (or a new one); False: no
                step (gradients accumulate, e.g. for gradient accumulation).
            losses: accumulates each component's loss under its name.
            exclude: frozen components.
            annotates: components whose predictions later components see in training.

        Returns:
            The losses dict.
        """
        from .training.example import Example

        losses = {} if losses is None else losses
        examples = list(examples)
        for eg in examples:
            if not isinstance(eg, Example):
                raise TypeError(Errors.E363.format(method="Language.update",
                                                       type=type(eg).__name__))
        if not examples:
            return losses
        if sgd is None:
            if getattr(self, "_optimizer", None) is None:
                self._optimizer = self.create_optimizer()
            sgd = self._optimizer
        exclude, annotates = set(exclude), set(annotates)
        pipeline = self.pipeline
        trained = {name for name, proc in pipeline
                   if name not in exclude and getattr(proc, "is_trainable", False)}
        annotated: set = set()
        updated = []
        for name, proc in pipeline:
            if name in trained:
                proc.update(examples, drop=drop, sgd=None, losses=losses)
                updated.append(proc)
            elif hasattr(proc, "listening_components") and (
                    trained & set(proc.listening_components)):
                self._annotate(name, proc, examples, annotated)
            if name in annotates:
                self._ensure_listened_outputs(name, examples, annotated)
                self._annotate(name, proc, examples, annotated)
        if sgd is not False:
            for proc in updated:
                proc.finish_update(sgd)
        return losses

    def _annotate(self, name: str, proc: Callable, examples: List[Any],
                  annotated: set) -> None:
        """Run one component on the examples' predicted docs (in place)."""
        if name in annotated:
            return
        docs = [eg.predicted for eg in examples]
        if hasattr(proc, "predict") and hasattr(proc, "set_annotations"):
            proc.set_annotations(docs, proc.predict(docs))
        else:
            for eg, doc in zip(examples, docs):
                eg.predicted = _checked(name, proc(doc))
        annotated.add(name)

    def _ensure_listened_outputs(self, name: str, examples: List[Any],
                                 annotated: set) -> None:
        """Before component `name` predicts in training, make the embedding components it
        listens to annotate the batch (their training hand-off is not used at inference)."""
        for upstream, proc in self.pipeline:
            if upstream != name and name in getattr(proc, "listening_components", ()):
                self._annotate(upstream, proc, examples, annotated)

    def evaluate(self, examples: Iterable[Any], *, batch_size: int = 256) -> Dict[str, Any]:
        """Run the pipeline on unannotated copies of the examples' predicted tokens and score
        the result against the references.

        Returns:
            `token_acc`, `token_p`, `token_r`, `token_f` (predicted vs gold tokens, by
            character offsets), each component's `score()` (e.g. `tag_acc`), and `speed`
            (words per second of the pipeline run).
        """
        import time

        from .training.example import Example
        from .training.scorer import score_tokenization

        examples = list(examples)
        for eg in examples:
            if not isinstance(eg, Example):
                raise TypeError(Errors.E363.format(method="Language.evaluate",
                                                       type=type(eg).__name__))
        fresh = [_unannotated_copy(eg.predicted) for eg in examples]
        start = time.perf_counter()
        docs: Iterable[Doc] = iter(fresh)
        for name, proc in self.pipeline:
            if hasattr(proc, "pipe"):
                docs = proc.pipe(docs, batch_size=batch_size)
            else:
                docs = (_checked(name, proc(doc)) for doc in docs)
        docs = list(docs)
        elapsed = time.perf_counter() - start
        scored = [Example(doc, eg.reference) for doc, eg in zip(docs, examples)]
        scores: Dict[str, Any] = dict(score_tokenization(scored))
        for _, proc in self.pipeline:
            if hasattr(proc, "score"):
                scores.update(proc.score(scored))
        n_words = sum(len(doc) for doc in docs)
        scores["speed"] = n_words / elapsed if elapsed > 0 else 0.0
        return scores

    # --- config -------------------------------------------------------------------------

    @property
    def config(self) -> Config:
        """The full config that recreates this pipeline with `Language.from_config`."""
        config = self._config.copy()
        nlp = config["nlp"]
        nlp["lang"] = self.lang
        nlp["pipeline"] = self.component_names
        nlp["disabled"] = self.disabled
        nlp["batch_size"] = self.batch_size
        config["components"] = {name: self._pipe_configs[name].copy()
                                for name in self.component_names}
        return config

    @classmethod
    def from_config(cls, config: Union[Config, Dict[str, Any]], *,
                    vocab: Vocab | None = None, disable: Iterable[str] = (),
                    enable: Iterable[str] | None = None, exclude: Iterable[str] = (),
                    meta: Dict[str, Any] | None = None, auto_fill: bool = True,
                    validate: bool = True) -> "Language":
        """Build the pipeline a config describes: `[nlp]` and each component named in
        `nlp.pipeline` (components in `exclude` are not built; those in `disable` or
        `nlp.disabled`, or not in `enable`, are built but disabled)."""
        config = Config(config)
        if auto_fill:
            config = fill_config(config, validate=validate)
        interpolated = config.interpolate() if not config.is_interpolated else config
        nlp_cfg = interpolated["nlp"]
        if not nlp_cfg.get("lang"):
            raise ValueError(Errors.E221)
        makers = {k: nlp_cfg[k] for k in ("tokenizer", "vectors", "before_creation",
                                          "after_creation", "after_pipeline_creation")
                  if k in nlp_cfg}
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

    # --- saving and loading -------------------------------------------------------------

    @property
    def meta(self) -> Dict[str, Any]:
        """meta.json: name, version and pipeline facts a packaged pipeline reports."""
        from . import __version__

        meta = {"lang": self.lang, "name": "pipeline", "version": "0.0.0", "description": "",
                "author": "", "email": "", "url": "", "license": ""}
        meta.update(self._meta)
        meta.update({"nlp_core_version": __version__, "pipeline": self.pipe_names,
                     "components": self.component_names, "disabled": self.disabled})
        return meta

    @meta.setter
    def meta(self, value: Dict[str, Any]) -> None:
        self._meta = dict(value)

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = ()) -> None:
        """Write config.cfg, meta.json, vocab/, tokenizer and one folder per component that
        has `to_disk` (skipping names in `exclude`)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        exclude = set(exclude)
        self.config.to_disk(path / "config.cfg", interpolate=False)
        srsly.write_json(path / "meta.json", self.meta)
        if "vocab" not in exclude:
            self.vocab.to_disk(path / "vocab")
        if "tokenizer" not in exclude and hasattr(self.tokenizer, "to_disk"):
            self.tokenizer.to_disk(path / "tokenizer")
        for name, proc in self._components:
            if name not in exclude and hasattr(proc, "to_disk"):
                proc.to_disk(path / name)

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = ()) -> "Language":
        """Read the data `to_disk` wrote into this (already built) pipeline."""
        path = Path(path)
        exclude = set(exclude)
        if (path / "meta.json").exists():
            self._meta.update(read_json(path / "meta.json", expect=dict))
        if "vocab" not in exclude and (path / "vocab").exists():
            self.vocab.from_disk(path / "vocab")
        if ("tokenizer" not in exclude and (path / "tokenizer").exists()
                and hasattr(self.tokenizer, "from_disk")):
            self.tokenizer.from_disk(path / "tokenizer")
        for index, (name, proc) in enumerate(self._components):
            if name not in exclude and (path / name).exists() and hasattr(proc, "from_disk"):
                loaded = proc.from_disk(path / name)
                self._components[index] = (name, proc if loaded is None else loaded)
        self._link_components()
        return self


class DisabledPipes(list):
    """The names `select_pipes` disabled; `restore()` (or leaving the `with` block)
    enables them again."""

    def __init__(self, nlp: Language, names: List[str]):
        super().__init__(names)
        self.nlp = nlp

    def __enter__(self) -> "DisabledPipes":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.restore()

    def restore(self) -> None:
        for name in self:
            if self.nlp.has_pipe(name):
                self.nlp.enable_pipe(name)
        self[:] = []


def _checked(name: str, doc: Any) -> Doc:
    if not isinstance(doc, Doc):
        raise ValueError(Errors.E217.format(name=name, type=type(doc).__name__))
    return doc


def _unannotated_copy(doc: Doc) -> Doc:
    """A Doc with the same text and tokens as `doc` and no annotation."""
    cols = doc._cols
    return Doc._from_tokens(doc.vocab, doc.text, cols["orth"].copy(), cols["length"].copy(),
                            cols["spacy"].copy(), cols["idx"].copy())


def _accepts(func: Callable, keyword: str) -> bool:
    import inspect

    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == keyword or p.kind is p.VAR_KEYWORD for p in params)


def _checked_pairs(items: Iterable[Any]) -> Iterator[Tuple[Any, Any]]:
    for item in items:
        if not isinstance(item, tuple) or len(item) != 2:
            raise ValueError(Errors.E224.format(item=repr(item)[:80]))
        yield item


def blank(lang: str, *, config: Dict[str, Any] | None = None,
          vocab: Vocab | None = None, meta: Dict[str, Any] | None = None) -> Language:
    """An empty pipeline (tokenizer only) for `lang` ("en", or "xx" for any language);
    `config` overrides parts of the default config, e.g. `{"nlp": {"batch_size": 64}}`."""
    base = Config({"nlp": {"lang": lang, "pipeline": []}})
    if config:
        base = base.merge(Config(config))
    return Language.from_config(base, vocab=vocab, meta=meta)


def load(name: Union[str, Path], *, disable: Iterable[str] = (),
         enable: Iterable[str] | None = None, exclude: Iterable[str] = (),
         config: Dict[str, Any] | None = None) -> Language:
    """Load a pipeline saved with `nlp.to_disk`. Loading reads data only: no code from a
    name or a directory is run, except the `load()` of a package that declares a pipeline
    entry point (see `nlp_core.pipeline_packages`).

    Args:
        name: a directory holding config.cfg; the name of a pipeline shipped inside this
            package (`shipped_pipelines()`, e.g. "en_ewt_sm"); or the name of an installed
            pipeline package: one whose folder (or one sub-folder of it, as in spaCy-style
            packages `name/name-1.0.0/`) holds config.cfg, or that declares an entry point
            in a group of `pipeline_packages.ENTRY_POINT_GROUPS`.
        disable / enable / exclude: as in `Language.from_config`.
        config: dotted-key overrides of the saved config, e.g. {"nlp.batch_size": 64}.

    Raises:
        OSError: E219 for a name that is none of these (a plain module such as "json" is
            not imported), E220 for a directory without config.cfg.
        ValueError: E231 naming a file of the directory that cannot be parsed (cut off or
            corrupt); E232 when a package's `load()` returns no Language.
    """
    path = Path(name)
    if not path.exists() and isinstance(name, str) and name in shipped_pipelines():
        path = SHIPPED_PIPELINES / name
    elif not path.exists() and isinstance(name, str):
        found = find_pipeline_package(name, shipped_pipelines())
        if isinstance(found, Path):
            path = found
        else:
            options = {"disable": disable, "enable": enable, "exclude": exclude,
                       "config": config}
            nlp = call_entry_point(name, found, **{k: v for k, v in options.items() if v})
            if not isinstance(nlp, Language):
                raise ValueError(Errors.E232.format(name=name, what=f"{found.value}.load()",
                                                    type=type(nlp).__name__))
            return nlp
    if not (path / "config.cfg").is_file():
        raise OSError(Errors.E220.format(path=path))
    saved = _read_saved_config(path / "config.cfg", dict(config or {}))
    meta = read_json(path / "meta.json", expect=dict) if (path / "meta.json").exists() else {}
    try:
        nlp = Language.from_config(saved, disable=disable, enable=enable, exclude=exclude,
                                   meta=meta)
    except ValueError as err:
        raise ValueError(Errors.E234.format(path=path / "config.cfg", detail=err)) from err
    return nlp.from_disk(path, exclude=exclude)


def _read_saved_config(path: Path, overrides: Dict[str, Any]) -> Config:
    """The config.cfg of a saved pipeline; E231 naming it when it is not text or has lost
    the blocks every saved pipeline has (as a file cut short does)."""
    from .config import load_config_from_str

    with parsing(path):
        text = path.read_text(encoding="utf8")
    saved = load_config_from_str(text, overrides, source=str(path))
    nlp_block = saved.get("nlp")
    if not isinstance(nlp_block, dict) or "lang" not in nlp_block:
        raise UnreadableFileError(Errors.E231.format(path=path, detail="it has no [nlp] "
                                                     "block with a lang"))
    components = saved.get("components", {})
    for name in nlp_block.get("pipeline", []):
        if name not in components:
            raise UnreadableFileError(Errors.E231.format(
                path=path, detail=f"[nlp] pipeline names {name!r} but there is no "
                f"[components.{name}] block"))
    return saved


SHIPPED_PIPELINES = Path(__file__).parent / "models"


def shipped_pipelines() -> List[str]:
    """Names of the trained pipelines that ship inside the package (`load(name)` works
    offline for each)."""
    if not SHIPPED_PIPELINES.is_dir():
        return []
    return sorted(p.name for p in SHIPPED_PIPELINES.iterdir() if (p / "config.cfg").is_file())
