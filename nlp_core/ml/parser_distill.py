"""The teacher side of distilling TransitionBasedParser.v3: its scores of the states along
the student's transitions.

The student parses first (its training forward, `model.begin_update((docs, batch, None))`:
its own best valid moves, no golds). A copy of the batch the student started from is then
advanced with the student's classes while the teacher scores every active state before each
step (`score_actions`), so the teacher's rows line up with the student's trace row for row.
On CPU the loop runs in C (`native.parser.follow.score_actions`); `score_actions_python` is
the numpy reference (and the path for `c_forward = False`). The teacher may have fewer
classes than the student: its scores come in its own class order.
"""
from typing import Any, List, Optional, Sequence, Tuple

import numpy
from thinc.api import Model

from ..errors import Errors
from .parser_step import host_weights, state_scores
from .parser_weights import weights

try:
    from native.parser.follow import score_actions as _c_score_actions
except ImportError:  # native extensions not built: the numpy loop serves
    _c_score_actions = None


def score_actions(model: Model, docs: Sequence, batch: Any, actions: List[numpy.ndarray],
                  max_rows: int, *, use_c: Optional[bool] = None
                  ) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Advance `batch` along `actions`, scoring each active state with `model` first.

    Args:
        model: the scoring model (the teacher), initialised.
        docs: the batch's docs, in order (what the model embeds).
        batch: a GreedyBatch over `docs` (advanced to the end here).
        actions: one int array per state of the batch: the classes it takes, in the
            batch's transition system (see `GreedyBatch.apply_actions`).
        max_rows: the most states that may be scored (the rows of the student's trace).
        use_c: force (True) or forbid (False) the C loop; default `model.attrs["c_forward"]`.

    Returns:
        (sizes int32 (n_steps,), scores float32 (N, model nO)) as numpy arrays.
    """
    if not model.has_dim("nO") or model.get_dim("nO") is None:
        raise ValueError(Errors.E372)
    X = model.get_ref("projection").predict(list(docs))
    F = model.get_ref("hidden").predict(X)
    if use_c is None:
        use_c = model.attrs.get("c_forward", True) and _c_score_actions is not None
    if use_c:
        features, b, W_out, b_out = host_weights(model, F)
        _, nF, nH, nP = F.shape
        return _c_score_actions(batch, actions, features, b, W_out, b_out, nF, nH, nP,
                                max_rows)
    return score_actions_python(model, F, batch, actions)


def score_actions_python(model: Model, F: Any, batch: Any, actions: List[numpy.ndarray]
                         ) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """The reference loop: score the active states, apply each one's next class. Every
    sequence must take its state to the end (a run's histories do).

    Raises:
        ValueError: a state's sequence ended before the state was final.
    """
    ops = model.ops
    b, W_out, b_out = weights(model)
    nF = F.shape[1]
    taken = [0] * batch.n_states
    sizes: List[int] = []
    rows: List[numpy.ndarray] = []
    while not batch.is_final():
        scores, _, _ = state_scores(ops, F, batch.get_context(nF), b, W_out, b_out)
        rows.append(numpy.asarray(ops.to_numpy(scores), dtype=numpy.float32))
        sizes.append(batch.n_active)
        classes = []
        for state in batch.active.tolist():
            if taken[state] >= len(actions[state]):
                raise ValueError(f"score_actions_python: the actions of state {state} end "
                                 "before it is final; give a whole run's classes.")
            classes.append(int(actions[state][taken[state]]))
            taken[state] += 1
        batch.transition(classes)
    nO = W_out.shape[0] if W_out is not None else F.shape[2]
    scores_all = numpy.concatenate(rows) if rows else numpy.zeros((0, nO), numpy.float32)
    return numpy.asarray(sizes, dtype=numpy.int32), scores_all


__all__ = ["score_actions", "score_actions_python"]
