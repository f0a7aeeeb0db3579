"""The clip set: N random crops of one source clip, each through one augmentation (paper Appendix C.1).

Stored like a patch set: one memory-mappable `clips.npy` (float16 (N, crop samples); a crop that an
augmentation shortened is zero-padded, its true length is in the metadata) and `clips.json` (written
last: without it the set is incomplete and `load_clip_set` refuses it), plus `source.wav`, the source
clip as used. Clip i is a pure function of (seed, i): its crop offset and augmentation are drawn from
numpy's Generator seeded by (seed, i), so the set is the same for any number of workers and a killed
run resumes at its first unfinished chunk (progress in `.clips.progress.json`, beside the partial array).
"""

from __future__ import annotations

import hashlib
import os
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from .. import fileio
from . import augment
from .sources import load_clip, parse_clip_source

FORMAT = "augprior-clips/1"
CHUNK = 128
_SOURCE: np.ndarray | None = None  # the source clip in worker processes


def meta_path(npy: str | os.PathLike) -> Path:
    return Path(npy).with_suffix(".json")


def draw(seed: int, index: int, source_len: int, crop: int) -> tuple[int, int, int]:
    """(offset, augmentation index, augmentation seed) of clip `index`."""
    rng = np.random.default_rng([seed, index])
    offset = int(rng.integers(0, max(1, source_len - crop + 1)))
    return offset, int(rng.integers(len(augment.AUGMENTATIONS))), int(rng.integers(2**31))


def make_clip(source: np.ndarray, seed: int, index: int, crop: int, sample_rate: int,
              augmentations: tuple[str, ...] = augment.AUGMENTATIONS) -> tuple[np.ndarray, int, str]:
    offset, k, aug_seed = draw(seed, index, len(source), crop)
    name = augmentations[k % len(augmentations)]
    x = source[offset:offset + crop]
    if len(x) < crop:
        x = np.pad(x, (0, crop - len(x)))
    y = augment.apply(name, x, sample_rate, aug_seed)[:crop]
    return y, len(y), name


def _init(source: np.ndarray) -> None:
    global _SOURCE
    _SOURCE = source
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def _chunk(args: tuple[int, int, int, int, int, tuple[str, ...]]):
    start, stop, seed, crop, sample_rate, augs = args
    out = np.zeros((stop - start, crop), np.float16)
    lengths, names = [], []
    for j, i in enumerate(range(start, stop)):
        y, n, name = make_clip(_SOURCE, seed, i, crop, sample_rate, augs)
        out[j, :n] = y
        lengths.append(n)
        names.append(name)
    return start, out, lengths, names


def make_clip_set(source: str, out: str | os.PathLike, *, num: int, sample_rate: int, crop_seconds: float = 2.0,
                  source_seconds: float = 300.0, seed: int = 0, workers: int = 1,
                  augmentations: tuple[str, ...] = augment.AUGMENTATIONS, progress: bool = False) -> dict[str, Any]:
    """Write `out` (clips.npy), its .json and source.wav beside it; returns the metadata."""
    started = time.time()
    out = Path(out)
    if num < 1:
        raise ValueError(f"clip set num must be >= 1, not {num}")
    unknown = sorted(set(augmentations) - set(augment.AUGMENTATIONS))
    if unknown:
        raise ValueError(f"unknown audio augmentations {unknown}; known: {', '.join(augment.AUGMENTATIONS)}")
    if reason := augment.missing_programs(tuple(augmentations)):
        raise augment.AugmentError(reason)
    meta_path(out).unlink(missing_ok=True)  # the old metadata must not vouch for a half-written set
    src = load_clip(source, sample_rate, source_seconds, seed)
    crop = int(round(crop_seconds * sample_rate))
    source_md5 = hashlib.md5(src.tobytes()).hexdigest()
    wav = out.parent / "source.wav"
    with fileio.atomic_path(wav, suffix=".wav") as tmp:
        import soundfile as sf

        sf.write(tmp, src, sample_rate, subtype="FLOAT", format="WAV")
    key = hashlib.sha256(repr((FORMAT, source_md5, num, crop, sample_rate, seed, augmentations)).encode()).hexdigest()
    partial = out.parent / f".{out.name}.partial.npy"
    prog_file = out.parent / f".{out.stem}.progress.json"
    done: dict[int, dict] = {}
    if partial.exists() and prog_file.exists():
        try:
            state = fileio.read_json(prog_file)
            if state.get("key") == key:
                done = {int(k): v for k, v in state["chunks"].items()}
        except (OSError, ValueError, KeyError):
            done = {}
    if not done:
        partial.unlink(missing_ok=True)
        arr = np.lib.format.open_memmap(partial, mode="w+", dtype=np.float16, shape=(num, crop))
    else:
        arr = np.load(partial, mmap_mode="r+")
    todo = [(s, min(s + CHUNK, num), seed, crop, sample_rate, tuple(augmentations))
            for s in range(0, num, CHUNK) if s not in done]
    resumed = len(done) > 0

    def record(result) -> None:
        start, block, lengths, names = result
        arr[start:start + len(block)] = block
        arr.flush()
        done[start] = {"lengths": lengths, "augmentations": names}
        fileio.write_json(prog_file, {"key": key, "chunks": {str(k): v for k, v in done.items()}})

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc="audio clips", unit="chunk", mininterval=1.0)
    if workers > 1 and len(todo) > 1:
        with ProcessPoolExecutor(workers, mp_context=get_context("fork"), initializer=_init, initargs=(src,)) as pool:
            for result in pool.map(_chunk, todo):
                record(result)
                bar and bar.update()
    else:
        _init(src)
        for task in todo:
            record(_chunk(task))
            bar and bar.update()
    if bar:
        bar.close()
    arr.flush()
    arr = None  # closes the map before the rename
    lengths, names = [], []
    for s in sorted(done):
        lengths += done[s]["lengths"]
        names += done[s]["augmentations"]
    with open(partial, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(partial, out)
    from importlib import metadata

    meta = {"format": FORMAT, "count": num, "crop_samples": crop, "crop_seconds": crop_seconds,
            "sample_rate": sample_rate, "seed": seed, "source": source,
            "source_description": parse_clip_source(source).description, "source_seconds": len(src) / sample_rate,
            "source_md5": source_md5, "augmentation_names": list(augmentations), "lengths": lengths,
            "augmentations": names, "workers": workers, "resumed": resumed,
            "seconds": round(time.time() - started, 3),
            "versions": {p: _version(metadata, p) for p in ("numpy", "librosa", "audiomentations", "soxr")}}
    fileio.write_json(meta_path(out), meta)  # the completion marker: written last
    prog_file.unlink(missing_ok=True)
    return meta


def _version(metadata, name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def load_clip_set(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, Any]]:
    """(float16 memmap (N, crop samples), metadata); refuses a set without its .json (incomplete)."""
    path = Path(path)
    meta_file = meta_path(path)
    if not path.is_file() or not meta_file.is_file():
        raise FileNotFoundError(f"{path}: no complete clip set here (its {meta_file.name} is written last; "
                                "rerun the clip-set job)")
    meta = fileio.read_json(meta_file)
    arr = np.load(path, mmap_mode="r")
    if arr.shape != (meta["count"], meta["crop_samples"]):
        raise ValueError(f"{path}: shape {arr.shape} does not match its metadata ({meta['count']}, "
                         f"{meta['crop_samples']})")
    return arr, meta
