"""Fine-tuning a trained pipeline: its `[nlp]` and `[components]` (and weights) stay, the
training settings (corpora, `[training]`, paths) come from a fine-tuning config.

    base = nlp_core.load("en_ewt_sm")
    config = resume_config(base, load_config("finetune.cfg"))  # base.config + the file
    nlp = resume_nlp(config, base)                             # weights kept, new labels added
    nlp, best = train(nlp, Path("out"))                        # may rehearse (rehearse_corpus)

`python -m nlp_core train finetune.cfg --resume-from en_ewt_sm` does the same. This is
this project's form of spaCy's `[components.NAME] source = ...` for a whole pipeline: the
pipeline is copied (saved and rebuilt with the merged config, sharing nothing with `base`),
`[initialize]` is not applied (the weights exist), and each component that is not frozen
gets the labels of the training corpus it does not know yet (`add_label`: the output layer
grows, the old classes keep their weights).
"""
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from confection import Config

from ..errors import Errors
from ..language import Language
from ..language_disk import load_from_directory
from .loop import check_names, resolve_corpus, resolve_training, seed_and_allocate

# Training examples read to find the labels a resumed component does not know yet (the
# whole corpus would be read for nothing more than labels that appear in its first part).
N_LABEL_EXAMPLES = 10000


def resume_config(base: Language, config: Dict[str, Any]) -> Config:
    """The trained pipeline's config with `config`'s sections merged over it (not
    interpolated, not filled: fill it as a training config before `resume_nlp`)."""
    return Config(base.config).merge(Config(config))


def _differences(old: Any, new: Any, path: str) -> Iterator[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            yield from _differences(old.get(key), new.get(key), f"{path}.{key}")
    elif old != new:
        yield path


def check_unchanged(base: Language, config: Config, name: str) -> None:
    """E611 when `config` changes the pipeline's [nlp] or [components]."""
    old = base.config
    found: List[str] = []
    for section in ("nlp", "components"):
        found.extend(_differences(old.get(section, {}), config.get(section, {}), section))
    if found:
        shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
        raise ValueError(Errors.E611.format(pipeline=name, differences=shown))


def resume_nlp(config: Config, base: Language, *, use_gpu: int = -1,
               name: Optional[str] = None) -> Language:
    """A copy of the trained pipeline `base` that trains as the filled `config` says.

    Args:
        config: the filled fine-tuning config (e.g. from `resume_config`); its [nlp] and
            [components] must be `base`'s.
        base: the trained pipeline (not changed).
        use_gpu: GPU id, -1 for CPU (the GPU must already be selected).
        name: what the errors call the pipeline (default: its meta name).

    Returns:
        The copy, with the new labels of its unfrozen components added.

    Raises:
        ValueError: E611 when the config changes [nlp] or [components]; E405 for an empty
            training corpus; E408 / E407 for bad [training] settings.
    """
    check_unchanged(base, config, name or str(base.meta.get("name", "the pipeline")))
    interpolated = config.interpolate()
    seed_and_allocate(interpolated, use_gpu)
    training = resolve_training(interpolated)
    with tempfile.TemporaryDirectory(prefix="nlp_core-resume-") as tmp:
        base.to_disk(tmp)
        config.to_disk(Path(tmp) / "config.cfg", interpolate=False)
        nlp = load_from_directory(type(base), tmp)
    check_names(nlp, training)
    train_corpus = resolve_corpus(interpolated, config, training["train_corpus"],
                                  "[training] train_corpus")
    examples = []
    for example in train_corpus(nlp):
        examples.append(example)
        if len(examples) >= N_LABEL_EXAMPLES:
            break
    if not examples:
        skipped = getattr(train_corpus, "skipped", None)
        raise ValueError(Errors.E405.format(key=training["train_corpus"],
                                            detail=f" (skipped: {skipped})" if skipped else ""))
    add_new_labels(nlp, examples, frozen=list(training["frozen_components"]))
    return nlp


def add_new_labels(nlp: Language, examples: List[Any], *, frozen: List[str]
                   ) -> List[Tuple[str, str]]:
    """Add to each unfrozen component the labels of `examples` it lacks; returns the
    (component, label) pairs added."""
    added = []
    for name, proc in nlp.pipeline:
        if name in frozen or not hasattr(proc, "labels_in") or not hasattr(proc, "add_label"):
            continue
        for label in proc.labels_in(examples):
            if proc.add_label(label):
                added.append((name, label))
    return added


__all__ = ["add_new_labels", "check_unchanged", "resume_config", "resume_nlp"]
