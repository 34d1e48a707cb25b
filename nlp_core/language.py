"""The pipeline object: a tokenizer plus named components run in order over each Doc.

    nlp = nlp_core.blank("en")
    nlp.add_pipe("tagger")                    # a factory registered with registry.factory
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

This module holds the pipeline's state and how it is edited (`add_pipe`, `remove_pipe`,
...). The other jobs live in modules of their own, which `Language`'s thin methods call:

    registry.factory / registry.component   registering components  (nlp_core.registry)
    __call__, pipe, select_pipes            running                  (language_run, pipe_workers)
    initialize, update, evaluate            training                 (language_training)
    distill, rehearse, resume_training      learning from a teacher  (language_distill)
    from_config, config                     building from config     (language_config)
    to_disk, from_disk, meta                saving                   (language_disk)
    blank, load                             making a pipeline        (loading)
"""
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Tuple, Union

from confection import Config

from . import (
    language_config,
    language_disk,
    language_distill,
    language_run,
    language_training,
)
from .config import fill_component, get_default_config, resolve_component
from .errors import Errors
from .lang import get_lang_defaults
from .language_run import DisabledPipes
from .nlp_makers import make_default_tokenizer
from .registry import known_names, registry
from .tokens import Doc
from .vocab import Vocab

PipeEntry = Tuple[str, Callable[[Doc], Doc]]


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
        # The frozen copy `resume_training` keeps for `rehearse`.
        self._rehearsal_teacher: Any = None
        self.tokenizer = (create_tokenizer or make_default_tokenizer())(self)

    # --- factories ----------------------------------------------------------------------

    # Registering a component is the registry's job; these are the spaCy spellings of it.
    factory = staticmethod(registry.factory)
    component = staticmethod(registry.component)
    get_factory_meta = staticmethod(registry.get_factory_meta)

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
                     enable: Union[str, Iterable[str]] | None = None) -> DisabledPipes:
        """Disable components, either those named in `disable` or all but those in `enable`.
        Use as a context manager (`with nlp.select_pipes(enable=["tagger"]): ...`) or call
        `.restore()` on the result to re-enable them."""
        return language_run.select_pipes(self, disable=disable, enable=enable)

    # --- running ------------------------------------------------------------------------

    def make_doc(self, text: str) -> Doc:
        return self.tokenizer(text)

    def __call__(self, text: Union[str, Doc]) -> Doc:
        """Tokenize `text` (a pre-tokenized Doc keeps its tokens) and run the pipeline."""
        return language_run.run_pipeline(self, text)

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
        # Workers rebuild the pipeline with this class, as `nlp_core.load` does.
        return language_run.pipe(self, texts, as_tuples=as_tuples,
                                 batch_size=batch_size or self.batch_size,
                                 n_process=n_process, worker_class=Language)

    # --- training -----------------------------------------------------------------------

    def _link_components(self) -> None:
        """Connect embedding components to their listeners; runs whenever the pipeline
        changes (see `language_training.link_components`)."""
        language_training.link_components(self._components)

    def initialize(self, get_examples: Callable[[], Iterable[Any]] | None = None, *,
                   sgd: Any = None) -> Any:
        """Initialise the components for training (labels and weight shapes from the data,
        settings from `[initialize]`, see `language_training.initialize`) and return the
        optimizer.

        Args:
            get_examples: returns the training Examples (iterated once per component that
                collects labels, so it must return a fresh iterable on each call). Without
                it, components are initialised from one placeholder example, so labels
                must come from `[initialize.components]`.
            sgd: the optimizer to return; default: `create_optimizer()`.

        Returns:
            The optimizer (also kept for `update` calls without `sgd`).
        """
        language_training.initialize(self, get_examples)
        self._optimizer = sgd if sgd is not None else self.create_optimizer()
        return self._optimizer

    def resume_training(self, *, sgd: Any = None) -> Any:
        """Continue training an already initialised pipeline: keeps the weights and labels,
        keeps a frozen copy of the pipeline as the teacher of `rehearse`, and returns the
        optimizer (`sgd`, the current one, or a new `create_optimizer()`)."""
        self._link_components()
        language_distill.start_rehearsal(self)
        if sgd is not None:
            self._optimizer = sgd
        elif self._optimizer is None:
            self._optimizer = self.create_optimizer()
        return self._optimizer

    def create_optimizer(self) -> Any:
        """The optimizer of `[training.optimizer]` (thinc's Adam with defaults when the
        config has none)."""
        return language_training.create_optimizer(self)

    def update(self, examples: Iterable[Any], *, drop: float = 0.0, sgd: Any = None,
               losses: Dict[str, float] | None = None, exclude: Iterable[str] = (),
               annotates: Iterable[str] = ()) -> Dict[str, float]:
        """Learn from one batch of Examples (the order components run and annotate in:
        `language_training.update`).

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
        losses = {} if losses is None else losses
        examples = language_training.check_examples(examples, "Language.update")
        if not examples:
            return losses
        if sgd is None:
            if self._optimizer is None:
                self._optimizer = self.create_optimizer()
            sgd = self._optimizer
        return language_training.update(self, examples, drop=drop, sgd=sgd, losses=losses,
                                        exclude=exclude, annotates=annotates)

    def distill(self, teacher: "Language", examples: Iterable[Any], *, drop: float = 0.0,
                sgd: Any = None, losses: Dict[str, float] | None = None,
                exclude: Iterable[str] = (), frozen: Iterable[str] = (),
                student_to_teacher: Dict[str, str] | None = None,
                teacher_cache: Any = None) -> Dict[str, float]:
        """Learn from a teacher pipeline on one batch: each tagger, parser and NER learns
        the outputs of the teacher component of its name (or `student_to_teacher[name]`)
        on the examples' predicted docs; no gold annotation is read (see
        `language_distill`). `sgd` as in `update`; `exclude`: components that take no
        part; `frozen`: components that keep their weights but still teach the shared
        embedding they listen to; `teacher_cache`: a `language_distill.TeacherCache`
        that keeps the teacher's embedding outputs between calls."""
        return language_distill.distill(self, teacher, examples, drop=drop,
                                        sgd=self._step_optimizer(sgd),
                                        losses=losses, exclude=exclude, frozen=frozen,
                                        student_to_teacher=student_to_teacher,
                                        teacher_cache=teacher_cache)

    def rehearse(self, examples: Iterable[Any], *, drop: float = 0.0, sgd: Any = None,
                 losses: Dict[str, float] | None = None, exclude: Iterable[str] = (),
                 frozen: Iterable[str] = ()) -> Dict[str, float]:
        """Learn to keep the outputs of the copy `resume_training()` kept, on a batch of
        (usually unlabelled) examples, so that fine-tuning forgets less. `sgd` as in
        `update`; `exclude` / `frozen` as in `distill`."""
        return language_distill.rehearse(self, examples, drop=drop,
                                         sgd=self._step_optimizer(sgd), losses=losses,
                                         exclude=exclude, frozen=frozen)

    def _step_optimizer(self, sgd: Any) -> Any:
        """`sgd`, or for None the optimizer of `initialize` (a new one if none)."""
        if sgd is None:
            if self._optimizer is None:
                self._optimizer = self.create_optimizer()
            return self._optimizer
        return sgd

    def evaluate(self, examples: Iterable[Any], *, batch_size: int = 256) -> Dict[str, Any]:
        """Run the pipeline (`pipe`) on unannotated copies of the examples' predicted tokens
        and score the result against the references.

        Returns:
            `token_acc`, `token_p`, `token_r`, `token_f` (predicted vs gold tokens, by
            character offsets), each component's `score()` (e.g. `tag_acc`), and `speed`
            (words per second of the pipeline run).
        """
        examples = language_training.check_examples(examples, "Language.evaluate")
        return language_training.evaluate(self, examples, batch_size=batch_size)

    # --- config -------------------------------------------------------------------------

    @property
    def config(self) -> Config:
        """The full config that recreates this pipeline with `Language.from_config`."""
        return language_config.pipeline_config(self)

    @classmethod
    def from_config(cls, config: Union[Config, Dict[str, Any]], *,
                    vocab: Vocab | None = None, disable: Iterable[str] = (),
                    enable: Iterable[str] | None = None, exclude: Iterable[str] = (),
                    meta: Dict[str, Any] | None = None, auto_fill: bool = True,
                    validate: bool = True) -> "Language":
        """Build the pipeline a config describes: `[nlp]` and each component named in
        `nlp.pipeline` (components in `exclude` are not built; those in `disable` or
        `nlp.disabled`, or not in `enable`, are built but disabled)."""
        return language_config.from_config(cls, config, vocab=vocab, disable=disable,
                                           enable=enable, exclude=exclude, meta=meta,
                                           auto_fill=auto_fill, validate=validate)

    # --- saving and loading -------------------------------------------------------------

    @property
    def meta(self) -> Dict[str, Any]:
        """meta.json: name, version and pipeline facts a packaged pipeline reports."""
        return language_disk.pipeline_meta(self, self._meta)

    @meta.setter
    def meta(self, value: Dict[str, Any]) -> None:
        self._meta = dict(value)

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = ()) -> None:
        """Write config.cfg, meta.json, vocab/, tokenizer and one folder per component that
        has `to_disk` (skipping names in `exclude`)."""
        language_disk.to_disk(self, path, exclude=exclude)

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = ()) -> "Language":
        """Read the data `to_disk` wrote into this (already built) pipeline."""
        meta, loaded = language_disk.from_disk(self, path, exclude=exclude)
        self._meta.update(meta)
        self._components = [(name, loaded.get(name, proc)) for name, proc in self._components]
        self._link_components()
        return self
