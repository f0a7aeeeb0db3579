import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def mirror() -> Path:
    """The offline data mirror ($AUGPRIOR_MIRROR); tests that need real data skip without it."""
    path = os.environ.get("AUGPRIOR_MIRROR")
    if not path or not (Path(path) / "data").is_dir():
        pytest.skip("AUGPRIOR_MIRROR is not set to a data mirror")
    return Path(path).resolve()
