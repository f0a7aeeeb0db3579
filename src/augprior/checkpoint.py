"""Model files (weights + how to rebuild them) and resumable training state, written atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from . import fileio
from .models import build_model


def save_model(path: str | os.PathLike, model: torch.nn.Module, *, arch: str, num_classes: int,
               in_chans: int, **extra: Any) -> None:
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    with fileio.atomic_path(path) as tmp:
        torch.save({"arch": arch, "num_classes": num_classes, "in_chans": in_chans,
                    "state_dict": state, **extra}, tmp)


def load_model(path: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[torch.nn.Module, dict]:
    """Rebuild a model saved by save_model; returns (model in eval mode, the file's metadata)."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as err:
        raise RuntimeError(f"{path}: cannot read model file ({err})") from err
    model = build_model(blob["arch"], blob["num_classes"], blob["in_chans"])
    model.load_state_dict(blob["state_dict"])
    meta = {k: v for k, v in blob.items() if k != "state_dict"}
    return model.to(device).eval(), meta


def save_state(path: str | os.PathLike, state: dict) -> None:
    with fileio.atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_state(path: str | os.PathLike) -> dict | None:
    path = Path(path)
    if not path.exists():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)


def rng_state() -> dict[str, Any]:
    """The global RNG states (python, numpy, torch CPU and every CUDA device) for a checkpoint."""
    import random

    import numpy as np

    state: dict[str, Any] = {"python": random.getstate(), "numpy": np.random.get_state(),
                             "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `rng_state` saved (CUDA states only when CUDA is available)."""
    import random

    import numpy as np

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
