"""Shared test fixtures."""
import pytest


@pytest.fixture
def vocab():
    from nlp_core.vocab import Vocab

    return Vocab(lang="en")
