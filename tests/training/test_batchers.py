import pytest
from confection import Config

from nlp_core.registry import registry
from nlp_core.tokens import Doc
from nlp_core.training import Example
from nlp_core.training.batchers import (
    item_length,
    minibatch,
    minibatch_by_padded_size,
    minibatch_by_words,
)


def lengths(batches):
    return [[len(item) for item in batch] for batch in batches]


def items(*sizes):
    return ["x" * n for n in sizes]


def test_batches_fill_up_to_the_target_in_order():
    batches = list(minibatch_by_words(items(3, 3, 3, 3, 2, 2), 6, tolerance=0.0, get_length=len))
    assert lengths(batches) == [[3, 3], [3, 3], [2, 2]]


def test_tolerance_holds_back_items_for_the_next_batch():
    # target 6, limit 7.2: the 4 goes over the target but fits the margin, so it is held
    # back and starts the next batch
    batches = list(minibatch_by_words(items(3, 3, 1, 4, 2, 5), 6, tolerance=0.2, get_length=len))
    assert lengths(batches) == [[3, 3], [1, 4], [2, 5]]
    assert sum(len(b) for b in batches) == 6


def test_oversize_items_form_their_own_batch_or_are_discarded():
    seqs = items(2, 2, 30, 2)
    assert lengths(minibatch_by_words(seqs, 5, get_length=len)) == [[30], [2, 2, 2]]
    assert lengths(minibatch_by_words(seqs, 5, get_length=len, discard_oversize=True)) == \
        [[2, 2, 2]]


def test_compounding_size_grows_per_batch():
    from thinc.api import compounding

    size = compounding(2, 10, 2.0)
    seqs = items(*([1] * 60))
    first = [len(b) for b in minibatch_by_words(seqs, size, tolerance=0.0, get_length=len)]
    assert first[:5] == [2, 4, 8, 10, 10]
    assert sum(first) == 60


def test_registered_batcher_keeps_growing_across_epochs():
    # as in spaCy 3: the schedule is consumed over the batcher's life, not per epoch
    config = Config({"b": {"@batchers": "nlp_core.batch_by_words.v1", "tolerance": 0.0,
                           "get_length": None,
                           "size": {"@schedules": "compounding.v1", "start": 2, "stop": 16,
                                    "compound": 2.0}}})
    batcher = registry.resolve(config)["b"]
    epoch = items(*([1] * 14))
    assert [len(b) for b in batcher(epoch)] == [2, 4, 8]
    assert [len(b) for b in batcher(epoch)] == [14]  # size 16 now: one batch
    fixed = registry.resolve(Config({"b": {"@batchers": "nlp_core.batch_by_sequence.v1",
                                           "size": [1, 3]}}))["b"]
    assert [len(b) for b in fixed(range(5))] == [1, 3, 1]
    assert [len(b) for b in fixed(range(5))] == [1, 3, 1]


def test_a_list_of_sizes_repeats_its_last_value():
    seqs = items(*([1] * 10))
    assert [len(b) for b in minibatch(seqs, [1, 2, 3])] == [1, 2, 3, 3, 1]


@pytest.mark.parametrize("size", [0, -5, "big", []])
def test_bad_sizes_fail_naming_the_key(size):
    with pytest.raises(ValueError, match="training.batcher"):
        list(minibatch_by_words(items(1, 2), size, get_length=len))


def test_padded_batches_group_similar_lengths():
    seqs = items(3, 9, 1, 2, 8, 2, 2, 30, 1)
    batches = list(minibatch_by_padded_size(seqs, 10, buffer=5, get_length=len))
    for batch in batches:
        if len(batch) > 1:
            assert max(map(len, batch)) * len(batch) <= 10
    assert sorted(len(s) for b in batches for s in b) == sorted(map(len, seqs))
    kept = list(minibatch_by_padded_size(seqs, 10, buffer=5, get_length=len,
                                         discard_oversize=True))
    assert 30 not in [len(s) for b in kept for s in b]


def test_examples_are_measured_in_predicted_tokens(vocab):
    doc = Doc(vocab, words=["a", "b", "c"])
    assert item_length(Example(doc, doc.copy())) == 3
    assert item_length([1, 2]) == 2


def test_registered_batchers_resolve_from_config():
    config = Config().from_str("""
[batcher]
@batchers = "spacy.batch_by_words.v1"
tolerance = 0.0
discard_oversize = false
get_length = null

[batcher.size]
@schedules = "compounding.v1"
start = 2
stop = 4
compound = 2.0
""")
    batcher = registry.resolve(config)["batcher"]
    assert [len(b) for b in batcher(items(*([1] * 9)))] == [2, 4, 3]
    by_seq = registry.resolve(Config({"b": {"@batchers": "nlp_core.batch_by_sequence.v1",
                                            "size": 4}}))["b"]
    assert [len(b) for b in by_seq(range(10))] == [4, 4, 2]
    padded = registry.resolve(Config({"b": {"@batchers": "spacy.batch_by_padded.v1",
                                            "size": 6, "buffer": 8}}))["b"]
    assert sum(len(b) for b in padded(items(1, 2, 3, 1))) == 4
