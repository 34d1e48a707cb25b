"""max_batch_items = "auto" (nlp_core/ml/transformer/batch_items.py): the choice, the
component's use of it, and the setting's checks. The timing on a real GPU is measured by
benchmarks/gpu_trf_job.py (`GPU_STEPS=trf_job bash benchmarks/gpu_run.sh`); here the device
is faked where it matters."""
from types import SimpleNamespace

import numpy
import pytest

import nlp_core
from nlp_core.ml.transformer import batch_items
from nlp_core.ml.transformer.batch_items import DEFAULT_ITEMS, OutOfMemory, choose

DOC_SPANS = {"@span_getters": "spacy-transformers.doc_spans.v1"}
GIB = 1 << 30


def fake_run(seconds_by_items, *, bytes_per_item=1000, oom_from=None, calls=None):
    def run(items):
        if calls is not None:
            calls.append(items)
        if oom_from is not None and items >= oom_from:
            raise OutOfMemory()
        return seconds_by_items[items], bytes_per_item * items
    return run


def test_choose_keeps_the_fastest_and_stops_after_two_slower_sizes():
    times = {4096: 1.0, 8192: 0.7, 16384: 0.5, 32768: 0.55, 65536: 0.6, 131072: 0.4}
    calls = []
    choice = choose(fake_run(times, calls=calls), whole_batch=10 ** 6, free_bytes=100 * GIB)
    assert choice.items == 16384
    assert calls == [4096, 8192, 16384, 32768, 65536]  # 131072 is never tried
    assert "not faster" in choice.stopped_by
    assert "16384: 500.0 ms" in choice.describe()


def test_a_larger_size_must_gain_more_than_the_noise():
    times = {4096: 1.0, 8192: 0.99, 16384: 0.985}
    choice = choose(fake_run(times), whole_batch=10 ** 6, free_bytes=100 * GIB)
    assert choice.items == 4096


def test_choose_stops_where_memory_would_not_hold_the_next_size():
    times = {4096: 1.0, 8192: 0.8, 16384: 0.6, 32768: 0.5}
    # 1,000 bytes a position, half of 40 MB usable: 16,384 fits, 32,768 would not
    choice = choose(fake_run(times), whole_batch=10 ** 6, free_bytes=40_000_000)
    assert choice.items == 16384 and choice.stopped_by.startswith("memory")


def test_choose_stops_at_out_of_memory_and_keeps_the_size_before():
    times = {4096: 1.0, 8192: 0.8, 16384: 0.6}
    choice = choose(fake_run(times, oom_from=16384), whole_batch=10 ** 6,
                    free_bytes=100 * GIB)
    assert choice.items == 8192 and "out of memory at 16384" in choice.stopped_by


def test_choose_stops_once_one_sub_batch_holds_the_batch():
    """No split was fastest: the size kept is the largest the memory bound allows, so
    that a later, larger batch is not split either; here MAX_ITEMS bounds it."""
    calls = []
    choice = choose(fake_run({4096: 1.0, 8192: 0.9}, calls=calls), whole_batch=6000,
                    free_bytes=100 * GIB)
    assert calls == [4096, 8192] and choice.items == batch_items.MAX_ITEMS
    assert choice.stopped_by.startswith("one sub-batch holds the batch; no split was")


def test_no_split_fastest_grows_only_as_far_as_memory_allows():
    # the batch (6,000 positions) peaks at 1,000 bytes a position at 8,192 (8.192 MB over
    # 6,000 positions: 1,365 a position); half of 100 MB holds 36,621 positions: 32,768
    choice = choose(fake_run({4096: 1.0, 8192: 0.9}), whole_batch=6000,
                    free_bytes=100_000_000)
    assert choice.items == 32768 and "32768, as memory allows" in choice.stopped_by
    # memory already too tight for twice the holding size: it stays
    choice = choose(fake_run({4096: 1.0, 8192: 0.9}), whole_batch=6000,
                    free_bytes=30_000_000)
    assert choice.items == 8192 and choice.stopped_by == "one sub-batch holds the batch"


def test_holding_the_batch_but_not_faster_keeps_the_fastest():
    # 8,192 holds the batch but gains less than the noise over 4,096: 4,096 stays
    choice = choose(fake_run({4096: 1.0, 8192: 0.99}), whole_batch=6000,
                    free_bytes=100 * GIB)
    assert choice.items == 4096 and choice.stopped_by == "one sub-batch holds the batch"


@pytest.mark.parametrize("value", [0, -5, "big", 1.5, True, None, "4096"])
def test_bad_values_name_the_component(value):
    with pytest.raises(ValueError, match=r"E726.*components\.trf\].*max_batch_items"):
        batch_items.check_max_batch_items(value, name="trf")


def test_good_values():
    assert batch_items.check_max_batch_items("auto", name="t") == "auto"
    assert batch_items.check_max_batch_items(2048, name="t") == 2048
    assert batch_items.check_max_batch_items(2048.0, name="t") == 2048


def trf_nlp(tiny_bert, value):
    nlp = nlp_core.blank("en")
    nlp.add_pipe("transformer", config={"max_batch_items": value, "model": {
        "name": str(tiny_bert), "get_spans": DOC_SPANS}})
    nlp.initialize()
    return nlp


def long_texts(n_docs=120, words=200):
    rng = numpy.random.default_rng(0)
    vocab = "the cat sat on a mat new york city is big and dog ran fast".split()
    return [" ".join(rng.choice(vocab, size=int(rng.integers(5, words)))) for _ in
            range(n_docs)]


def test_auto_on_the_cpu_is_the_default_and_measures_nothing(tiny_bert, one_torch_thread,
                                                             monkeypatch):
    nlp = trf_nlp(tiny_bert, "auto")
    trf = nlp.get_pipe("transformer")
    monkeypatch.setattr(batch_items, "tune_on_gpu", lambda *a, **k: pytest.fail("tuned"))
    docs = list(nlp.pipe(long_texts(), batch_size=1000))
    assert sum(len(d) for d in docs) >= batch_items.TUNE_MIN_TOKENS
    assert trf.model.attrs["max_batch_items"] == DEFAULT_ITEMS
    assert trf.tuned_max_batch_items is None and trf.cfg["max_batch_items"] == "auto"


def test_auto_survives_saving_and_load_time_overrides_rule(tiny_bert, tmp_path):
    nlp = trf_nlp(tiny_bert, "auto")
    nlp.to_disk(tmp_path / "p")
    loaded = nlp_core.load(tmp_path / "p")
    assert loaded.get_pipe("transformer").cfg["max_batch_items"] == "auto"
    # cfg.json says "auto" too; the override wins over it
    changed = nlp_core.load(tmp_path / "p", config={
        "components.transformer.max_batch_items": 1024})
    trf = changed.get_pipe("transformer")
    assert trf.cfg["max_batch_items"] == 1024 and trf.model.attrs["max_batch_items"] == 1024
    with pytest.raises(ValueError, match="E726"):
        nlp_core.load(tmp_path / "p", config={"components.transformer.max_batch_items": 0})


class FakeCuda:
    type = "cuda"

    def __str__(self):
        return "cuda:0 (faked)"


def test_auto_on_a_gpu_measures_the_first_large_batch(tiny_bert, one_torch_thread,
                                                       monkeypatch):
    """The component's side of "auto" with the device faked: the trials predict the
    real batch at each size (timed on the CPU clock), the fastest is kept, later batches
    and training use what they should, and the annotations are those of the default."""
    nlp = trf_nlp(tiny_bert, "auto")
    trf = nlp.get_pipe("transformer")
    texts = long_texts()
    expected = [d._.trf_data.wordpiece_output.copy() for d in
                trf_nlp(tiny_bert, DEFAULT_ITEMS).pipe(texts, batch_size=1000)]
    tried = []

    def tune(predict, *, whole_batch, device):
        def run(items):
            tried.append(items)
            predict(items)
            # a made-up clock that makes 8,192 the fastest, whatever the CPU does
            return {4096: 1.0, 8192: 0.5}.get(items, 0.9), 10 * items
        return choose(run, whole_batch=whole_batch, free_bytes=100 * GIB)

    monkeypatch.setattr(batch_items, "tune_on_gpu", tune)
    monkeypatch.setattr(type(trf), "_encoder_device", lambda self: FakeCuda())
    small = list(nlp.pipe(texts[:3]))  # too few tokens to tell sizes apart
    assert tried == [] and trf.tuned_max_batch_items is None and len(small) == 3
    docs = list(nlp.pipe(texts, batch_size=1000))
    assert tried[:3] == [4096, 8192, 16384] and trf.tuned_max_batch_items == 8192
    for doc, want in zip(docs, expected):
        numpy.testing.assert_allclose(doc._.trf_data.wordpiece_output, want, atol=1e-5)
    assert trf.model.attrs["max_batch_items"] == 8192
    n_trials = len(tried)
    list(nlp.pipe(texts, batch_size=1000))
    assert len(tried) == n_trials  # measured once per process
    trf._begin_update([nlp.make_doc(t) for t in texts[:2]], 0.0)
    assert trf.model.attrs["max_batch_items"] == DEFAULT_ITEMS  # training: the default
    trf.set_max_batch_items("auto")
    assert trf.tuned_max_batch_items is None  # set again: measured again


class FakeCudaMemory:
    """torch.cuda's clock and memory counters as tune_on_gpu reads them: each prediction
    at `items` allocates 1,000 bytes a position and takes 1 / items seconds of a fake
    clock (larger sizes faster, beyond MIN_GAIN: no timing noise decides the trials), and
    sizes from `oom_from` run out."""

    def __init__(self, oom_from):
        import torch

        self.torch = torch
        self.oom_from = oom_from
        self.allocated = 10_000
        self.peak = self.allocated
        self.now = 0.0

    def install(self, monkeypatch):
        monkeypatch.setattr(batch_items, "time", SimpleNamespace(perf_counter=lambda: self.now))
        cuda = self.torch.cuda
        for name, value in {
                "synchronize": lambda device=None: None,
                "memory_allocated": lambda device=None: self.allocated,
                "max_memory_allocated": lambda device=None: self.peak,
                "reset_peak_memory_stats": self.reset,
                "memory_reserved": lambda device=None: self.allocated + 5_000_000,
                "mem_get_info": lambda device=None: (95_000_000, 200_000_000),
                "empty_cache": lambda: None}.items():
            monkeypatch.setattr(cuda, name, value)

    def reset(self, device=None):
        self.peak = self.allocated

    def predict(self, items):
        if items >= self.oom_from:
            raise self.torch.cuda.OutOfMemoryError("fake")
        self.peak = max(self.peak, self.allocated + 1000 * items)
        self.now += 1.0 / items


def test_tune_on_gpu_reads_torchs_counters(monkeypatch):
    """tune_on_gpu's own code (torch.cuda's counters, out of memory) with the counters
    faked: the memory bound comes from the peak per position and what is free to torch."""
    fake = FakeCudaMemory(oom_from=1 << 30)
    fake.install(monkeypatch)
    choice = batch_items.tune_on_gpu(fake.predict, whole_batch=10 ** 6, device="cuda:0")
    # free to torch: 95 MB + 5 MB reserved-but-unused; half of it holds 50,000 positions
    # at 1,000 bytes: 32,768 is the last size tried
    assert [t.items for t in choice.trials] == [4096, 8192, 16384, 32768]
    assert choice.trials[0].peak_bytes == 4096 * 1000
    assert choice.stopped_by.startswith("memory")
    fake = FakeCudaMemory(oom_from=16384)
    fake.install(monkeypatch)
    choice = batch_items.tune_on_gpu(fake.predict, whole_batch=10 ** 6, device="cuda:0")
    assert [t.items for t in choice.trials] == [4096, 8192]
    assert choice.stopped_by == "out of memory at 16384" and choice.items in (4096, 8192)
