"""Paths to ../shared/data. A missing file fails the test loudly (it is never skipped)."""
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def shared_path(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"Test data {path} is missing: the tests need ../shared/data beside the repo.")
    return path
