"""Fixtures of the transformer tests: a tiny random BERT on disk, a blank English
pipeline, and torch on one thread (on a small, busy machine several torch threads spin
against each other and make these tiny models ~100x slower)."""
import pytest
import torch
from ml.transformer.tiny_bert import make_tiny_bert


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    return make_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture(autouse=True)
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def nlp():
    import nlp_core

    return nlp_core.blank("en")
