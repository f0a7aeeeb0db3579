"""How a result was made: git state, parameters hash, versions, device, and the data actually read
(where the mirror came from, the md5s or fingerprint of the dataset, the patch set and its source image)."""

from __future__ import annotations

import hashlib
import json
import os
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


# A run records the code it started with: a commit made while it trains (a long run, a worktree merge) must not
# be credited with its numbers, so the state is read once, when an engine imports this module.
GIT_AT_START = git_state()


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
        "git": GIT_AT_START,
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


def mirror_record(explicit: str | os.PathLike | None) -> dict[str, Any]:
    """The data mirror a job used and where that came from: params (data.mirror / --mirror), the
    environment ($AUGPRIOR_MIRROR) or none (augprior.manifest.mirror_dir's order)."""
    from .manifest import MIRROR_ENV, mirror_dir

    source = "params" if explicit else MIRROR_ENV if os.environ.get(MIRROR_ENV) else None
    path = mirror_dir(explicit)
    return {"mirror": str(path) if path else None, "mirror_from": source}


def dataset_record(name: str) -> dict[str, Any]:
    """What identifies the dataset `name` that was read: the md5 of each manifest file (each one is
    checked against it whenever it is resolved), or an image folder's fingerprint (augprior.jobs)."""
    from .jobs import IMAGEFOLDER_PREFIX, folder_fingerprint

    if name.startswith(IMAGEFOLDER_PREFIX):
        root = Path(name.removeprefix(IMAGEFOLDER_PREFIX)).expanduser().resolve()
        return {"name": name, "root": str(root), "fingerprint": folder_fingerprint(root),
                "fingerprint_of": "relative path, size and mtime of every file"}
    if name == "photos":  # files inside installed packages (augprior.photos)
        from .manifest import md5sum
        from .photos import photo_list

        return {"name": name, "md5": {p.name: md5sum(p.path) for p in photo_list()},
                "md5_of": "the library image or video clip each photo was read from"}
    from .manifest import DataError, dataset_files

    try:
        files = dataset_files(name)
    except DataError:  # a dataset registered in code only (no manifest files)
        return {"name": name, "md5": None}
    return {"name": name, "md5": {e.name: e.md5 for e in files}, "md5_checked": True}


def patch_set_record(path: str | os.PathLike) -> dict[str, Any]:
    """A patch set that was read: its file md5s (recorded when it was written, checked by the reader
    on request) and the source image it was cut from (name, file, md5)."""
    from .patches import load_patch_meta

    meta = load_patch_meta(Path(path))
    out: dict[str, Any] = {"path": str(path), "source_image": meta.get("source")}
    if "npy_md5" in meta:
        out["npy_md5"] = meta["npy_md5"]
    if meta.get("shards"):
        out["shard_md5"] = [s.get("md5") for s in meta["shards"]]
    return out
