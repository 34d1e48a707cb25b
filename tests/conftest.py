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
