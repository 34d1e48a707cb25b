"""Token-count batching (beam_jobs/batching.py): batches cut by estimated tokens within
length buckets, a long document on its own at once, memory bounded by one batch per
bucket, the estimate learnt from the pipeline's token counts; --batch-tokens 0 keeps the
sorted pools."""
import json

import pytest

from beam_jobs.batching import (
    PRIOR_CHARS_PER_TOKEN,
    SortedPoolBatcher,
    TokenBatcher,
    TokenEstimate,
    make_batcher,
)
from beam_jobs.checking import CheckAndBatch
from beam_jobs.options import BATCH_TOKENS, AnnotateOptions, parse_options
from beam_jobs.records import JSONL, CheckOptions, RawChunk, RawItem, Record


def _record(i: int, n_chars: int) -> Record:
    return Record(doc_id=f"d{i}", source="f.jsonl", offset=i, line=i, text="x" * n_chars,
                  doc_data=None, n_chars=n_chars, n_bytes=n_chars, id_given=True)


def _feed(batcher, records):
    """(batches emitted while adding, batches of the final flush)."""
    emitted = [batch for record in records for batch in batcher.add(record)]
    return emitted, list(batcher.flush())


def test_the_estimate_starts_from_the_prior_and_learns_the_pipelines_tokens():
    estimate = TokenEstimate()
    assert estimate.chars_per_token == pytest.approx(PRIOR_CHARS_PER_TOKEN)
    assert estimate(45) == 10 and estimate(1) == 1 and estimate(0) == 1
    estimate.observe(2_000_000, 1_000_000)  # e.g. Chinese: 2 characters a token
    assert estimate.chars_per_token == pytest.approx(2.0, rel=0.01)
    assert estimate(200) == pytest.approx(100, abs=1)
    estimate.observe(0, 0)  # an empty batch changes nothing
    assert estimate.chars_per_token == pytest.approx(2.0, rel=0.01)


def test_batches_hold_documents_of_one_length_bucket_within_the_token_budget():
    batcher = TokenBatcher(batch_tokens=1_000, batch_size=1_000, batch_chars=10**9,
                           estimate=TokenEstimate(prior=1.0))
    lengths = [3, 900, 40, 5, 70, 33, 6, 120, 64, 2_000, 7, 50, 250, 35] * 20
    emitted, rest = _feed(batcher, [_record(i, n) for i, n in enumerate(lengths)])
    batches = emitted + rest
    assert sorted(r.n_chars for b in batches for r in b) == sorted(lengths)
    for batch in batches:
        sizes = [r.n_chars for r in batch]
        assert sizes == sorted(sizes)
        if len(batch) > 1:
            assert max(sizes) < min(sizes) * 2 ** 0.5  # one bucket: within 1.42x
            assert len(batch) * max(sizes) <= 1_000  # padded tokens within budget
    # the 2,000-token document is a batch of its own, out as soon as it was read
    assert [r.n_chars for r in emitted[0]] == [2_000]


def test_a_long_document_leaves_at_once_and_never_waits_for_the_short_ones():
    batcher = TokenBatcher(batch_tokens=1_000, batch_size=256, batch_chars=10**9,
                           estimate=TokenEstimate(prior=1.0))
    short = [_record(i, 20) for i in range(10)]
    for record in short:
        assert list(batcher.add(record)) == []  # short ones wait to fill a batch
    out = list(batcher.add(_record(99, 1_700_000)))
    assert [[r.doc_id for r in b] for b in out] == [["d99"]]
    assert batcher.held_chars == 200  # the short ones still wait together
    assert [len(b) for b in batcher.flush()] == [10]


def test_what_the_batcher_holds_stays_under_one_batch_per_bucket():
    budget = 2_000
    batcher = TokenBatcher(batch_tokens=budget, batch_size=10**6, batch_chars=10**9,
                           estimate=TokenEstimate(prior=1.0))
    lengths = [1 + (i * 7919) % 1_999 for i in range(5_000)]
    seen = 0
    for i, n in enumerate(lengths):
        seen += sum(len(b) for b in batcher.add(_record(i, n)))
        # two buckets a doubling below the budget, each under one batch
        assert batcher.held_chars <= budget * 2 * budget.bit_length()
    seen += sum(len(b) for b in batcher.flush())
    assert seen == len(lengths)


def test_batch_size_and_batch_chars_still_cap_a_token_batch():
    batcher = TokenBatcher(batch_tokens=10**6, batch_size=4, batch_chars=100,
                           estimate=TokenEstimate(prior=1.0))
    emitted, rest = _feed(batcher, [_record(i, 8 + i % 2) for i in range(30)])
    for batch in emitted + rest:
        assert len(batch) <= 4 and sum(r.n_chars for r in batch) <= 100
    emitted, _ = _feed(TokenBatcher(10**6, 256, 100, TokenEstimate(prior=1.0)),
                       [_record(0, 150)])
    assert [len(b) for b in emitted] == [1]  # over --batch-chars: alone


def test_the_learnt_estimate_moves_the_cuts():
    """Texts of 2 characters a token are twice the tokens the English prior thinks."""
    lengths = [200] * 64
    prior = TokenBatcher(batch_tokens=1_000, batch_size=10**6, batch_chars=10**9)
    learnt = TokenBatcher(batch_tokens=1_000, batch_size=10**6, batch_chars=10**9)
    learnt.observe(1_000_000, 500_000)
    sizes = [[len(b) for b in sum(_feed(batcher, [_record(i, n) for i, n in
                                                     enumerate(lengths)]), [])]
             for batcher in (prior, learnt)]
    assert max(sizes[0]) == 1_000 // 45  # 200 chars ~ 45 tokens at 4.5 a token
    assert max(sizes[1]) == 1_000 // 100


def test_batch_tokens_zero_is_the_sorted_pool_of_earlier_versions():
    assert isinstance(make_batcher(256, 500_000, 0), SortedPoolBatcher)
    assert isinstance(make_batcher(256, 500_000, 16_000), TokenBatcher)
    fn = CheckAndBatch(CheckOptions(max_chars=10_000), batch_size=3, batch_chars=10**6,
                       batch_tokens=0)
    fn.setup()
    fn.start_bundle()
    items = [RawItem(i, None, json.dumps({"text": "y" * n}).encode())
             for i, n in enumerate((50, 5, 40, 7, 30, 9, 60))]
    out = [x for x in fn.process(RawChunk(JSONL, "f.jsonl", items), {}) if isinstance(x, list)]
    out += [w.value for w in fn.finish_bundle()]
    assert [[r.n_chars for r in b] for b in out] == [[5, 7, 9], [30, 40, 50], [60]]


def test_check_and_batch_learns_from_what_it_is_told():
    fn = CheckAndBatch(CheckOptions(max_chars=10_000), batch_size=10**6, batch_chars=10**9,
                       batch_tokens=100)
    fn.setup()
    fn.start_bundle()
    fn.observe(2_000, 2_000)
    # 1 character a token, with the prior's 2,000 tokens at 4.5: 11,000 / 4,000 = 2.75
    items = [RawItem(i, None, json.dumps({"text": "z" * 30}).encode()) for i in range(40)]
    out = [x for x in fn.process(RawChunk(JSONL, "f.jsonl", items), {}) if isinstance(x, list)]
    out += [w.value for w in fn.finish_bundle()]
    # 30 characters are 30 / 2.75 -> 11 tokens: 9 of them a batch (padded, <= 100)
    assert max(len(b) for b in out) == 100 // 11


def test_the_flag_defaults_to_token_batching_and_refuses_a_negative_budget(tmp_path):
    argv = ["--input", "x.jsonl", "--output", str(tmp_path / "o"), "--model", "blank:en"]
    assert parse_options(argv).view_as(AnnotateOptions).batch_tokens == BATCH_TOKENS > 0
    assert parse_options(argv + ["--batch-tokens", "0"]).view_as(
        AnnotateOptions).batch_tokens == 0
    with pytest.raises(ValueError, match="--batch-tokens must be 0 or more, got -5"):
        parse_options(argv + ["--batch-tokens=-5"])
