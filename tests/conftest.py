"""Shared test fixtures."""
import pytest


@pytest.fixture
def vocab():
    from nlp_core.vocab import Vocab

    return Vocab(lang="en")


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    """A tiny random BERT with a matching tokenizer, saved once per session (see
    tests/ml/transformer/tiny_bert.py); tests only read it."""
    from ml.transformer.tiny_bert import make_tiny_bert

    return make_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture
def one_torch_thread():
    """torch on one thread for the test: on a small, busy machine several torch threads
    spin against each other and make the tiny models ~100x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def one_blas_thread():
    """numpy's OpenBLAS on one thread for a module (`pytestmark =
    pytest.mark.usefixtures("one_blas_thread")`): it runs small products on a thread per
    core, and on a busy machine that makes the tiny matrices of these tests many times
    slower."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield


@pytest.fixture
def nlp():
    """A blank English pipeline (tokenizer only); some modules override it with their own."""
    import nlp_core

    return nlp_core.blank("en")
