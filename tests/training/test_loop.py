"""The training loop with a small counting component (and the real tagger where noted)."""
import io
from pathlib import Path
from typing import Dict

import pytest
from thinc.api import Model, Optimizer

import nlp_core
from nlp_core.cli.train import load_training_config
from nlp_core.language import Language
from nlp_core.registry import registry
from nlp_core.training import Example
from nlp_core.training.loop import init_nlp, subdivide_batch, train, train_batches

FIXTURES = Path(__file__).parents[1] / "fixtures" / "training"
TRAIN = FIXTURES / "ewt-train-60.conllu"
DEV = FIXTURES / "ewt-dev-20.conllu"


class Counter:
    """Trainable stand-in: counts updates and optimizer steps; its score rises with the
    number of optimizer steps until it reaches `peak`, then falls (to test patience)."""

    is_trainable = True

    def __init__(self, name: str, peak: int):
        self.name = name
        self.peak = peak
        self.model = Model("counter", lambda model, X, is_train: (X, lambda dY: dY))
        self.updates = []
        self.steps = 0
        self.learn_rates = []
        self.initialized = False

    def __call__(self, doc):
        return doc

    def initialize(self, get_examples, *, nlp=None):
        self.initialized = bool(list(get_examples()))

    def update(self, examples, *, drop=0.0, sgd=None, losses=None):
        self.updates.append((len(examples), drop))
        losses[self.name] = losses.get(self.name, 0.0) + len(examples)
        return losses

    def finish_update(self, sgd: Optimizer):
        self.steps += 1
        self.learn_rates.append(sgd.learn_rate(sgd.step))

    def score(self, examples, **kwargs) -> Dict[str, float]:
        return {"counter_acc": 1.0 - abs(self.steps - self.peak) / 100.0,
                "counter_types": {"a": 1.0}}


@Language.factory("test_loop.counter", default_config={"peak": 1000},
                  default_score_weights={"counter_acc": 1.0})
def make_counter(nlp, name, peak: int):
    return Counter(name, peak)


UPDATES_SEEN = []


@registry.callbacks("test_loop.record_updates.v1")
def make_recorder():
    def before_update(nlp, info):
        UPDATES_SEEN.append(info)

    return before_update


@registry.callbacks("test_loop.mark_meta.v1")
def make_marker():
    def before_to_disk(nlp):
        nlp.meta = {**nlp.meta, "description": "marked before saving"}
        return nlp

    return before_to_disk


COUNTER_CONFIG = f"""
[paths]
train = "{TRAIN}"
dev = "{DEV}"

[nlp]
lang = "en"
pipeline = ["counter"]

[components]

[components.counter]
factory = "test_loop.counter"

[training]
max_steps = 20
eval_frequency = 5
patience = 0

[training.batcher]
@batchers = "nlp_core.batch_by_sequence.v1"
size = 4
"""


def counter_nlp(tmp_path, **overrides):
    path = tmp_path / "config.cfg"
    path.write_text(COUNTER_CONFIG)
    nlp = init_nlp(load_training_config(str(path), overrides))
    return nlp, nlp.get_pipe("counter")


def run(nlp, output=None):
    stdout = io.StringIO()
    train(nlp, output, stdout=stdout, stderr=io.StringIO())
    return stdout.getvalue()


def table_rows(output):
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("---"))
    return [line.split() for line in lines[start + 1:] if line.strip()[:1].isdigit()]


def test_max_steps_and_eval_frequency(tmp_path):
    nlp, counter = counter_nlp(tmp_path)
    assert counter.initialized
    output = run(nlp)
    assert counter.steps == 21  # steps 0..20
    assert [row[1] for row in table_rows(output)] == ["0", "5", "10", "15", "20"]
    assert "LOSS COUNTER" in output and "COUNTER_ACC" in output and "WORDS/S" in output


def test_patience_stops_after_no_improvement(tmp_path):
    nlp, counter = counter_nlp(tmp_path, **{"components.counter.peak": 3,
                                            "training.patience": 7,
                                            "training.eval_frequency": 1,
                                            "training.max_steps": 100})
    run(nlp)
    # the best score is reached at step 2 (three optimizer steps); patience 7 ends at 9
    assert counter.steps == 10


def test_max_epochs_ends_training(tmp_path):
    nlp, counter = counter_nlp(tmp_path, **{"training.max_epochs": 2,
                                            "training.max_steps": 0})
    run(nlp)
    assert counter.steps == 2 * 15  # 60 examples in batches of 4, two epochs


def test_streamed_epochs_with_max_epochs_minus_one(tmp_path):
    nlp, counter = counter_nlp(tmp_path, **{"training.max_epochs": -1,
                                            "training.max_steps": 40})
    run(nlp)
    assert counter.steps == 41


def test_accumulate_gradient_splits_batches_and_steps_once(tmp_path):
    nlp, counter = counter_nlp(tmp_path, **{"training.accumulate_gradient": 2,
                                            "training.max_steps": 3})
    run(nlp)
    assert counter.steps == 4
    assert [n for n, _ in counter.updates] == [2] * 8


def test_learn_rate_schedule_steps_once_per_update(tmp_path):
    nlp, counter = counter_nlp(tmp_path, **{
        "training.max_steps": 6,
        "training.optimizer.learn_rate": {"@schedules": "warmup_linear.v1",
                                          "initial_rate": 0.01, "warmup_steps": 4,
                                          "total_steps": 100}})
    run(nlp)
    rates = counter.learn_rates
    assert rates[:5] == pytest.approx([0.0, 0.0025, 0.005, 0.0075, 0.01])
    assert rates[5] < rates[4]


def test_dropout_reaches_the_components(tmp_path):
    nlp, counter = counter_nlp(tmp_path, **{"training.dropout": 0.3,
                                            "training.max_steps": 2})
    run(nlp)
    assert [drop for _, drop in counter.updates] == pytest.approx([0.3] * 3)


def test_frozen_and_annotating_components_reach_update(tmp_path, monkeypatch):
    nlp, counter = counter_nlp(tmp_path, **{"training.annotating_components": ["counter"],
                                            "training.max_steps": 1})
    seen = []
    update = nlp.update

    def spy(examples, **kwargs):
        seen.append(kwargs)
        return update(examples, **kwargs)

    monkeypatch.setattr(nlp, "update", spy)
    run(nlp)
    assert [kw["annotates"] for kw in seen] == [["counter"], ["counter"]]
    assert all(kw["sgd"] is False and kw["exclude"] == [] for kw in seen)


def test_callbacks_before_update_and_before_to_disk(tmp_path):
    nlp, counter = counter_nlp(tmp_path, **{
        "training.max_steps": 3,
        "training.before_update": {"@callbacks": "test_loop.record_updates.v1"},
        "training.before_to_disk": {"@callbacks": "test_loop.mark_meta.v1"}})
    UPDATES_SEEN.clear()
    run(nlp, tmp_path / "out")
    assert UPDATES_SEEN == [{"step": i, "epoch": 0} for i in range(4)]
    meta = nlp_core.load(tmp_path / "out" / "model-last").meta
    assert meta["description"] == "marked before saving"


def test_saves_model_best_and_last_with_performance(tmp_path):
    nlp, counter = counter_nlp(tmp_path)
    output = run(nlp, tmp_path / "out")
    for name in ("model-best", "model-last"):
        assert (tmp_path / "out" / name / "config.cfg").is_file()
    best = nlp_core.load(tmp_path / "out" / "model-best")
    assert best.pipe_names == ["counter"]
    # the score rises with every step (peak 1000): the best model is the last evaluation
    assert best.meta["performance"]["counter_acc"] == pytest.approx(1 - (1000 - 21) / 100)
    assert "model-best" in output


def test_unknown_score_weight_is_an_error(tmp_path):
    nlp, _ = counter_nlp(tmp_path, **{"training.score_weights": {"tag_acc": 1.0}})
    with pytest.raises(ValueError, match="'tag_acc'.*counter_acc"):
        run(nlp)


def test_weight_on_a_per_type_table_is_an_error(tmp_path):
    nlp, _ = counter_nlp(tmp_path, **{"training.score_weights": {"counter_types": 1.0}})
    with pytest.raises(ValueError, match="not a number"):
        run(nlp)


def test_frozen_component_is_not_updated(tmp_path):
    nlp, counter = counter_nlp(tmp_path, **{"training.frozen_components": ["counter"],
                                            "training.max_steps": 3})
    run(nlp)
    assert counter.updates == [] and counter.steps == 0
    with pytest.raises(ValueError, match="frozen_components names 'tagger'"):
        counter_nlp(tmp_path, **{"training.frozen_components": ["tagger"]})


def test_empty_training_corpus_is_an_error_before_initializing(tmp_path):
    with pytest.raises(ValueError, match=r"corpora.train\) yielded no usable examples"):
        with pytest.warns(UserWarning, match="max_length = 1"):
            counter_nlp(tmp_path, **{"corpora.train.max_length": 1})


def test_subdivide_batch_keeps_every_example(vocab):
    from nlp_core.tokens import Doc

    docs = [Doc(vocab, words=["w"] * n) for n in (5, 1, 3, 2, 4)]
    batch = [Example(d, d.copy()) for d in docs]
    parts = list(subdivide_batch(batch, 2))
    assert [[len(eg.predicted) for eg in part] for part in parts] == [[1, 2], [3, 4, 5]]
    assert len(list(subdivide_batch(batch, 1))) == 1


def test_train_batches_shuffle_each_epoch_reproducibly():
    from thinc.api import fix_random_seed

    nlp = nlp_core.blank("en")
    items = list(range(20))

    def epochs(seed):
        fix_random_seed(seed)
        batches = train_batches(nlp, lambda nlp: items, lambda xs: [list(xs)], max_epochs=3)
        return [tuple(batch) for _, batch in batches]

    first = epochs(0)
    assert len(first) == 3 and first[0] != first[1]
    assert epochs(0) == first
    assert epochs(1) != first


def test_parameter_averages_are_used_for_evaluating_and_saving():
    import numpy
    from thinc.api import Adam, Linear

    from nlp_core.training.loop import averaged_params

    class Dense:
        is_trainable = True

        def __init__(self):
            self.model = Linear(2, 2)
            self.model.initialize()

    nlp = nlp_core.blank("en")
    dense = Dense()
    nlp._components.append(("dense", dense))
    optimizer = Adam(0.1, use_averages=True)
    for _ in range(3):
        W = dense.model.get_param("W")
        dense.model.inc_grad("W", numpy.ones_like(W))
        dense.model.inc_grad("b", numpy.ones(2, dtype="f"))
        dense.model.finish_update(optimizer)
    current = dense.model.get_param("W").copy()
    with averaged_params(nlp, optimizer):
        inside = dense.model.get_param("W").copy()
    assert not numpy.allclose(inside, current)
    numpy.testing.assert_array_equal(dense.model.get_param("W"), current)
    with averaged_params(nlp, Adam(0.1)):
        numpy.testing.assert_array_equal(dense.model.get_param("W"), current)


def test_training_runs_blas_single_threaded_unless_the_user_chose(monkeypatch):
    import threadpoolctl  # a dependency of the package

    from nlp_core.training.loop import BLAS_THREAD_VARIABLES, single_blas_thread

    def blas_threads():
        return {info["num_threads"] for info in threadpoolctl.threadpool_info()
                if info["user_api"] == "blas"}

    for name in BLAS_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    before = blas_threads()
    with single_blas_thread():
        assert blas_threads() <= {1}
    assert blas_threads() == before
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    with single_blas_thread():
        assert blas_threads() == before
