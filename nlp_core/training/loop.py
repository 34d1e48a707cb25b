"""The training loop, driven by the `[training]` block of the pipeline's config.

    nlp = init_nlp(config)                      # build, read labels from data, initialize
    nlp, best = train(nlp, Path("out"))         # writes out/model-last, out/model-best

Each step takes one batch of the shuffled training Examples, runs `nlp.update` on
`accumulate_gradient` sub-batches, applies the optimizer once to every trainable
component that is not frozen, and advances the optimizer's schedules (so a `learn_rate`
schedule moves once per update). Step 0 and every `eval_frequency` steps score the dev
corpus with `nlp.evaluate`; the weighted sum of the scores named in `score_weights`
picks `model-best/`. Training stops after `max_steps` steps, `max_epochs` epochs, or
`patience` steps without a better score, whichever comes first (0 disables each). With
`rehearse_corpus` each step also rehearses on a batch of raw text (`rehearsal`).
"""
import contextlib
import os
import random
import sys
import time
from itertools import islice
from pathlib import Path
from typing import IO, Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from thinc.api import Optimizer, fix_random_seed, set_gpu_allocator

from ..config import get_dot
from ..errors import Errors
from ..language import Language
from ..language_init_tok2vec import describe as describe_init_tok2vec
from ..registry import registry
from .example import Example
from .rehearsal import check_rehearsal, mark_fresh, mark_trained, rehearse_step

MODEL_BEST = "model-best"
MODEL_LAST = "model-last"
Evaluate = Callable[[], Tuple[float, Dict[str, Any]]]


# --- resolving the [training] block ----------------------------------------------------------


def resolve_training(config: Dict[str, Any]) -> Dict[str, Any]:
    """The `[training]` block with its registered functions built (batcher, optimizer,
    logger, callbacks). `config` must be interpolated."""
    return registry.resolve({"training": config["training"]})["training"]


def resolve_corpus(config: Dict[str, Any], raw_config: Optional[Dict[str, Any]],
                   key: str, setting: str = "The corpus setting"
                   ) -> Callable[[Any], Iterable[Example]]:
    """The reader at the dotted path `key` (e.g. "corpora.train"), told its config key so
    that its errors name it; E409 naming `setting` (the setting that gave `key`, e.g.
    "[training] train_corpus") when there is no such block."""
    if get_dot(config, key) is None:
        raise ValueError(Errors.E409.format(key=setting, value=key))
    section, _, name = key.rpartition(".")
    corpus = registry.resolve({"x": get_dot(config, section)})["x"][name]
    if hasattr(corpus, "config_key"):
        corpus.config_key = key
        raw_path = get_dot(raw_config or {}, f"{key}.path")
        if isinstance(raw_path, str) and raw_path.startswith("${") and raw_path.endswith("}"):
            corpus.config_hint = f" (set it with --{raw_path[2:-1]})"
    return corpus


def check_names(nlp, training: Dict[str, Any]) -> None:
    """E408 for a frozen / annotating component the pipeline lacks; E407 for a bad
    eval_frequency or accumulate_gradient."""
    for key in ("frozen_components", "annotating_components"):
        for name in training[key]:
            if name not in nlp.component_names:
                raise ValueError(Errors.E408.format(key=key, name=name,
                                                            names=nlp.component_names))
    for key in ("eval_frequency",):
        if training[key] < 1:
            raise ValueError(Errors.E407.format(key=key, value=training[key],
                                                        reason="must be at least 1."))
    if training["accumulate_gradient"] < 1:
        raise ValueError(Errors.E407.format(
            key="accumulate_gradient", value=training["accumulate_gradient"],
            reason="must be at least 1 (1: one optimizer step per batch)."))


# --- initialization --------------------------------------------------------------------------


def init_nlp(config, *, use_gpu: int = -1):
    """Build the pipeline of a filled training config and initialize it from the training
    data: components read their labels from the Examples and size their models; the
    `[initialize]` block is applied by `nlp.initialize`.

    Args:
        config: the filled (not interpolated) config.
        use_gpu: GPU id, -1 for CPU (the GPU must already be selected).

    Returns:
        The initialized Language.
    """
    interpolated = config.interpolate()
    seed_and_allocate(interpolated, use_gpu)
    nlp = Language.from_config(config)
    training = resolve_training(interpolated)
    check_names(nlp, training)
    train_corpus = resolve_corpus(interpolated, config, training["train_corpus"],
                                  "[training] train_corpus")
    if training["max_epochs"] == -1:
        # a streamed corpus may not fit in memory: components see a sample
        def get_examples() -> Iterable[Example]:
            return islice(train_corpus(nlp), 100)

        empty = not any(True for _ in get_examples())
    else:
        # read once; each component that collects labels iterates over it again
        examples = list(train_corpus(nlp))

        def get_examples() -> Iterable[Example]:
            return examples

        empty = not examples
    # Fail here, naming the corpus, rather than in a component that got no examples.
    if empty:
        raise ValueError(Errors.E405.format(key=training["train_corpus"],
                                                    detail=_skipped(train_corpus)))
    # Frozen components are initialized too: pipelines here are built from config only
    # (no sourced, already trained components), so a frozen component must get its labels
    # and weights here (e.g. from [initialize] init_tok2vec) to run at all.
    nlp.initialize(get_examples, sgd=training["optimizer"])
    mark_fresh(nlp)
    return nlp


# --- the loop --------------------------------------------------------------------------------


def train(nlp, output_path: Optional[Path] = None, *, stdout: Optional[IO] = None,
          stderr: Optional[IO] = None) -> Tuple[Any, Optional[Path]]:
    """Train an initialized pipeline as its config's `[training]` block says.

    Args:
        nlp: the pipeline (from `init_nlp`).
        output_path: where `model-last/` and `model-best/` go (None: save nothing).
        stdout, stderr: where the logger writes the table and the progress bar.

    Returns:
        (nlp, path of model-best or None). The nlp holds the last weights.
    """
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    raw_config = nlp.config
    config = raw_config.interpolate()
    training = resolve_training(config)
    check_names(nlp, training)
    if training["seed"] is not None:
        fix_random_seed(training["seed"])
    optimizer: Optimizer = training["optimizer"]
    train_corpus = resolve_corpus(config, raw_config, training["train_corpus"],
                                  "[training] train_corpus")
    dev_corpus = resolve_corpus(config, raw_config, training["dev_corpus"],
                                "[training] dev_corpus")
    frozen = list(training["frozen_components"])
    annotating = list(training["annotating_components"])
    weights = {k: v for k, v in (training["score_weights"] or {}).items() if v is not None}
    before_to_disk = training["before_to_disk"] or (lambda nlp: nlp)
    evaluate = evaluation_callback(nlp, dev_corpus, weights)
    batches = train_batches(nlp, train_corpus, training["batcher"], training["max_epochs"],
                            training["train_corpus"])
    rehearse_key = training.get("rehearse_corpus")
    rehearse_batches = None
    if rehearse_key:
        check_rehearsal(nlp, rehearse_key, frozen)
        raw_corpus = resolve_corpus(config, raw_config, rehearse_key,
                                    "[training] rehearse_corpus")
        rehearse_batches = raw_batches(nlp, raw_corpus, config, rehearse_key)
        # the teacher: a frozen copy of the weights training starts from
        nlp.resume_training(sgd=optimizer)
    steps = train_while_improving(
        nlp, optimizer, batches, evaluate, dropout=training["dropout"],
        accumulate_gradient=training["accumulate_gradient"],
        eval_frequency=training["eval_frequency"], patience=training["patience"],
        max_steps=training["max_steps"], exclude=frozen, annotating=annotating,
        before_update=training["before_update"], rehearse=rehearse_batches)
    output_path = prepare_output(output_path)
    stdout.write(f"Pipeline: {nlp.pipe_names}\n")
    if frozen:
        stdout.write(f"Frozen components: {frozen}\n")
    if annotating:
        stdout.write(f"Set annotations on update for: {annotating}\n")
    if rehearse_key:
        stdout.write(f"Rehearsing on {rehearse_key}\n")
    stdout.write(f"Initial learn rate: {_learn_rate(optimizer)}\n")
    if nlp.meta.get("init_tok2vec"):
        stdout.write(describe_init_tok2vec(nlp.meta["init_tok2vec"]) + "\n")
    log_step, finalize = training["logger"](nlp, stdout, stderr)

    best = run_steps(nlp, optimizer, steps, log_step=log_step, finalize=finalize,
                     output_path=output_path, weights=weights, before_to_disk=before_to_disk,
                     stdout=stdout, saved_as="pipeline")
    mark_trained(nlp)
    return nlp, best


def _learn_rate(optimizer: Optimizer) -> float:
    rate = optimizer.learn_rate
    return float(rate(step=0) if callable(rate) else rate)


BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    """Run numpy's BLAS with one thread (as thinc's blis does for spaCy): the matrices of a
    training step are small (a batch of ~1000 tokens by a few hundred), so BLAS threads
    cost more in hand-offs than they gain, and on a busy machine they oversubscribe the
    cores (measured 2.5-4x slower on 2 shared cores). Left alone when the user sets
    OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS, or without threadpoolctl."""
    if any(name in os.environ for name in BLAS_THREAD_VARIABLES):
        yield
        return
    try:  # threadpoolctl is optional: without it BLAS keeps its own thread count
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@contextlib.contextmanager
def averaged_params(nlp, optimizer: Optimizer) -> Iterator[None]:
    """With `use_averages = true`, swap the optimizer's parameter averages into every
    trainable component's model (for evaluating and saving); otherwise do nothing."""
    averages = getattr(optimizer, "averages", None)
    with contextlib.ExitStack() as stack:
        if averages:
            for _, proc in nlp.pipeline:
                model = getattr(proc, "model", None)
                if getattr(proc, "is_trainable", False) and hasattr(model, "use_params"):
                    stack.enter_context(model.use_params(averages))
        yield


def seed_and_allocate(interpolated: Dict[str, Any], use_gpu: int) -> None:
    """Apply [training] seed and, on a GPU, [training] gpu_allocator."""
    seed = interpolated["training"]["seed"]
    if seed is not None:
        fix_random_seed(seed)
    allocator = interpolated["training"]["gpu_allocator"]
    if use_gpu >= 0 and allocator:
        set_gpu_allocator(allocator)


def prepare_output(output_path: Union[str, Path, None]) -> Optional[Path]:
    """The output directory as a Path, created (E413 if it is a file); None stays None."""
    if output_path is None:
        return None
    output_path = Path(output_path)
    if output_path.exists() and not output_path.is_dir():
        raise ValueError(Errors.E413.format(path=output_path))
    output_path.mkdir(parents=True, exist_ok=True)
    return output_path


def run_steps(nlp, optimizer: Optimizer,
              steps: Iterator[Tuple[Dict[str, Any], Optional[bool]]], *, log_step: Callable,
              finalize: Callable, output_path: Optional[Path], weights: Dict[str, float],
              before_to_disk: Callable, stdout: IO, saved_as: str) -> Optional[Path]:
    """Run `steps` (`train_while_improving` or its distillation form) with one BLAS
    thread: log each, save model-last (and model-best when it is best) with averaged
    parameters on evaluation steps, and model-last once more at the end or when a step
    raises. Returns model-best's path when one was saved (None without `output_path`)."""
    def save(info: Optional[Dict[str, Any]], is_best: bool) -> None:
        if output_path is None:
            return
        if info is not None:
            nlp.meta = {**nlp.meta, "performance": _performance(info, weights)}
        to_save = before_to_disk(nlp)
        with averaged_params(nlp, optimizer):
            to_save.to_disk(output_path / MODEL_LAST)
            if is_best:
                to_save.to_disk(output_path / MODEL_BEST)

    finished = False
    with single_blas_thread():
        try:
            for info, is_best in steps:
                if is_best is not None:
                    save(info, is_best)
                log_step(info if is_best is not None else None)
            finished = True
        finally:
            finalize()
            if output_path is not None:
                if not finished:
                    stdout.write("Stopped by an error: saving the last weights to "
                                 f"{output_path / MODEL_LAST} before re-raising.\n")
                save(None, False)
    if output_path is None:
        return None
    best = output_path / MODEL_BEST
    stdout.write(f"Saved {saved_as} to {output_path / MODEL_LAST}"
                 + (f" and {best}" if best.exists() else "") + "\n")
    return best if best.exists() else None


def _performance(info: Dict[str, Any], weights: Dict[str, float]) -> Dict[str, Any]:
    scores = info.get("other_scores", {})
    performance = {key: scores.get(key) for key in weights}
    performance.update({f"{name}_loss": loss for name, loss in info.get("losses", {}).items()})
    return performance


def evaluation_callback(nlp, dev_corpus: Callable[[Any], Iterable[Example]],
                        weights: Dict[str, float]) -> Evaluate:
    """`evaluate() -> (weighted score, all scores)` over the dev corpus."""

    def evaluate() -> Tuple[float, Dict[str, Any]]:
        examples = list(dev_corpus(nlp))
        scores = nlp.evaluate(examples)
        for key in weights:
            if key not in scores and weights[key]:
                raise ValueError(Errors.E410.format(
                    key=key, known=", ".join(sorted(scores))))
            value = scores.get(key)
            if value is not None and not isinstance(value, (int, float)):
                raise ValueError(Errors.E407.format(
                    key=f"score_weights.{key}", value=weights[key],
                    reason=f"the score is a {type(value).__name__}, not a number; give "
                           "weights to numeric scores only (e.g. ents_f, not ents_per_type)."))
        weighted = sum((scores.get(key) or 0.0) * weight for key, weight in weights.items())
        return float(weighted), scores

    return evaluate


def train_batches(nlp, corpus: Callable[[Any], Iterable[Example]],
                  batcher: Callable[[Iterable[Example]], Iterator[List[Example]]],
                  max_epochs: int, key: str = "corpora.train"
                  ) -> Iterator[Tuple[int, List[Example]]]:
    """(epoch, batch) pairs. max_epochs >= 0: the corpus is read once into memory and
    shuffled before each epoch (0: no limit on epochs); -1: the corpus is streamed anew
    each epoch, unshuffled, without limit."""
    examples: List[Example] = []
    if max_epochs >= 0:
        examples = list(corpus(nlp))
        if not examples:
            raise ValueError(Errors.E405.format(key=key, detail=_skipped(corpus)))
    epoch = 0
    while max_epochs < 1 or epoch < max_epochs:
        if max_epochs >= 0:
            random.shuffle(examples)
            stream: Iterable[Example] = examples
        else:
            stream = corpus(nlp)
        n_batches = 0
        for batch in batcher(stream):
            n_batches += 1
            yield epoch, batch
        if n_batches == 0:
            raise ValueError(Errors.E405.format(key=key, detail=_skipped(corpus)))
        epoch += 1


def raw_batches(nlp, corpus: Callable[[Any], Iterable[Example]], config: Dict[str, Any],
                key: str) -> Iterator[List[Example]]:
    """Endless batches of the rehearsal corpus: a second instance of [training.batcher]
    (its size schedule advances apart from the training batches'), the corpus streamed
    from its start again whenever it ends. `config` must be interpolated."""
    batcher = registry.resolve({"batcher": config["training"]["batcher"]})["batcher"]
    return (batch for _, batch in train_batches(nlp, corpus, batcher, -1, key))


def _skipped(corpus: Any) -> str:
    skipped = getattr(corpus, "skipped", None)
    return f" (skipped: {skipped})" if skipped else ""


def subdivide_batch(batch: List[Example], parts: int) -> Iterator[List[Example]]:
    """Split a batch, sorted by length, into `parts` sub-batches of about equal size."""
    batch = sorted(batch, key=lambda eg: len(eg.predicted))
    size = max(1, len(batch) // parts)
    for start in range(0, len(batch), size):
        if start // size == parts - 1:
            yield batch[start:]
            return
        yield batch[start:start + size]


def train_while_improving(nlp, optimizer: Optimizer,
                          batches: Iterator[Tuple[int, List[Example]]], evaluate: Evaluate, *,
                          dropout: Any, accumulate_gradient: int, eval_frequency: int,
                          patience: int, max_steps: int, exclude: List[str],
                          annotating: List[str], before_update: Optional[Callable] = None,
                          update: Optional[Callable[[List[Example], float, Dict[str, float]],
                                                    None]] = None,
                          rehearse: Optional[Iterator[List[Example]]] = None
                          ) -> Iterator[Tuple[Dict[str, Any], Optional[bool]]]:
    """Update on each batch; yield (info, is_best) after each step, where is_best is None
    except on evaluation steps (see `logger` for the keys of info).

    `update(batch, drop, losses)`, when given, replaces the step of `nlp.update` on the
    batch's sub-batches and each component's `finish_update` (distillation steps the
    student this way); the optimizer's schedules are still stepped here. `rehearse`, when
    given (batches of raw text, after `nlp.resume_training()`), adds one `rehearse_step`
    to each default step before the optimizer step (its losses: `rehearse_<name>`)."""
    results: List[Tuple[float, int]] = []
    losses: Dict[str, float] = {}
    words_seen = 0
    start = time.perf_counter()
    train_seconds = 0.0
    words_since_eval = 0
    for step, (epoch, batch) in enumerate(batches):
        if before_update is not None:
            before_update(nlp, {"step": step, "epoch": epoch})
        tick = time.perf_counter()
        drop = dropout(optimizer.step) if callable(dropout) else dropout
        if update is not None:
            update(batch, drop, losses)
        else:
            for sub_batch in subdivide_batch(batch, accumulate_gradient):
                nlp.update(sub_batch, drop=drop, sgd=False, losses=losses, exclude=exclude,
                           annotates=annotating)
            if rehearse is not None:
                rehearse_step(nlp, next(rehearse), drop=drop, losses=losses, frozen=exclude)
            for name, proc in nlp.pipeline:
                if (name not in exclude and getattr(proc, "is_trainable", False)
                        and hasattr(proc, "finish_update")):
                    proc.finish_update(optimizer)
        optimizer.step_schedules()
        n_words = sum(len(eg.predicted) for eg in batch)
        words_seen += n_words
        words_since_eval += n_words
        train_seconds += time.perf_counter() - tick
        info: Dict[str, Any] = {"epoch": epoch, "step": step, "words": words_seen,
                                "losses": losses}
        is_best: Optional[bool] = None
        if step % eval_frequency == 0:
            with averaged_params(nlp, optimizer):
                score, other_scores = evaluate()
            optimizer.last_score = score
            results.append((score, step))
            is_best = score == max(results)[0]
            info.update({"score": score, "other_scores": other_scores,
                         "seconds": time.perf_counter() - start,
                         "wps": words_since_eval / train_seconds if train_seconds else 0.0,
                         "checkpoints": list(results)})
            train_seconds = 0.0
            words_since_eval = 0
        yield info, is_best
        if is_best is not None:
            losses = {}
        # the earliest step with the best score counts, so ties do not extend patience
        best_step = -max((s, -st) for s, st in results)[1] if results else 0
        if patience and step - best_step >= patience:
            break
        if max_steps and step >= max_steps:
            break


__all__ = ["MODEL_BEST", "MODEL_LAST", "averaged_params", "check_names",
           "evaluation_callback", "init_nlp", "prepare_output", "raw_batches", "resolve_corpus", "resolve_training", "run_steps", "seed_and_allocate",
           "single_blas_thread", "subdivide_batch",
           "train", "train_batches", "train_while_improving"]
