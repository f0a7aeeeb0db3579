"""The data manifest and its resolver: cache -> mirror -> download, md5-checked."""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from . import fileio

MIRROR_ENV = "AUGPRIOR_MIRROR"
CACHE_ENV = "AUGPRIOR_CACHE"


class DataError(RuntimeError):
    """A data file is missing, corrupt or unknown; the message says what to do."""


@dataclass(frozen=True)
class FileEntry:
    name: str
    md5: str
    mirror: str | None
    url: str | None


@lru_cache(maxsize=1)
def manifest() -> dict[str, Any]:
    text = resources.files("augprior").joinpath("resources/manifest.yaml").read_text()
    return yaml.safe_load(text)


def dataset_names() -> list[str]:
    return sorted(manifest()["datasets"])


def image_names() -> list[str]:
    return sorted(manifest()["images"])


def dataset_files(name: str) -> list[FileEntry]:
    datasets = manifest()["datasets"]
    if name not in datasets:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(sorted(datasets))}")
    return [FileEntry(**f) for f in datasets[name]["files"]]


def image_entry(name: str) -> dict[str, Any]:
    images = manifest()["images"]
    if name not in images:
        raise DataError(f"unknown source image {name!r}; known: {', '.join(sorted(images))}")
    return images[name]


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV, "resources")).resolve()


def mirror_dir(mirror: str | os.PathLike | None = None) -> Path | None:
    """The mirror folder: explicit argument, else $AUGPRIOR_MIRROR, else none."""
    mirror = mirror or os.environ.get(MIRROR_ENV)
    return Path(mirror).expanduser().resolve() if mirror else None


def md5sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def resolve_file(entry: FileEntry, mirror: str | os.PathLike | None = None) -> Path:
    """Return a local, checksum-verified path for one manifest file."""
    cached = cache_dir() / "downloads" / entry.name
    tried: list[str] = []
    if cached.exists():
        if md5sum(cached) == entry.md5:
            return cached
        tried.append(f"cache {cached} (wrong md5, removed)")
        cached.unlink()
    mdir = mirror_dir(mirror)
    if mdir is not None and entry.mirror:
        candidate = mdir / entry.mirror
        if candidate.exists():
            got = md5sum(candidate)
            if got == entry.md5:
                return candidate
            raise DataError(
                f"{candidate}: md5 {got} does not match the manifest's {entry.md5} for {entry.name}. "
                f"The mirror copy is corrupt or a different file; replace it with the file whose md5 is {entry.md5}.")
        tried.append(f"mirror {candidate} (missing)")
    elif entry.mirror:
        tried.append(f"mirror (not set: export {MIRROR_ENV}=/path/to/mirror)")
    if entry.url:
        try:
            return download(entry.url, cached, entry.md5)
        except (OSError, DataError) as err:
            tried.append(f"download {entry.url} ({err})")
    where = f"$${MIRROR_ENV}/{entry.mirror}" if entry.mirror else str(cached)
    raise DataError(
        f"cannot find {entry.name} (md5 {entry.md5}). Tried: {'; '.join(tried) or 'nothing'}. "
        f"Put the file at {where.replace('$$', '$')} or at {cached}.")


def download(url: str, dest: Path, md5: str) -> Path:
    """Download to a temporary file, verify the md5, then move into place."""
    with fileio.atomic_path(dest) as tmp:
        with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as f:
            shutil.copyfileobj(response, f, length=1 << 20)
        got = md5sum(tmp)
        if got != md5:
            raise DataError(f"downloaded {url} has md5 {got}, expected {md5}")
    return dest


def resolve_dataset(name: str, mirror: str | os.PathLike | None = None) -> dict[str, Path]:
    """All files of a dataset, by file name."""
    return {e.name: resolve_file(e, mirror) for e in dataset_files(name)}


def resolve_image_file(name: str, mirror: str | os.PathLike | None = None) -> Path:
    entry = image_entry(name)
    if "file" not in entry:
        raise DataError(f"source image {name!r} is not a file (it is built in or generated)")
    return resolve_file(FileEntry(**entry["file"]), mirror)


def locally_available(name: str, mirror: str | os.PathLike | None = None) -> bool:
    """True when every file of dataset `name` is in the cache or the mirror (no md5 check, no download)."""
    mdir = mirror_dir(mirror)
    for entry in dataset_files(name):
        in_cache = (cache_dir() / "downloads" / entry.name).exists()
        in_mirror = mdir is not None and entry.mirror is not None and (mdir / entry.mirror).exists()
        if not (in_cache or in_mirror):
            return False
    return True
