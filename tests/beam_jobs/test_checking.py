"""CheckAndBatch: valid records are pooled, sorted by length and cut into batches; the
pool is bounded by documents and by characters, so long documents never pile up."""
import json

from beam_jobs.checking import POOL_BATCHES, CheckAndBatch
from beam_jobs.records import JSONL, CheckOptions, RawChunk, RawItem


def _chunk(texts, start=0):
    items = [RawItem(start + i, None, json.dumps({"text": t}).encode()) for i, t in
             enumerate(texts)]
    return RawChunk(JSONL, "f.jsonl", items)


def _run(fn, chunks):
    """Batches emitted while processing each chunk (before the bundle ends)."""
    fn.setup()
    fn.start_bundle()
    emitted = []
    for chunk in chunks:
        out = [x for x in fn.process(chunk, {}) if isinstance(x, list)]
        emitted.append(out)
    return emitted, list(fn.finish_bundle())


def test_batches_respect_size_and_chars_and_are_sorted_by_length():
    fn = CheckAndBatch(CheckOptions(max_chars=10_000), batch_size=3, batch_chars=100)
    texts = ["x" * n for n in (50, 5, 40, 7, 30, 9, 60)]
    emitted, rest = _run(fn, [_chunk(texts)])
    batches = [b for out in emitted for b in out] + [w.value for w in rest]
    assert sorted(r.n_chars for b in batches for r in b) == sorted(len(t) for t in texts)
    for batch in batches:
        assert len(batch) <= 3
        assert len(batch) == 1 or sum(r.n_chars for r in batch) <= 100
    lengths = [r.n_chars for b in batches for r in b]
    assert lengths == sorted(lengths)  # one pool: sorted across its batches


def test_the_pool_is_cut_once_it_holds_pool_chars_of_text():
    """Long documents: the pool is cut into batches as soon as it holds POOL_BATCHES x
    --batch-chars characters, long before it holds POOL_BATCHES x --batch-size documents."""
    batch_chars = 1_000
    fn = CheckAndBatch(CheckOptions(max_chars=10_000), batch_size=256,
                       batch_chars=batch_chars)
    long = ["y" * 900] * (POOL_BATCHES * 3)
    emitted, rest = _run(fn, [_chunk(long[i:i + 4], i) for i in range(0, len(long), 4)])
    assert any(emitted[:len(emitted) // 2])  # batches left while the input went on
    held = 0
    for out in emitted:  # what the pool held between chunks stayed bounded
        held = held + 4 * 900 - sum(r.n_chars for b in out for r in b)
        assert held < POOL_BATCHES * batch_chars + 4 * 900
    total = sum(len(b) for out in emitted for b in out) + sum(len(w.value) for w in rest)
    assert total == len(long)
