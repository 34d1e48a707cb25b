"""Every transformer test runs on one torch thread (`nlp`, `tiny_bert` and
`one_torch_thread` are shared from tests/conftest.py)."""
import pytest


@pytest.fixture(autouse=True)
def _torch_on_one_thread(one_torch_thread):
    """Every test here runs with `one_torch_thread` (tests/conftest.py)."""

