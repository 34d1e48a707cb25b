"""Fixtures for the model-layer tests: sample docs, a stand-in vectors table, and a
finite-difference gradient check."""
import numpy
import pytest
from thinc.api import fix_random_seed

from nlp_core.tokens.doc import Doc
from nlp_core.vocab import Vocab

TEXTS = [
    "The quick brown fox jumps over the lazy dog .",
    "Hello , world !",
    "The dog barks at 10:30 , said Dr. Smith .",
    "naïve café owners in São Paulo",
    "x",
]


@pytest.fixture(autouse=True)
def seeded():
    """Parameter initialisation draws from numpy's global generator: fix it per test."""
    fix_random_seed(0)


@pytest.fixture
def vocab():
    return Vocab(lang="en")


@pytest.fixture
def docs(vocab):
    return [Doc(vocab, words=text.split()) for text in TEXTS]


class FakeVectors:
    """The vectors-table interface StaticVectors reads (see nlp_core.ml.staticvectors)."""

    def __init__(self, vocab, words, width=6, seed=0):
        rng = numpy.random.default_rng(seed)
        self.keys = {vocab.strings.add(w): i for i, w in enumerate(words)}
        self.data = rng.normal(size=(len(words), width)).astype("float32")

    @property
    def shape(self):
        return self.data.shape

    def find(self, *, keys):
        return numpy.asarray([self.keys.get(int(k), -1) for k in keys], dtype="int64")


@pytest.fixture
def fake_vectors():
    return FakeVectors


def _flatten(Y):
    if isinstance(Y, (list, tuple)):
        return [numpy.asarray(y) for y in Y]
    if hasattr(Y, "data") and hasattr(Y, "lengths"):
        return [numpy.asarray(Y.data)]
    return [numpy.asarray(Y)]


def _loss(Y, R):
    return sum(float((y.astype("float64") * r).sum()) for y, r in zip(_flatten(Y), R))


def check_gradients(model, X, *, n_checks=6, eps=1e-3, atol=1e-3, rtol=1e-2, seed=0,
                    inputs=False):
    """Compare the backprop gradients of loss = sum(R * model(X)) (R fixed, random) with
    central finite differences on `n_checks` entries of every parameter (and of X when
    `inputs`). Raises AssertionError listing the mismatches when more than one in twenty
    (at least one) disagree; returns the count checked.
    """
    rng = numpy.random.default_rng(seed)
    for node in model.walk():
        for name in node.param_names:
            if node.has_grad(name):
                node.set_grad(name, node.ops.alloc_f(node.get_grad(name).shape))
    Y, backprop = model.begin_update(X)
    R = [rng.normal(size=y.shape) for y in _flatten(Y)]
    if isinstance(Y, list):
        dX = backprop([r.astype("float32") for r in R])
    elif hasattr(Y, "lengths"):
        dX = backprop(type(Y)(R[0].astype("float32"), Y.lengths))
    else:
        dX = backprop(R[0].astype("float32"))
    targets = []
    for node in model.walk():
        for name in node.param_names:
            if node.has_param(name) and node.has_grad(name):
                targets.append((f"{node.name}.{name}", node.get_param(name),
                                node.get_grad(name)))
    if inputs:
        arrays, grads = (X, dX) if isinstance(X, list) else ([X], [dX])
        targets.extend((f"input{i}", x, d) for i, (x, d) in enumerate(zip(arrays, grads)))
    checked = 0
    mismatches = []
    base = _loss(model.predict(X), R)
    for label, array, grad in targets:
        flat, gflat = array.reshape(-1), numpy.asarray(grad).reshape(-1)
        # Favour entries the loss depends on (hash tables are sparse).
        used = numpy.flatnonzero(gflat)
        pool = used if len(used) else numpy.arange(len(flat))
        for index in rng.choice(pool, size=min(n_checks, len(pool)), replace=False):
            original = flat[index]
            flat[index] = original + eps
            up = _loss(model.predict(X), R)
            flat[index] = original - eps
            down = _loss(model.predict(X), R)
            flat[index] = original
            forward, backward = (up - base) / eps, (base - down) / eps
            if not _close(forward, backward, atol, rtol):
                continue  # a maxout piece switched within eps: no derivative to compare
            numeric = (up - down) / (2 * eps)
            analytic = float(gflat[index])
            if not _close(numeric, analytic, atol, rtol):
                mismatches.append(f"{label}[{index}]: backprop {analytic:.6g} vs finite "
                                  f"difference {numeric:.6g}")
            checked += 1
    # float32 rounding and maxout kinks can spoil a single estimate; a wrong gradient
    # formula spoils every entry of its parameter.
    assert len(mismatches) <= max(1, checked // 20), "\n".join(mismatches)
    return checked


def _close(a, b, atol, rtol):
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))


@pytest.fixture
def gradcheck():
    return check_gradients
