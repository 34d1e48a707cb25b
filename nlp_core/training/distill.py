"""The distillation loop: a student pipeline learns a teacher pipeline's outputs on raw
text, driven by the `[distillation]` block of the student's config.

    student = init_student(config, teacher)          # build; labels from the teacher
    student, best = distill(teacher, student, Path("out"))   # out/model-last, model-best

The student is built from its config (e.g. the CNN `en_ewt_sm` architecture, fresh
weights); its taggers, parsers and recognisers take their labels and seen moves from the
teacher component of the same name (or `[distillation] student_to_teacher`), its
embedding components their shapes from the raw text. Each step takes one batch of the raw
text corpus (`[distillation] corpus`, a JSONL / .spacy reader), runs `student.distill`
(no gold annotation is read) and applies the `[distillation.optimizer]` once. As in
`train`, step 0 and every `[distillation] eval_frequency` steps score the student on
`[training] dev_corpus`; the weighted sum of `[training] score_weights` picks model-best;
the loop stops after `max_steps` steps, `max_epochs` epochs or `patience` steps without a
better dev score, whichever comes first (0 disables each). The teacher's embedding outputs
of up to `teacher_cache_mb` MiB of docs are kept for later epochs (`TeacherCache`). The
`[training]` block's logger, frozen components, seed and before_to_disk apply.
"""
import sys
from itertools import islice
from pathlib import Path
from typing import IO, Any, Dict, Iterator, List, Optional, Tuple

from thinc.api import Optimizer, fix_random_seed

from ..errors import Errors
from ..language import Language
from ..language_distill import TeacherCache
from ..language_training import initialize as initialize_pipeline
from ..registry import registry
from .example import Example
from .loop import (
    Evaluate,
    evaluation_callback,
    prepare_output,
    resolve_corpus,
    resolve_training,
    run_steps,
    seed_and_allocate,
    train_batches,
    train_while_improving,
)

# Raw-text examples the student's shapes are initialised from.
N_INIT_EXAMPLES = 100
# [distillation] teacher_cache_mb of a config filled before the setting existed.
DEFAULT_TEACHER_CACHE_MB = 1024


def resolve_distillation(config: Dict[str, Any]) -> Dict[str, Any]:
    """The `[distillation]` block with its batcher and optimizer built, checked. `config`
    must be interpolated.

    Raises:
        ValueError: E608 without the block, E605 for a bad setting.
    """
    if "distillation" not in config:
        raise ValueError(Errors.E608.format(path="the config"))
    block = registry.resolve({"distillation": config["distillation"]})["distillation"]
    # a config filled before `patience` existed distils without it, as it did then
    block.setdefault("patience", 0)
    block.setdefault("teacher_cache_mb", DEFAULT_TEACHER_CACHE_MB)
    cache_mb = block["teacher_cache_mb"]
    if isinstance(cache_mb, bool) or not isinstance(cache_mb, (int, float)) or cache_mb < 0:
        raise ValueError(Errors.E605.format(
            key="teacher_cache_mb", value=cache_mb,
            reason="give a number of MiB >= 0 (0: no cache)."))
    for key in ("max_steps", "eval_frequency", "patience"):
        if isinstance(block[key], bool) or not isinstance(block[key], int) \
                or block[key] < (1 if key == "eval_frequency" else 0):
            raise ValueError(Errors.E605.format(
                key=key, value=block[key], reason="give a whole number "
                + ("of at least 1." if key == "eval_frequency" else ">= 0 (0: no limit).")))
    if not isinstance(block["max_epochs"], int) or block["max_epochs"] < -1:
        raise ValueError(Errors.E605.format(
            key="max_epochs", value=block["max_epochs"],
            reason="give -1 (stream the corpus), 0 (no limit) or a number of epochs."))
    mapping = block["student_to_teacher"]
    if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise ValueError(Errors.E605.format(
            key="student_to_teacher", value=mapping,
            reason='give a table of component names, e.g. {"ner": "teacher_ner"}.'))
    return block


def teacher_components(student: Language, teacher: Language,
                       mapping: Dict[str, str]) -> Dict[str, Any]:
    """Student component name -> its teacher component, for every student component that
    can learn from one and is not frozen.

    Raises:
        ValueError: E604 for a mapped teacher component that does not exist.
    """
    out = {}
    for name, proc in student.pipeline:
        if not hasattr(proc, "distill"):
            continue
        teacher_name = mapping.get(name, name)
        if teacher_name not in teacher.component_names:
            raise ValueError(Errors.E604.format(name=name, teacher_name=teacher_name,
                                                names=teacher.component_names))
        out[name] = teacher.get_pipe(teacher_name)
    return out


def init_student(config, teacher: Language, *, use_gpu: int = -1) -> Language:
    """Build the student of a filled config holding `[distillation]` and initialise it
    from the teacher (labels, seen moves) and the raw text (shapes); `[initialize]`
    applies as in `train` (vectors, init_tok2vec, ...).

    Raises:
        ValueError: E405 naming the corpus when it holds no text; E604, E605, E608.
    """
    interpolated = config.interpolate()
    seed_and_allocate(interpolated, use_gpu)
    block = resolve_distillation(interpolated)
    student = Language.from_config(config)
    corpus = resolve_corpus(interpolated, config, block["corpus"], "[distillation] corpus")
    sample = list(islice(corpus(student), N_INIT_EXAMPLES))
    if not sample:
        raise ValueError(Errors.E405.format(key=block["corpus"], detail=""))
    teachers = teacher_components(student, teacher, block["student_to_teacher"])
    initialize_pipeline(student, lambda: sample, teachers=teachers)
    return student


def distill(teacher: Language, student: Language, output_path: Optional[Path] = None, *,
            stdout: Optional[IO] = None, stderr: Optional[IO] = None
            ) -> Tuple[Language, Optional[Path]]:
    """Distil `teacher` into an initialised `student` as its `[distillation]` block says.

    Args:
        teacher: the trained teacher pipeline (not changed).
        student: the student (from `init_student`).
        output_path: where `model-last/` and `model-best/` go (None: save nothing).
        stdout, stderr: where the logger writes.

    Returns:
        (student, path of model-best or None); the student holds the last weights.
    """
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    raw_config = student.config
    config = raw_config.interpolate()
    training = resolve_training(config)
    block = resolve_distillation(config)
    if training["seed"] is not None:
        fix_random_seed(training["seed"])
    optimizer: Optimizer = block["optimizer"]
    corpus = resolve_corpus(config, raw_config, block["corpus"], "[distillation] corpus")
    dev_corpus = resolve_corpus(config, raw_config, training["dev_corpus"],
                                "[training] dev_corpus")
    frozen = list(training["frozen_components"])
    weights = {k: v for k, v in (training["score_weights"] or {}).items() if v is not None}
    before_to_disk = training["before_to_disk"] or (lambda nlp: nlp)
    mapping = block["student_to_teacher"]
    teacher_components(student, teacher, mapping)  # fail early on a bad mapping
    evaluate = evaluation_callback(student, dev_corpus, weights)
    batches = train_batches(student, corpus, block["batcher"], block["max_epochs"],
                            block["corpus"])
    cache = TeacherCache(block["teacher_cache_mb"]) if block["teacher_cache_mb"] else None
    steps = distill_while_improving(
        teacher, student, optimizer, batches, evaluate, dropout=block["dropout"],
        eval_frequency=block["eval_frequency"], max_steps=block["max_steps"], exclude=frozen,
        student_to_teacher=mapping, patience=block["patience"], teacher_cache=cache)
    output_path = prepare_output(output_path)
    stdout.write(f"Student: {student.pipe_names}; teacher: {teacher.pipe_names}\n")
    log_step, finalize = training["logger"](student, stdout, stderr)

    best = run_steps(student, optimizer, steps, log_step=log_step, finalize=finalize,
                     output_path=output_path, weights=weights, before_to_disk=before_to_disk,
                     stdout=stdout, saved_as="the student")
    if cache is not None:
        stdout.write(cache.summary() + "\n")
    return student, best


def distill_while_improving(teacher: Language, student: Language, optimizer: Optimizer,
                            batches: Iterator[Tuple[int, List[Example]]], evaluate: Evaluate,
                            *, dropout: Any, eval_frequency: int, max_steps: int,
                            exclude: List[str], student_to_teacher: Dict[str, str],
                            patience: int = 0, teacher_cache: Optional[TeacherCache] = None
                            ) -> Iterator[Tuple[Dict[str, Any], Optional[bool]]]:
    """Distil on each batch; yield (info, is_best) after each step, is_best None except on
    evaluation steps: `train_while_improving` with the student's `distill` as its step.
    `teacher_cache` keeps the teacher's embedding outputs between steps."""
    def update(batch: List[Example], drop: float, losses: Dict[str, float]) -> None:
        student.distill(teacher, batch, drop=drop, sgd=optimizer, losses=losses,
                        exclude=exclude, student_to_teacher=student_to_teacher,
                        teacher_cache=teacher_cache)

    return train_while_improving(
        student, optimizer, batches, evaluate, dropout=dropout, accumulate_gradient=1,
        eval_frequency=eval_frequency, patience=patience, max_steps=max_steps,
        exclude=exclude, annotating=[], update=update)


__all__ = ["distill", "distill_while_improving", "init_student", "resolve_distillation",
           "teacher_components"]
