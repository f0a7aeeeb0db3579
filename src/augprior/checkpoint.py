"""Model files (weights + how to rebuild them) and resumable training state, written atomically.

Writes serialise to memory first and go to disk through fileio.write_bytes, so a full disk or an
I/O error is one `fileio.StorageError` naming the file (torch's own writer says only "file write
failed"), and the temporary file is removed. Reads that fail (a damaged or truncated file, a file
that is not a model, a bare state_dict) raise `CheckpointError`, one line naming the file and what
was expected.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from . import fileio
from .models import CheckpointError, build_model

MODEL_KEYS = ("arch", "num_classes", "in_chans", "state_dict")
MODEL_EXPECTED = ("a model file written by augprior (train-teacher's model.pt, distill's student.pt): "
                  "a torch file holding a dict with " + ", ".join(MODEL_KEYS))


def _save(path: str | os.PathLike, obj: Any) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    fileio.write_bytes(path, buf.getbuffer())


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _torch_load(path: Path, what: str, expected: str, weights_only: bool) -> Any:
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file ({what})" if not path.exists() else f"{path}: not a file")
    try:
        return torch.load(path, map_location="cpu", weights_only=weights_only)
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile,
            AttributeError, ImportError, KeyError, IndexError, TypeError, UnicodeDecodeError) as err:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(16)
        if not head.startswith((b"PK\x03\x04", b"\x80")):  # neither torch's zip format nor a legacy pickle
            why = f"not a torch file: {size} bytes starting with {head!r}"
        else:
            why = f"{type(err).__name__}: {_one_line(err)}; {size} bytes, damaged or truncated?"
        raise CheckpointError(f"{path}: cannot read the {what} ({why}); expected {expected}") from None


def save_model(path: str | os.PathLike, model: torch.nn.Module, *, arch: str, num_classes: int,
               in_chans: int, **extra: Any) -> None:
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    _save(path, {"arch": arch, "num_classes": num_classes, "in_chans": in_chans, "state_dict": state, **extra})


def load_model(path: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[torch.nn.Module, dict]:
    """Rebuild a model saved by save_model; returns (model in eval mode, the file's metadata).
    Raises CheckpointError naming the file when it is unreadable or not such a model file."""
    path = Path(path)
    blob = _torch_load(path, "model file", MODEL_EXPECTED, weights_only=True)
    if isinstance(blob, torch.nn.Module):
        raise CheckpointError(f"{path}: holds a pickled {type(blob).__name__} module, not weights; expected "
                              f"{MODEL_EXPECTED}")
    if not isinstance(blob, dict):
        raise CheckpointError(f"{path}: holds a {type(blob).__name__}; expected {MODEL_EXPECTED}")
    missing = [k for k in MODEL_KEYS if k not in blob]
    if missing:
        if blob and all(isinstance(v, torch.Tensor) for v in blob.values()):
            raise CheckpointError(
                f"{path}: a bare state_dict ({len(blob)} tensors), without the architecture to rebuild it; "
                f"expected {MODEL_EXPECTED}: save it as torch.save({{'arch': NAME, 'num_classes': N, "
                "'in_chans': 3, 'state_dict': sd}, PATH)")
        raise CheckpointError(f"{path}: no {', '.join(missing)} in the file; expected {MODEL_EXPECTED}")
    try:
        model = build_model(blob["arch"], blob["num_classes"], blob["in_chans"])
        model.load_state_dict(blob["state_dict"])
    except (RuntimeError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"{path}: its weights do not fit a {blob['arch']} with {blob['num_classes']} "
                              f"classes and {blob['in_chans']} channels ({_one_line(err)})") from None
    meta = {k: v for k, v in blob.items() if k != "state_dict"}
    return model.to(device).eval(), meta


def save_state(path: str | os.PathLike, state: dict) -> None:
    _save(path, state)


STATE_EXPECTED = "a training state written by an augprior run (a dict with version, kind, fingerprint, objects)"


def load_state(path: str | os.PathLike, what: str = "saved training state") -> dict | None:
    """The training state saved by save_state, or None when there is none. Raises CheckpointError
    naming the file when it is unreadable or not such a state (delete it to start over)."""
    path = Path(path)
    if not path.exists():
        return None
    state = _torch_load(path, what, STATE_EXPECTED + "; delete it to start over", weights_only=False)
    if not isinstance(state, dict):  # which job it belongs to is the run's check (augprior.runner)
        raise CheckpointError(f"{path}: holds a {type(state).__name__}, not a training state; "
                              f"expected {STATE_EXPECTED}; delete it to start over")
    return state


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
