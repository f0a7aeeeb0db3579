"""Patch sets on disk: one memory-mappable .npy + .json, or a folder of .npy shards + index.json.

Layout on disk is uint8 (N, P, P, 3) (what the generators produce, what JPEG/PNG viewers
expect); `load_patch_set` hands out torch uint8 (N, 3, P, P) views of memory maps.

- ``make_patch_set(..., "x/patches.npy")`` writes x/patches.npy, then x/patches.json (the
  metadata, written last: without it the set is incomplete and `load_patch_set` refuses it).
- ``make_patch_set(..., "x/patches")`` (no .npy suffix; or "x/patches/index.json", the folder's
  completion marker, which the workflow names as the output) or ``shard_size=...`` writes the
  folder x/patches/ with shard-00000.npy ... and index.json last. Shards are written one at a
  time (memory stays at one chunk), each atomically; a progress file lets a killed run resume
  at the first missing shard (patches are a pure function of (seed, index), so resumed shards
  are the same bytes).

Every file goes through augprior.fileio's temp-file-and-rename, so a killed job never leaves a
file that looks complete.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from .. import __version__, fileio
from ..manifest import md5sum
from .generate import Producer, check_image
from .spec import PatchError, PatchSpec

FORMAT = "augprior-patches/1"
INDEX = "index.json"
PROGRESS = ".progress.json"
SHARD_BYTES = 1 << 30     # default shard size: about 1 GiB of pixels


def meta_path(npy: str | os.PathLike) -> Path:
    """The metadata file of a single-file set: patches.npy -> patches.json."""
    return Path(npy).with_suffix(".json")


def _versions() -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {}
    for name in ("torch", "torchvision", "pillow", "numpy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _resolve_source(image: Any, mirror: Any, md5: str | None):
    from ..source_images import SourceImage, load_source

    if isinstance(image, SourceImage):
        return image
    if isinstance(image, np.ndarray):
        arr = check_image(image)
        return SourceImage(arr, "<array>", None, hashlib.md5(np.ascontiguousarray(arr).tobytes()).hexdigest(),
                           "pixels")
    return load_source(str(image), md5=md5, mirror=mirror)


def make_patch_set(image: Any, out: str | os.PathLike, spec: PatchSpec, num: int, seed: int = 0,
                   engine: str = "reference", mirror: str | os.PathLike | None = None,
                   md5: str | None = None, *, device: str = "cpu", batch_size: int | None = None,
                   workers: int = 1, geometry: str = "single", shard_size: int | None = None,
                   progress: bool = True) -> dict[str, Any]:
    """Generate `num` patches of `image` and store them at `out`; returns the metadata dict.

    `image`: a source name / path / URL (see augprior.source_images), a SourceImage or an RGB uint8
    array. `out` ending in .npy gives one file (+ .json beside it); anything else, or a
    `shard_size`, gives a shard folder.
    """
    started = time.time()
    if num < 1:
        raise PatchError(f"num must be >= 1, not {num}")
    src = _resolve_source(image, mirror, md5)
    spec.check_source(src.height, src.width, name=src.path or src.name)
    out = Path(out)
    if out.name == INDEX:
        out = out.parent
    sharded = shard_size is not None or out.suffix != ".npy"
    meta: dict[str, Any] = {
        "format": FORMAT,
        "kind": "shards" if sharded else "npy",
        "count": int(num),
        "size": spec.size,
        "shape": [int(num), spec.size, spec.size, 3],
        "dtype": "uint8",
        "layout": "NHWC",
        "source": src.info(),
        "spec": spec.to_dict(),
        "seed": int(seed),
        "sampler": "philox4x32-10 keyed by seed, counter (block, index, stream 0)",
        "engine": engine,
        "geometry": geometry if engine == "fast" else None,
        "device": str(device),
        "augprior_version": __version__,
        "versions": _versions(),
    }
    with Producer(src.pixels, spec, seed, engine, device, batch_size, workers, geometry) as prod:
        if sharded:
            meta = _write_shards(prod, out, meta, shard_size, progress)
        else:
            meta = _write_single(prod, out, meta, progress)
    meta["wall_time_s"] = round(time.time() - started, 3)
    final = out / INDEX if sharded else meta_path(out)
    fileio.write_json(final, meta)
    return meta


def _chunks_progress(prod: Producer, start: int, num: int, total: int, done: int, desc: str,
                     show: bool) -> Iterator[np.ndarray]:
    from ..runtime import quiet

    if not show or quiet():
        yield from prod.chunks(start, num)
        return
    from tqdm.auto import tqdm

    with tqdm(total=total, initial=done, desc=desc, unit="patch", mininterval=1.0, dynamic_ncols=True) as bar:
        for chunk in prod.chunks(start, num):
            bar.update(len(chunk))
            yield chunk


def _open_for_write(tmp: Path, shape: tuple[int, ...]) -> np.memmap:
    """A writable .npy memmap whose blocks are reserved up front: on a full disk a memmap write
    would die of SIGBUS with no message; reserving turns that into an ENOSPC error here, which
    fileio.atomic_path reports naming the file (and removes the temp file)."""
    arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
    if hasattr(os, "posix_fallocate"):
        with open(tmp, "rb+") as f:
            os.posix_fallocate(f.fileno(), 0, os.fstat(f.fileno()).st_size)
    return arr


def remove_stale_temp_files(target: Path) -> None:
    """Temp files of writers of `target` that were killed (fileio.atomic_path names them .<name>.*.tmp*)."""
    for tmp in target.parent.glob(f".{target.name}.*.tmp*"):
        tmp.unlink(missing_ok=True)


def _write_single(prod: Producer, out: Path, meta: dict, progress: bool) -> dict:
    for stale in (meta_path(out),):
        stale.unlink(missing_ok=True)   # the old metadata must not vouch for a half-written set
    remove_stale_temp_files(out)
    n, P = meta["count"], meta["size"]
    with fileio.atomic_path(out, suffix=".npy") as tmp:
        arr = _open_for_write(tmp, (n, P, P, 3))
        k = 0
        for chunk in _chunks_progress(prod, 0, n, n, 0, "patches", progress):
            arr[k:k + len(chunk)] = chunk
            k += len(chunk)
        arr.flush()
        del arr
        meta["npy_md5"] = md5sum(tmp)
        _fsync(tmp)
    return meta


def _write_shards(prod: Producer, folder: Path, meta: dict, shard_size: int | None, progress: bool) -> dict:
    n, P = meta["count"], meta["size"]
    per_patch = P * P * 3
    shard_size = int(shard_size or max(1, SHARD_BYTES // per_patch))
    if shard_size < 1:
        raise PatchError(f"shard_size must be >= 1, not {shard_size}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / INDEX).unlink(missing_ok=True)
    key = {k: meta[k] for k in ("count", "size", "source", "spec", "seed", "engine", "geometry", "device",
                               "versions", "augprior_version")}
    key["shard_size"] = shard_size
    key_hash = hashlib.sha256(repr(sorted(key.items())).encode()).hexdigest()[:16]
    state_file = folder / PROGRESS
    done: dict[str, dict] = {}
    if state_file.exists():
        try:
            state = fileio.read_json(state_file)
            if state.get("key") == key_hash:
                done = {s["file"]: s for s in state.get("shards", [])
                        if (folder / s["file"]).is_file()
                        and (folder / s["file"]).stat().st_size == s["bytes"]}
        except (OSError, ValueError):
            done = {}
    shards = []
    n_done = sum(s["count"] for s in done.values())
    for k, start in enumerate(range(0, n, shard_size)):
        count = min(shard_size, n - start)
        name = f"shard-{k:05d}.npy"
        if name in done and done[name]["start"] == start and done[name]["count"] == count:
            shards.append(done[name])
            continue
        remove_stale_temp_files(folder / name)
        with fileio.atomic_path(folder / name, suffix=".npy") as tmp:
            arr = _open_for_write(tmp, (count, P, P, 3))
            j = 0
            for chunk in _chunks_progress(prod, start, count, n, n_done, "patch shards", progress):
                arr[j:j + len(chunk)] = chunk
                j += len(chunk)
            arr.flush()
            del arr
            entry = {"file": name, "start": start, "count": count, "md5": md5sum(tmp),
                     "bytes": tmp.stat().st_size}
            _fsync(tmp)
        n_done += count
        shards.append(entry)
        fileio.write_json(state_file, {"key": key_hash, "shards": shards})
    # remove shards of an older, larger set in the same folder
    keep = {s["file"] for s in shards}
    for p in folder.glob("shard-*.npy"):
        if p.name not in keep:
            p.unlink()
    meta["shard_size"] = shard_size
    meta["shards"] = shards
    state_file.unlink(missing_ok=True)
    return meta


def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


# -- reading ------------------------------------------------------------------------------------

def load_patch_meta(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata of a patch set (path: the .npy, its .json, or the shard folder)."""
    path = Path(path)
    if path.is_dir():
        idx = path / INDEX
        if not idx.is_file():
            raise PatchError(f"{path}: no {INDEX}: not a complete patch-shard folder (killed while writing?)")
        return fileio.read_json(idx)
    if path.suffix == ".json":
        return fileio.read_json(path)
    m = meta_path(path)
    if not path.is_file():
        raise PatchError(f"{path}: no such patch file")
    if not m.is_file():
        raise PatchError(f"{path}: its metadata {m.name} is missing: the set is incomplete (killed while writing?)")
    return fileio.read_json(m)


def _open_npy(path: Path, shape: list[int]) -> np.ndarray:
    # copy-on-write map: lazy, and writable as torch wants, without ever touching the file
    try:
        arr = np.load(path, mmap_mode="c")
    except (ValueError, OSError, EOFError) as err:  # a truncated or damaged file; numpy names no file
        raise PatchError(f"{path}: not a readable patch file ({' '.join(str(err).split())}; "
                         f"{path.stat().st_size} bytes: truncated or damaged?); expected a uint8 {list(shape)} "
                         ".npy as written by `augprior patches`; regenerate it") from None
    if arr.dtype != np.uint8 or list(arr.shape) != list(shape):
        raise PatchError(f"{path}: holds {arr.dtype} {list(arr.shape)}, its metadata says uint8 {list(shape)}")
    return arr


def load_patch_set(path: str | os.PathLike, *, verify: bool = False) -> "torch.Tensor | PatchShards":
    """Open a patch set without reading it into memory.

    A .npy set gives a torch.uint8 tensor (N, 3, P, P), a view of a memory map; a shard folder
    gives a `PatchShards`, which indexes like one (x[i], x[a:b], x[index_tensor], len(x),
    x.shape) and streams with `iter_batches`. `verify` checks the md5 of every file first.
    """
    path = Path(path)
    meta = load_patch_meta(path)
    if meta.get("format") != FORMAT:
        raise PatchError(f"{path}: unknown patch-set format {meta.get('format')!r}")
    if meta["kind"] == "shards":
        folder = path if path.is_dir() else path.parent
        return PatchShards(folder, meta, verify=verify)
    npy = path.with_suffix(".npy")
    if verify and md5sum(npy) != meta.get("npy_md5"):
        raise PatchError(f"{npy}: md5 differs from the one recorded when it was written")
    arr = _open_npy(npy, meta["shape"])
    return torch.from_numpy(arr).permute(0, 3, 1, 2)


class PatchShards:
    """A sharded patch set, read lazily: behaves like a uint8 tensor (N, 3, P, P) for indexing."""

    def __init__(self, folder: Path, meta: dict[str, Any], verify: bool = False):
        self.folder, self.meta = Path(folder), meta
        self._shards = meta["shards"]
        self._starts = np.array([s["start"] for s in self._shards], dtype=np.int64)
        P = meta["size"]
        self._arrays = []
        for s in self._shards:
            f = self.folder / s["file"]
            if not f.is_file():
                raise PatchError(f"{f}: shard missing from a patch set whose index lists it")
            if verify and md5sum(f) != s["md5"]:
                raise PatchError(f"{f}: md5 differs from the index")
            self._arrays.append(_open_npy(f, [s["count"], P, P, 3]))
        if sum(s["count"] for s in self._shards) != meta["count"]:
            raise PatchError(f"{folder}: shard counts do not add up to {meta['count']}")

    def __len__(self) -> int:
        return int(self.meta["count"])

    @property
    def shape(self) -> torch.Size:
        P = self.meta["size"]
        return torch.Size([len(self), 3, P, P])

    dtype = torch.uint8

    def bounds(self) -> list[tuple[int, int]]:
        """(start, count) of every shard, in index order."""
        return [(int(s["start"]), int(s["count"])) for s in self._shards]

    def _rows(self, idx: np.ndarray) -> torch.Tensor:
        n = len(self)
        idx = np.where(idx < 0, idx + n, idx)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise IndexError(f"patch index out of range for {n} patches")
        which = np.searchsorted(self._starts, idx, side="right") - 1
        P = self.meta["size"]
        out = np.empty((idx.size, P, P, 3), dtype=np.uint8)
        for s in np.unique(which):
            sel = np.flatnonzero(which == s)
            out[sel] = self._arrays[s][idx[sel] - self._starts[s]]
        return torch.from_numpy(out).permute(0, 3, 1, 2)

    def __getitem__(self, key) -> torch.Tensor:
        if isinstance(key, (int, np.integer)):
            return self._rows(np.array([int(key)]))[0]
        if isinstance(key, slice):
            return self._rows(np.arange(len(self))[key])
        if isinstance(key, torch.Tensor):
            key = key.cpu().numpy()
        key = np.asarray(key)
        if key.dtype == bool:
            key = np.flatnonzero(key)
        return self._rows(key.astype(np.int64).reshape(-1))

    def iter_batches(self, batch_size: int) -> Iterator[torch.Tensor]:
        """Consecutive (b, 3, P, P) batches, one shard in memory at a time."""
        for a in range(0, len(self), batch_size):
            yield self[a:a + batch_size]

    def to_tensor(self) -> torch.Tensor:
        """Everything in memory, contiguous (N, 3, P, P)."""
        return torch.cat([torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2) for a in self._arrays]
                         ).contiguous()

    def __repr__(self) -> str:
        return f"PatchShards({str(self.folder)!r}, N={len(self)}, P={self.meta['size']}, shards={len(self._shards)})"


def remove_patch_set(path: str | os.PathLike) -> None:
    """Delete a patch set (file + metadata, or the shard folder)."""
    path = Path(path)
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
        meta_path(path).unlink(missing_ok=True)
