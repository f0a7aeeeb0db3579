"""How a result was made: git state, parameters hash, versions, device."""

from __future__ import annotations

import hashlib
import json
import platform
import socket
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

_PACKAGES = ("augprior", "torch", "torchvision", "timm", "numpy", "pillow", "scikit-learn", "pandas")


def params_hash(params: Any) -> str:
    """Short, stable hash of a JSON-serialisable parameter structure."""
    blob = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def git_state(cwd: str | Path | None = None) -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        # results/ and paper_tables/ are outputs, not code: they don't make the code dirty
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", ".",
                         ":(exclude)paper_tables", ":(exclude)dvc.lock", ":(exclude)params.yaml"))
        return {"commit": commit, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def device_info(device: Any = None) -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {"device": str(device) if device is not None else "cpu",
                            "cpu": platform.processor() or platform.machine(),
                            "threads": torch.get_num_threads(), "host": socket.gethostname()}
    if device is not None and str(device).startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def provenance(params: Any, *, scale: str | None, seed: int | None, device: Any = None,
               started: float | None = None) -> dict[str, Any]:
    """The record every metrics.json carries."""
    prov = {
        "git": git_state(),
        "params_hash": params_hash(params),
        "params": params,
        "scale": scale,
        "seed": seed,
        "versions": versions(),
        **device_info(device),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if started is not None:
        prov["wall_time_s"] = round(time.time() - started, 3)
    return prov
