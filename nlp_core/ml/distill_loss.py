"""The loss of distillation and rehearsal: a student's class distribution against a
teacher's, row by row (a parse state's moves, a token's tags).

    loss, d_scores = kl_to_teacher(S, T, student_allowed, teacher_allowed)

Both distributions are softmaxes over the classes a row allows: the teacher's over
`teacher_allowed` (its valid, seen classes that the student has too), the student's over
`student_allowed` (its valid, seen classes that the teacher has too), so a class only one
side knows (a label added while fine-tuning, in rehearsal) takes no part: the teacher has no
opinion on it. The loss is KL(p_teacher || p_student) summed over the rows, zero when the
two agree; its gradient with respect to the student's scores is `p_student - p_teacher` on
the student's allowed classes (the softmax cross-entropy gradient with the teacher's
distribution as the target).
"""
from typing import Optional, Sequence, Tuple

import numpy


def class_map(student_names: Sequence[str], teacher_names: Sequence[str]) -> numpy.ndarray:
    """int64 (n_student,): the teacher's index of each student class name, -1 where the
    teacher has no class of that name."""
    index = {name: i for i, name in enumerate(teacher_names)}
    return numpy.asarray([index.get(name, -1) for name in student_names], dtype=numpy.int64)


def in_student_space(T: numpy.ndarray, mapping: numpy.ndarray) -> Tuple[numpy.ndarray,
                                                                         numpy.ndarray]:
    """The teacher's scores T (N, n_teacher) in the student's class order, and the bool
    (n_student,) mask of the student classes the teacher has (-inf elsewhere)."""
    shared = mapping >= 0
    out = numpy.full((T.shape[0], len(mapping)), -numpy.inf, dtype=numpy.float64)
    out[:, shared] = T[:, mapping[shared]]
    return out, shared


def _log_softmax(scores: numpy.ndarray, allowed: numpy.ndarray
                 ) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """(probabilities, log-probabilities) over each row's allowed classes (0 / -inf
    elsewhere), in float64."""
    masked = numpy.where(allowed, scores, -numpy.inf)
    top = masked.max(axis=1, keepdims=True)
    top[~numpy.isfinite(top)] = 0.0
    E = numpy.where(allowed, numpy.exp(masked - top), 0.0)
    Z = E.sum(axis=1, keepdims=True)
    Z[Z == 0] = 1.0
    return E / Z, masked - top - numpy.log(Z)


def kl_to_teacher(S: numpy.ndarray, T: numpy.ndarray, student_allowed: numpy.ndarray,
                  teacher_allowed: Optional[numpy.ndarray] = None
                  ) -> Tuple[float, numpy.ndarray]:
    """KL(p_teacher || p_student) over rows, and its gradient.

    Args:
        S: float (N, nO) the student's scores (logits, or log-probabilities).
        T: float (N, nO) the teacher's scores in the student's class order (-inf for a
            class the teacher lacks).
        student_allowed: bool (N, nO) (or (nO,)) the classes the student's softmax spans.
        teacher_allowed: bool, the classes the teacher's softmax spans (default: the
            student's); it must lie inside student_allowed.

    Returns:
        (loss, d_S float32 (N, nO)): rows where the teacher allows nothing give no loss and
        no gradient.
    """
    S = numpy.asarray(S, dtype=numpy.float64)
    T = numpy.asarray(T, dtype=numpy.float64)
    s_ok = numpy.broadcast_to(numpy.asarray(student_allowed, dtype=bool), S.shape)
    t_ok = s_ok if teacher_allowed is None else \
        numpy.broadcast_to(numpy.asarray(teacher_allowed, dtype=bool), S.shape) & s_ok
    t_ok = t_ok & numpy.isfinite(T)
    rows = t_ok.any(axis=1)
    p_s, log_p_s = _log_softmax(S, s_ok)
    p_t, log_p_t = _log_softmax(T, t_ok)
    with numpy.errstate(invalid="ignore"):
        terms = numpy.where(t_ok & (p_t > 0), p_t * (log_p_t - log_p_s), 0.0)
    loss = float(terms[rows].sum())
    d = numpy.where(s_ok, p_s - p_t, 0.0)
    d[~rows] = 0.0
    return loss, d.astype(numpy.float32)


__all__ = ["class_map", "in_student_space", "kl_to_teacher"]
