"""Long runs: the strings and lexemes a pipeline adds while annotating are dropped once
they exceed a bound (so memory does not grow with the number of distinct words), without
changing any annotation; each worker's peak RSS is in the run summary."""
import json
import os
import random

from beam_jobs import annotate
from beam_jobs.arrow import docs_to_record_batch
from beam_jobs.model import SharedPipeline
from beam_jobs.records import Record
from nlp_core.vocab import Vocab

LETTERS = "bcdfghjklmnprstvwz"
VOWELS = "aeiou"


def made_up_words(rng: random.Random, n: int):
    return ["".join(rng.choice(LETTERS) + rng.choice(VOWELS) for _ in range(rng.randint(2, 4)))
            for _ in range(n)]


def synthetic_texts(seed: int, n: int):
    rng = random.Random(seed)
    return [f"The {w[0]} of {w[1].title()} saw {w[2]} in {w[3].title()} City. "
            f"They said {w[4]}." for w in (made_up_words(rng, 5) for _ in range(n))]


def test_vocab_forgets_what_was_added_since_a_mark():
    vocab = Vocab(["apple"], lang="en")
    vocab["apple"]
    mark = vocab.mark()
    version = vocab.lex_version
    for word in ("zorb", "Quux", "blarg"):
        vocab[word]
    assert "zorb" in vocab.strings and vocab.strings["zorb"] in vocab
    dropped = vocab.forget_since(mark)
    assert dropped >= 3 and len(vocab.strings) == mark[0] and len(vocab) == mark[1]
    assert "zorb" not in vocab.strings and "apple" in vocab.strings
    assert vocab.lex_version > version
    # words come back as they were
    assert vocab["Quux"].lower_ == "quux" and vocab["apple"].shape_ == "xxxx"


def _rows(pipeline, texts):
    records = [Record(f"d{i}", "s", i, None, t, None, len(t), len(t)) for i, t in
               enumerate(texts)]
    with pipeline.batch():
        docs, _, failures = pipeline.annotate_pieces(texts)
        assert not failures
        return docs_to_record_batch(records, docs, keep_text=False, pipeline_name="x",
                                    pipeline_version="1").to_pylist()


def test_dropping_strings_between_batches_changes_no_annotation():
    bounded = SharedPipeline("en_ewt_sm", max_new_strings=30)
    unbounded = SharedPipeline("en_ewt_sm", max_new_strings=10 ** 9)
    base = len(bounded.nlp.vocab.strings)
    sizes = []
    for seed in range(6):
        texts = synthetic_texts(seed, 4)
        assert _rows(bounded, texts) == _rows(unbounded, texts)
        sizes.append(len(bounded.nlp.vocab.strings) - base)
    assert bounded.strings_dropped > 0
    # never more than the bound plus what one batch adds
    assert max(sizes) <= 30 + max(sizes[:1]) * 2
    assert len(unbounded.nlp.vocab.strings) - base > 2 * max(sizes)
    # the bounded pipeline's tokenizer cache was emptied with the strings
    assert bounded.nlp.tokenizer.cache_size < unbounded.nlp.tokenizer.cache_size


def test_the_run_summary_reports_peak_rss_per_worker(tmp_path):
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"text": t}) + "\n"
                                               for t in synthetic_texts(0, 50)))
    summary = annotate.run(["--input", str(tmp_path / "in.jsonl"), "--output",
                            str(tmp_path / "out"), "--model", "blank:en",
                            "--runner=FnApiRunner"])
    peaks = summary["peak_rss_mb"]
    assert peaks["launcher"] > 50
    # the in-memory runner's worker is this process
    [(name, mib)] = peaks["workers"].items()
    assert name.endswith(f":{os.getpid()}") and 50 < mib <= peaks["launcher"]
    lines = annotate.report_lines(summary)
    assert any(line.startswith("peak RSS:") for line in lines)


def test_a_zero_bound_drops_after_every_batch():
    pipeline = SharedPipeline("blank:en", max_new_strings=0)
    base = len(pipeline.nlp.vocab.strings)
    first = _rows(pipeline, synthetic_texts(1, 4))
    grown = len(pipeline.nlp.vocab.strings) - base
    for seed in range(2, 6):
        _rows(pipeline, synthetic_texts(seed, 4))
        assert len(pipeline.nlp.vocab.strings) - base <= 2 * grown
    assert _rows(pipeline, synthetic_texts(1, 4)) == first
