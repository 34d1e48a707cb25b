"""Training loggers: report progress while `train` runs.

A registered logger returns `setup(nlp, stdout, stderr) -> (log_step, finalize)`. The loop
calls `log_step(info)` after every update, with `info` a dict on evaluation steps and None
in between, and `finalize()` once at the end. `info` holds `epoch`, `step`, `losses`
(component -> summed loss since the last evaluation), `score` (the weighted score),
`other_scores` (everything `nlp.evaluate` returned), `words` (words trained on so far),
`seconds` (since the start), `wps` (training words per second since the last evaluation,
evaluation time excluded) and `checkpoints` ([(score, step)]).
"""
import sys
from typing import IO, Any, Callable, Dict, List, Optional, Tuple

import tqdm

from ..registry import registry
from .rehearsal import REHEARSE_PREFIX

LogStep = Callable[[Optional[Dict[str, Any]]], None]
Finalize = Callable[[], None]


def _fmt(value: Any, scale: float = 1.0) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    return f"{value * scale:.2f}"


def logged_components(nlp) -> List[str]:
    """Losses the table shows: each trainable component's, then with `[training]
    rehearse_corpus` each rehearsing component's `rehearse_<name>`."""
    names = [name for name, proc in nlp.pipeline if getattr(proc, "is_trainable", False)]
    if nlp.config.get("training", {}).get("rehearse_corpus"):
        names += [REHEARSE_PREFIX + name for name, proc in nlp.pipeline
                  if hasattr(proc, "rehearse")]
    return names


def score_columns(nlp) -> List[str]:
    """The dev scores the table shows: those with a weight in [training.score_weights]."""
    weights = nlp.config.get("training", {}).get("score_weights", {}) or {}
    return [key for key, weight in weights.items() if weight is not None]


@registry.loggers("nlp_core.ConsoleLogger.v1", aliases=["spacy.ConsoleLogger.v1"])
def console_logger(progress_bar: bool = False) -> Callable[..., Tuple[LogStep, Finalize]]:
    """A table on stdout with one row per evaluation: epoch (E), step (#), the loss of each
    trainable component, each weighted dev score (x100), the combined SCORE and the
    training words per second; with `progress_bar`, a tqdm bar on stderr counts the steps
    up to the next evaluation."""

    def setup(nlp, stdout: Optional[IO] = None, stderr: Optional[IO] = None
              ) -> Tuple[LogStep, Finalize]:
        stdout = stdout or sys.stdout
        stderr = stderr or sys.stderr
        losses_cols = logged_components(nlp)
        score_cols = score_columns(nlp)
        eval_frequency = int(nlp.config.get("training", {}).get("eval_frequency", 200) or 200)
        headers = (["E", "#"] + [f"LOSS {name.upper()}" for name in losses_cols]
                   + [col.upper() for col in score_cols] + ["SCORE", "WORDS/S"])
        widths = [3, 6] + [max(len(h), 8) for h in headers[2:-2]] + [6, 8]
        aligns = ["r"] * len(headers)

        def row(values: List[str]) -> str:
            cells = [v.rjust(w) if a == "r" else v.ljust(w)
                     for v, w, a in zip(values, widths, aligns)]
            return "  ".join(cells).rstrip()

        stdout.write(row(headers) + "\n")
        stdout.write(row(["-" * w for w in widths]) + "\n")
        stdout.flush()
        state: Dict[str, Any] = {"bar": None}

        def new_bar(epoch: int, step: int) -> None:
            if progress_bar:
                state["bar"] = tqdm.tqdm(total=eval_frequency, disable=None, leave=False,
                                         file=stderr, desc=f"Epoch {epoch + 1}",
                                         initial=step % eval_frequency)

        def close_bar() -> None:
            if state["bar"] is not None:
                state["bar"].close()
                state["bar"] = None

        def log_step(info: Optional[Dict[str, Any]]) -> None:
            if info is None:
                if progress_bar and state["bar"] is None:
                    new_bar(state.get("epoch", 0), state.get("step", 0) + 1)
                if state["bar"] is not None:
                    state["bar"].update(1)
                return
            close_bar()
            state["epoch"], state["step"] = info["epoch"], info["step"]
            scores = info.get("other_scores", {})
            losses = info.get("losses", {})
            values = ([str(info["epoch"]), str(info["step"])]
                      + [_fmt(losses.get(name, 0.0)) for name in losses_cols]
                      + [_fmt(scores.get(col), 100.0) for col in score_cols]
                      + [_fmt(info.get("score")), f"{info.get('wps', 0.0):.0f}"])
            stdout.write(row(values) + "\n")
            stdout.flush()

        def finalize() -> None:
            close_bar()
            stdout.flush()

        return log_step, finalize

    return setup


__all__ = ["console_logger", "logged_components", "score_columns"]
