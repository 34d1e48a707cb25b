"""Fixtures of the transformer tests: a blank English pipeline, and every test on one torch
thread (`tiny_bert` and `one_torch_thread` are shared from tests/conftest.py)."""
import pytest


@pytest.fixture(autouse=True)
def _torch_on_one_thread(one_torch_thread):
    """Every test here runs with `one_torch_thread` (tests/conftest.py)."""


@pytest.fixture
def nlp():
    import nlp_core

    return nlp_core.blank("en")
