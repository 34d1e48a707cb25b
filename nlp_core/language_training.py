"""Training a pipeline: linking listeners to their embedding components,
`nlp.initialize`, `nlp.update`, `nlp.evaluate` and the optimizer.

    optimizer = nlp.initialize(lambda: train_examples)   # labels and shapes from the data
    losses = nlp.update(batch, sgd=optimizer)            # one step over Examples
    scores = nlp.evaluate(dev_examples)                  # token_acc, tag_acc, speed, ...

The functions take the pipeline as their first argument; `Language` calls them from its
thin methods of the same names (their docstrings are the user-facing ones).
"""
import inspect
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Union

from confection import Config
from thinc.api import Adam

from . import language_init_tok2vec
from .errors import Errors
from .language_run import checked
from .registry import registry
from .tokens import Doc
from .training.example import Example
from .training.scorer import score_tokenization
from .vectors import Vectors

if TYPE_CHECKING:
    from .language import Language


def link_components(components: List[Any]) -> None:
    """Connect each embedding component (one with `find_listeners`, e.g. tok2vec) to the
    listener layers in the other components' models. A listener with upstream "NAME"
    belongs to component NAME; one with "*" to the nearest embedding component before its
    own component. Trainable components also learn their pipeline name here.

    Args:
        components: every (name, component) pair of the pipeline, in order.
    """
    embedders = [(i, proc) for i, (_, proc) in enumerate(components)
                 if hasattr(proc, "find_listeners")]
    for name, proc in components:
        if getattr(proc, "is_trainable", False) and hasattr(proc, "name"):
            proc.name = name
    for _, proc in embedders:
        proc.remove_listeners()
    for j, (name, proc) in enumerate(components):
        before = [embedder for i, embedder in embedders if i < j]
        nearest = before[-1] if before else None
        for i, embedder in embedders:
            if i != j:
                embedder.find_listeners(proc, name=name, wildcard=embedder is nearest)


def initialize_settings(nlp: "Language") -> Dict[str, Any]:
    """The resolved `[initialize]` block of the pipeline's config ({} without one)."""
    config = nlp.config
    if "initialize" not in config:
        return {}
    interpolated = Config(config).interpolate()
    return registry.resolve({"initialize": interpolated["initialize"]},
                            validate=False)["initialize"]


def initialize(nlp: "Language", get_examples: Callable[[], Iterable[Any]] | None, *,
               teachers: Dict[str, Any] | None = None) -> None:
    """Initialise the tokenizer and components from `[initialize]` and the examples
    (see `Language.initialize`); the optimizer is left to the caller. `teachers` (component
    name -> teacher component) initialises a distillation student: those components take
    their labels from the teacher (`initialize_distillation`), the examples are raw text.

    `[initialize]` settings: `components.NAME` go to that component's `initialize` (e.g.
    `labels`); `init_tok2vec` loads pretrained weights into the embedding layer
    ([pretraining] component / layer); `before_init` / `after_init` are called with the
    pipeline; `vectors` loads a static-vectors table into `nlp.vocab.vectors` first (see
    `load_vectors`); `vocab_data` and `lookups` are not supported yet (E365).
    """
    if get_examples is None:
        get_examples = _placeholder_examples(nlp)
    settings = initialize_settings(nlp)
    if settings.get("before_init") is not None:
        settings["before_init"](nlp)
    if settings.get("vectors") is not None:
        load_vectors(nlp, settings["vectors"])
    for key, what in (("vocab_data", "lexeme data tables"),
                      ("lookups", "lookup tables (lemmatizer data)")):
        if settings.get(key) is not None:
            raise NotImplementedError(Errors.E365.format(key=key, value=settings[key],
                                                         what=what))
    if hasattr(nlp.tokenizer, "initialize"):
        nlp.tokenizer.initialize(get_examples, nlp=nlp,
                                 **dict(settings.get("tokenizer") or {}))
    link_components(nlp.components)
    component_settings = settings.get("components") or {}
    for name, proc in nlp.pipeline:
        if teachers and name in teachers and hasattr(proc, "initialize_distillation"):
            # a distillation student: labels and seen moves come from its teacher
            proc.initialize_distillation(teachers[name], get_examples, nlp=nlp)
        elif hasattr(proc, "initialize"):
            kwargs = dict(component_settings.get(name) or {})
            if _accepts(proc.initialize, "nlp"):
                kwargs["nlp"] = nlp
            proc.initialize(get_examples, **kwargs)
    if settings.get("init_tok2vec") is not None:
        load_init_tok2vec(nlp, settings["init_tok2vec"])
    if settings.get("after_init") is not None:
        settings["after_init"](nlp)


# The registry entry (in nlp_core.loading) through which `[initialize] vectors = NAME` loads
# a shipped or installed pipeline: this layer sits below `nlp_core.load`.
LOAD_PIPELINE = "nlp_core.load_pipeline.v1"


def load_vectors(nlp: "Language", source: Union[str, Path]) -> None:
    """Set `nlp.vocab.vectors` from `[initialize] vectors` (spaCy's setting of that name).

    `source` is a pipeline directory (its `vocab/` holds the table), a vocab directory, a
    directory holding `vectors` and `key2row` directly, or the name of a shipped or
    installed pipeline (loaded with `nlp_core.load`, which runs no code of a data-only
    package). The table's strings join `nlp.vocab.strings`, as the Vocab setter does.

    Raises:
        OSError: E364 naming `source` when it is none of these, or holds no table or an
            empty one; E070 (from `Vectors.from_disk`) naming a damaged file.
    """
    path = Path(source)
    if path.exists():
        vectors = _vectors_from_directory(path, source)
    else:
        try:
            # only its vocab is needed (and spaCy's tokenizer files are not ours to read)
            other = registry.misc.get(LOAD_PIPELINE)(str(source), exclude=["tokenizer"])
        except OSError as err:
            raise OSError(Errors.E364.format(
                path=str(source), problem=f"no such directory, and not a pipeline name "
                f"that nlp_core.load knows ({err})")) from None
        vectors = other.vocab.vectors
    if not vectors.shape[0] or not vectors.shape[1]:
        raise OSError(Errors.E364.format(
            path=str(source), problem=f"its vectors table is empty (shape {vectors.shape})"))
    nlp.vocab.vectors = vectors


def _vectors_from_directory(path: Path, source: Union[str, Path]) -> Vectors:
    for directory in (path / "vocab", path):
        if (directory / "vectors").is_file():
            return Vectors().from_disk(directory)
    problem = ("it is not a directory" if not path.is_dir() else
               f"neither {path / 'vocab' / 'vectors'} nor {path / 'vectors'} exists")
    raise OSError(Errors.E364.format(path=str(source), problem=problem))


def _placeholder_examples(nlp: "Language") -> Callable[[], List[Example]]:
    """`get_examples` for initialising without data: one three-token example."""

    def get_examples() -> List[Example]:
        doc = Doc(nlp.vocab, words=["x", "y", "z"])
        return [Example(doc, doc.copy())]

    return get_examples


def load_init_tok2vec(nlp: "Language", path: Union[str, Path]) -> Dict[str, Any]:
    """Load pretrained weights written by `pretrain` into `[pretraining] component` (and
    its `layer` ref), or into the pipeline's only embedding; see `language_init_tok2vec`.

    Raises:
        OSError: E366 when the file does not exist.
        ValueError: E525 / E526 (not a checkpoint, damaged), E368 / E523 / E536 (no or no
            single target), E527 (the architectures differ: names each setting), E367.
    """
    return language_init_tok2vec.load_init_tok2vec(nlp, path)


def create_optimizer(nlp: "Language") -> Any:
    """The optimizer of `[training.optimizer]` (thinc's Adam with defaults when the
    config has none)."""
    config = nlp.config
    if not config.get("training", {}).get("optimizer"):
        return Adam()
    interpolated = Config(config).interpolate()
    return registry.resolve({"optimizer": interpolated["training"]["optimizer"]})["optimizer"]


def check_examples(examples: Iterable[Any], method: str) -> List[Example]:
    """`examples` as a list; E363 (TypeError) naming `method` for anything but Examples."""
    examples = list(examples)
    for eg in examples:
        if not isinstance(eg, Example):
            raise TypeError(Errors.E363.format(method=method, type=type(eg).__name__))
    return examples


def update(nlp: "Language", examples: List[Example], *, drop: float, sgd: Any,
           losses: Dict[str, float], exclude: Iterable[str],
           annotates: Iterable[str]) -> Dict[str, float]:
    """One training step over `examples` (see `Language.update`); `sgd` is the optimizer,
    or False for no step.

    Each enabled component runs in order: a trainable one not in `exclude` updates
    (forward, loss, backprop); one named in `annotates` then writes its predictions on the
    examples' predicted docs, so later components see them. A component in `exclude`
    (frozen) is not updated, but still runs when it is in `annotates` or when components
    being updated listen to it (they then get its output without gradient). Finally each
    updated component applies the optimizer step (`finish_update`).
    """
    exclude, annotates = set(exclude), set(annotates)
    pipeline = nlp.pipeline
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
            _annotate(name, proc, examples, annotated)
        if name in annotates:
            _ensure_listened_outputs(nlp, name, examples, annotated)
            _annotate(name, proc, examples, annotated)
    if sgd is not False:
        for proc in updated:
            proc.finish_update(sgd)
    return losses


def _annotate(name: str, proc: Callable, examples: List[Example], annotated: set) -> None:
    """Run one component on the examples' predicted docs (in place), once per step."""
    if name in annotated:
        return
    docs = [eg.predicted for eg in examples]
    if hasattr(proc, "predict") and hasattr(proc, "set_annotations"):
        proc.set_annotations(docs, proc.predict(docs))
    else:
        for eg, doc in zip(examples, docs):
            eg.predicted = checked(name, proc(doc))
    annotated.add(name)


def _ensure_listened_outputs(nlp: "Language", name: str, examples: List[Example],
                             annotated: set) -> None:
    """Before component `name` predicts in training, make the embedding components it
    listens to annotate the batch (their training hand-off is not used at inference)."""
    for upstream, proc in nlp.pipeline:
        if upstream != name and name in getattr(proc, "listening_components", ()):
            _annotate(upstream, proc, examples, annotated)


def evaluate(nlp: "Language", examples: List[Example], *, batch_size: int) -> Dict[str, Any]:
    """Score `nlp.pipe` over unannotated copies of the examples' predicted tokens against
    the references (see `Language.evaluate`)."""
    fresh = [_unannotated_copy(eg.predicted) for eg in examples]
    start = time.perf_counter()
    docs = list(nlp.pipe(fresh, batch_size=batch_size))
    elapsed = time.perf_counter() - start
    scored = [Example(doc, eg.reference) for doc, eg in zip(docs, examples)]
    scores: Dict[str, Any] = dict(score_tokenization(scored))
    for _, proc in nlp.pipeline:
        if hasattr(proc, "score"):
            scores.update(proc.score(scored))
    n_words = sum(len(doc) for doc in docs)
    scores["speed"] = n_words / elapsed if elapsed > 0 else 0.0
    return scores


def _unannotated_copy(doc: Doc) -> Doc:
    """A Doc with the same text and tokens as `doc` and no annotation."""
    return Doc.from_columns(doc.vocab, doc.text, doc.column("orth").copy(),
                            doc.column("length").copy(), doc.column("trailing_space").copy(),
                            idx=doc.column("idx").copy())


def _accepts(func: Callable, keyword: str) -> bool:
    """Whether `func` takes the keyword argument `keyword` (or any keyword)."""
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == keyword or p.kind is p.VAR_KEYWORD for p in params)
