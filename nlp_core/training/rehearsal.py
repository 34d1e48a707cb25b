"""Rehearsal while fine-tuning: `[training] rehearse_corpus` names a raw-text corpus, and
after every update on a labelled batch `train` runs `nlp.rehearse` on a batch of it, so
that a pipeline fine-tuned on a new domain or label keeps the outputs it had on ordinary
text (the old labels, the parse the fine-tuning data says nothing about).

    [training]
    rehearse_corpus = "corpora.raw"
    frozen_components = ["tagger", "parser"]   # rehearse with their weights fixed

    [corpora.raw]
    @readers = "nlp_core.JsonlCorpus.v1"       # {"text": ...} lines, .spacy, or a directory
    path = ${paths.raw_text}

The teacher is the copy `nlp.resume_training()` keeps when `train` starts: the weights the
pipeline was loaded with (`python -m nlp_core train CONFIG --resume-from PIPELINE`, or
`training.resume.resume_nlp`). A pipeline fresh from `init_nlp` has nothing to keep:
`train` refuses it (E610) instead of rehearsing towards random outputs.

Each step sums the rehearsal gradients with the fine-tuning ones and steps the optimizer
once (two steps would move the shared embedding twice as far). Frozen components rehearse
with their weights fixed: their gradient still reaches the embedding they listen to, so the
shared tok2vec keeps serving them (measured in benchmarks/README.md: letting them step on
their tiny rehearsal gradients costs LAS); a frozen embedding component only runs. The
rehearsal batches come from a second instance of `[training.batcher]`, over the corpus
streamed from its start again whenever it ends (memory stays bounded; no shuffling). Losses
are logged as `rehearse_<component>`. `annotating_components` concern the labelled update
only: rehearsal reads no annotation, each component learns from its own copy's outputs.
"""
import weakref
from typing import Any, Dict, List

from ..errors import Errors
from .example import Example

REHEARSE_PREFIX = "rehearse_"

# Pipelines `init_nlp` built from their config: their weights are fresh, so there is
# nothing for rehearsal to keep (a set, not a flag on Language: this is training state).
_FRESH: "weakref.WeakSet[Any]" = weakref.WeakSet()


def mark_fresh(nlp: Any) -> None:
    """Note that `nlp` holds freshly initialised weights (called by `init_nlp`)."""
    _FRESH.add(nlp)


def mark_trained(nlp: Any) -> None:
    """Note that `nlp` has been trained, so a later `train` may rehearse its outputs."""
    _FRESH.discard(nlp)


def is_fresh(nlp: Any) -> bool:
    return nlp in _FRESH


def check_rehearsal(nlp: Any, key: str, frozen: List[str]) -> None:
    """Refuse a rehearse_corpus that cannot work: a fresh pipeline (E610), or one where no
    component would change from rehearsal (E612)."""
    if is_fresh(nlp):
        raise ValueError(Errors.E610.format(key=key))
    rehearsing = [name for name, proc in nlp.pipeline if hasattr(proc, "rehearse")]
    if not rehearsing:
        raise ValueError(Errors.E612.format(
            key=key, frozen=frozen, reason=f"none of the components {nlp.pipe_names} can "
            "rehearse (taggers, parsers and recognisers can)"))
    learners = [name for name in rehearsing if name not in frozen]
    for name, proc in nlp.pipeline:
        listened = set(getattr(proc, "listening_components", ()))
        if name not in frozen and getattr(proc, "is_trainable", False) and \
                listened & set(rehearsing):
            learners.append(name)
    if not learners:
        raise ValueError(Errors.E612.format(
            key=key, frozen=frozen, reason=f"every component that rehearses ({rehearsing}) "
            "and every embedding they listen to is frozen"))


def rehearse_step(nlp: Any, batch: List[Example], *, drop: float, losses: Dict[str, float],
                  frozen: List[str]) -> None:
    """Rehearse on one raw-text batch without an optimizer step (the caller steps once
    for the fine-tuning and rehearsal gradients together); add the losses to `losses` as
    `rehearse_<component>`. Frozen components that rehearse keep their weights; frozen
    embedding components only run."""
    fixed = [name for name in frozen if hasattr(nlp.get_pipe(name), "rehearse")]
    excluded = [name for name in frozen if name not in fixed]
    rehearsed: Dict[str, float] = {}
    nlp.rehearse(batch, drop=drop, sgd=False, losses=rehearsed, exclude=excluded,
                 frozen=fixed)
    for name, loss in rehearsed.items():
        key = REHEARSE_PREFIX + name
        losses[key] = losses.get(key, 0.0) + loss


__all__ = ["REHEARSE_PREFIX", "check_rehearsal", "is_fresh", "mark_fresh", "mark_trained",
           "rehearse_step"]
