import os
from pathlib import Path

import pytest
import torch

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


@pytest.fixture
def one_thread():
    """One torch thread for tiny networks: faster than two on shared cores, and bit-reproducible."""
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)
