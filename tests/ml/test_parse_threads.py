"""set_parse_threads (nlp_core/ml/parse_threads.py): the parser's and entity recogniser's
greedy C loops on a pool of threads give the parses of the single-threaded loop."""
import threading
import time
from pathlib import Path

import pytest

import nlp_core
from nlp_core.ml import parse_threads, parser_step

DEV = Path(__file__).resolve().parents[3] / "shared" / "data" / "ud_english_ewt" / \
    "en_ewt-ud-dev.conllu"


@pytest.fixture(scope="module")
def texts():
    lines = DEV.read_text("utf8").splitlines()
    sentences = [line[len("# text = "):] for line in lines if line.startswith("# text = ")]
    # documents of 5 sentences: about 8,000 tokens, 4 chunks of the parser's 2,048
    return [" ".join(sentences[i:i + 5]) for i in range(0, 500, 5)]


@pytest.fixture(scope="module")
def nlp():
    return nlp_core.load("en_ewt_sm")


@pytest.fixture
def threads():
    """Restore the process's setting after the test."""
    yield parse_threads.set_parse_threads
    parse_threads.set_parse_threads(1)


def annotations(nlp, texts):
    docs = list(nlp.pipe(texts, batch_size=len(texts)))
    return ([(t.head.i, t.dep_, t.tag_) for doc in docs for t in doc],
            [(e.start, e.end, e.label_) for doc in docs for e in doc.ents])


def loop_threads(monkeypatch):
    """Record the thread each C loop ran on."""
    names = []
    real = parser_step._c_greedy_parse

    def recorded(*args):
        names.append(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(parser_step, "_c_greedy_parse", recorded)
    return names


def test_threads_give_the_same_parses_and_entities(nlp, texts, threads, monkeypatch):
    single = annotations(nlp, texts)
    names = loop_threads(monkeypatch)
    threads(3)
    assert annotations(nlp, texts) == single
    # parser and NER, 4 chunks each, all on the pool
    assert len(names) == 8 and all(n.startswith("nlp-core-parse") for n in names)
    assert len(single[0]) > 6000 and len(single[1]) > 100


def test_one_thread_parses_on_the_caller(nlp, texts, threads, monkeypatch):
    names = loop_threads(monkeypatch)
    threads(1)
    list(nlp.pipe(texts[:20], batch_size=20))
    assert names and set(names) == {threading.current_thread().name}


def test_the_gpu_branch_reuses_one_device_buffer(nlp, texts, threads, monkeypatch):
    """Over ops other than NumpyOps (a GPU's) the loops read host copies of the features,
    and one device buffer serves every chunk. Faked on the CPU: the ops check fails and
    the host copy is made as on a GPU; the parses must not change."""
    single = annotations(nlp, texts)
    real_host = parser_step.host_weights
    copied = []

    def host_copy(model, F):
        copied.append(F.base if F.base is not None else F)
        return tuple(None if a is None else a.copy() for a in real_host(model, F))

    monkeypatch.setattr(parser_step, "NumpyOps", type("NotTheseOps", (), {}))
    monkeypatch.setattr(parser_step, "host_weights", host_copy)
    threads(4)
    assert annotations(nlp, texts) == single
    per_parse = len(copied) // 2
    assert per_parse == 4 and len({id(b) for b in copied[:per_parse]}) == 1


def test_an_error_in_one_loop_is_raised_after_every_loop_ends(nlp, texts, threads,
                                                              monkeypatch):
    ended = []
    calls = []

    def failing(*args):
        calls.append(1)
        if len(calls) == 2:
            raise MemoryError("fake")
        time.sleep(0.05)
        ended.append(1)
        return 0

    monkeypatch.setattr(parser_step, "_c_greedy_parse", failing)
    threads(4)
    parser = nlp.get_pipe("parser")
    docs = [nlp.make_doc(t) for t in texts]
    for name, proc in nlp.pipeline:
        if name in ("tok2vec", "tagger"):
            docs = list(proc.pipe(docs))
    with pytest.raises(MemoryError, match="fake"):
        parser.predict(docs)
    assert len(calls) == 4 and len(ended) == 3  # the other loops finished first


@pytest.mark.parametrize("value", [0, -1, 1.5, "2", True, None])
def test_bad_thread_counts_are_refused(value):
    with pytest.raises(ValueError, match=r"E727.*set_parse_threads"):
        nlp_core.set_parse_threads(value)


def test_gpu_default_leaves_the_caller_a_core(monkeypatch):
    monkeypatch.setattr(parse_threads, "usable_cpus", lambda: 16)
    assert parse_threads.default_gpu_threads() == parse_threads.MAX_DEFAULT_THREADS
    monkeypatch.setattr(parse_threads, "usable_cpus", lambda: 4)
    assert parse_threads.default_gpu_threads() == 3
    monkeypatch.setattr(parse_threads, "usable_cpus", lambda: 1)
    assert parse_threads.default_gpu_threads() == 1
    monkeypatch.setattr(parse_threads, "usable_cpus", lambda: 16)
    assert parse_threads.default_gpu_threads(2) == 7  # two GPU processes share the cores
    assert parse_threads.default_gpu_threads(32) == 1


def test_the_pool_follows_the_setting(threads):
    threads(2)
    first = parse_threads.executor()
    assert parse_threads.executor() is first
    threads(3)
    assert parse_threads.executor() is not first
    assert parse_threads.parse_threads() == 3


def test_a_replaced_pool_still_takes_the_work_of_a_parse_in_flight(threads):
    """Another thread changing the count must not break a parse holding the old pool:
    the old pool is dropped, not shut down (it would refuse that parse's next chunk)."""
    threads(2)
    old = parse_threads.executor()
    threads(3)
    assert parse_threads.executor() is not old
    assert old.submit(sum, [1, 2]).result(timeout=10) == 3


def test_a_forked_child_gets_a_free_lock(threads):
    """A fork while another thread holds the pool's lock: the child's lock is free."""
    import multiprocessing

    threads(2)
    with parse_threads._lock:  # held by this (the forking) thread, as by another
        context = multiprocessing.get_context("fork")
        with context.Pool(1) as pool:
            made = pool.apply_async(_child_executor).get(timeout=60)
    assert made == 2


def _child_executor():
    return parse_threads.executor()._max_workers


def test_a_forked_process_makes_its_own_pool(nlp, texts, threads):
    """A child forked after the parent made its pool parses (the inherited pool's threads
    do not exist in it)."""
    import multiprocessing

    threads(2)
    list(nlp.pipe(texts[:20], batch_size=20))  # the parent's pool exists
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        heads = pool.apply_async(_child_parse, (texts[:40],)).get(timeout=120)
    assert heads == [t.head.i for d in nlp.pipe(texts[:40], batch_size=40) for t in d]


def _child_parse(texts):
    nlp = nlp_core.load("en_ewt_sm")
    return [t.head.i for d in nlp.pipe(texts, batch_size=len(texts)) for t in d]
