"""Fake videos from one image, as the paper's generator makes them (data_generation/make_fakevideo_dataset.py).

One clip (MonoDataset.__getitem__ of the official code):
  1. a random square crop of side int(initcrop * min(W, H)) of the source image (initcrop 0.5);
  2. with p = 0.5, ColorJitter(brightness 0.4, contrast 0.4, saturation 0.4, hue 0.1) of that crop;
  3. two random resized-crop boxes (i, j, h, w) of the crop: area fraction U(1/500, 1), log-uniform
     aspect ratio in [3/4, 4/3], no centre-crop fallback (drawn until one fits);
  4. `frames` frames: the box moves linearly from the first to the second (np.linspace of i, j, h, w:
     a pan and a zoom), each frame cut (PIL rounds the box) and resized to size x size, bicubic.
The official code's flips and AugMix object are built but never applied to the clips (its folder name
says "noaugmix"); AugMix is applied at training time (augprior.video.train).

Clip k is a pure function of (seed, k) (torch's RNG seeded with derive_seed(seed, k) around the very
torchvision calls the official code makes), so any worker count, order or resume gives the same bytes.
The official script seeds one RNG stream per worker thread instead (same distribution, other draws).
It stores each clip as an H.264 mp4 (12 -> 15 fps); here clips are uint8 arrays, no lossy coding.

Stored sets: `write_fakevideos(out.npy, ...)` writes one uint8 (N, T, S, S, 3) .npy through a temp file,
chunk by chunk, with a progress file so a killed run resumes at its first unfinished chunk, then the
.json metadata (written last: without it the set is incomplete). `FakeVideos` renders the same clips on
the fly.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from .. import fileio
from ..training_inputs import derive_seed

FORMAT = "augprior-fakevideos/1"


@dataclass(frozen=True)
class FakeVideoSpec:
    frames: int = 12          # the paper: 12 frames (the script's default is 16)
    size: int = 230           # the script's --img_size
    initcrop: float = 0.5     # --initcrop
    scale: tuple[float, float] = (500.0, 1.0)  # --scale: inverse area fractions (1/500 .. 1)
    color_jitter_p: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.frames < 1 or self.size < 1:
            raise ValueError(f"fake videos need frames >= 1 and size >= 1, got {self.frames} and {self.size}")
        if not 0 < self.initcrop <= 1:
            raise ValueError(f"initcrop must be in (0, 1], got {self.initcrop}")
        if not (len(self.scale) == 2 and self.scale[0] >= self.scale[1] >= 1):
            raise ValueError(f"scale must be two inverse area fractions [a, b] with a >= b >= 1, got {self.scale}")


def _rrc_params(width: int, height: int, area_range: tuple[float, float], ratio=(3 / 4, 4 / 3)):
    """MyRandomResizedCrop.get_params of the official code (no fallback)."""
    area = height * width
    log_ratio = torch.log(torch.tensor(ratio))
    while True:
        target_area = area * torch.empty(1).uniform_(area_range[0], area_range[1]).item()
        aspect = torch.exp(torch.empty(1).uniform_(log_ratio[0], log_ratio[1])).item()
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            i = torch.randint(0, height - h + 1, size=(1,)).item()
            j = torch.randint(0, width - w + 1, size=(1,)).item()
            return i, j, h, w


def render_clip(image: Image.Image, spec: FakeVideoSpec, index: int) -> np.ndarray:
    """Clip `index`: uint8 (frames, size, size, 3)."""
    import torchvision.transforms as T
    import torchvision.transforms.functional as F

    side = int(spec.initcrop * min(image.size))
    area_range = (1.0 / spec.scale[0], 1.0 / spec.scale[1])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(spec.seed, index))
        img = T.RandomCrop(side)(image)
        img = T.RandomApply([T.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)],
                            spec.color_jitter_p)(img)
        i, j, h, w = _rrc_params(*img.size, area_range)
        i2, j2, h2, w2 = _rrc_params(*img.size, area_range)
    n = spec.frames
    ii, jj, hh, ww = np.linspace(i, i2, n), np.linspace(j, j2, n), np.linspace(h, h2, n), np.linspace(w, w2, n)
    out = np.empty((n, spec.size, spec.size, 3), dtype=np.uint8)
    for f in range(n):
        frame = F.resized_crop(img, ii[f], jj[f], hh[f], ww[f], [spec.size, spec.size],
                               T.InterpolationMode.BICUBIC)
        out[f] = np.asarray(frame, dtype=np.uint8)
    return out


def load_image(image: Any, mirror: Any = None) -> tuple[Image.Image, dict[str, Any]]:
    """The source image as a PIL RGB image and where it came from."""
    from ..source_images import load_source

    src = load_source(image, mirror=mirror)
    return Image.fromarray(src.pixels), {"image": src.name, "image_path": src.path, "image_md5": src.md5}


class FakeVideos:
    """`num` fake clips of one image, rendered on demand: clips[k] -> uint8 (T, S, S, 3)."""

    def __init__(self, image: Image.Image, spec: FakeVideoSpec, num: int, source: dict[str, Any] | None = None):
        if num < 1:
            raise ValueError(f"need at least one fake video, got num={num}")
        self.image, self.spec, self.num, self.source = image, spec, int(num), source or {}

    def __len__(self) -> int:
        return self.num

    def __getitem__(self, k: int) -> np.ndarray:
        if not 0 <= k < self.num:
            raise IndexError(f"fake video {k} of {self.num}")
        return render_clip(self.image, self.spec, int(k))

    def describe(self) -> dict[str, Any]:
        return {"kind": "fakevideos", "on_the_fly": True, "num": self.num, **asdict(self.spec), **self.source}


# ---------------------------------------------------------------------------- stored sets

_WORKER: dict[str, Any] = {}


def _init(image_bytes: bytes, mode: str, size: tuple[int, int], spec: FakeVideoSpec) -> None:
    torch.set_num_threads(1)
    _WORKER["image"] = Image.frombytes(mode, size, image_bytes)
    _WORKER["spec"] = spec


def _render_range(start: int, stop: int) -> np.ndarray:
    return np.stack([render_clip(_WORKER["image"], _WORKER["spec"], k) for k in range(start, stop)])


def meta_path(npy: str | os.PathLike) -> Path:
    return Path(npy).with_suffix(".json")


def write_fakevideos(out: str | os.PathLike, image: Any, spec: FakeVideoSpec, num: int, *, mirror: Any = None,
                     workers: int = 1, chunk: int = 64) -> dict[str, Any]:
    """Write `num` clips to `out` (.npy, uint8 (N, T, S, S, 3)) and their metadata to out's .json."""
    out = Path(out)
    if out.suffix != ".npy":
        raise ValueError(f"{out}: a fake-video set is written to a .npy file")
    pil, source = load_image(image, mirror)
    shape = (int(num), spec.frames, spec.size, spec.size, 3)
    meta = {"format": FORMAT, "num": int(num), "shape": list(shape), "spec": asdict(spec), **source}
    tmp, progress = out.with_name(f".{out.name}.partial"), out.with_name(f".{out.name}.progress.json")
    done = 0
    if tmp.exists() and progress.exists():
        saved = fileio.read_json(progress)
        if saved.get("meta") == meta:
            done = int(saved["done"])
    if done == 0:
        meta_path(out).unlink(missing_ok=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
    else:
        arr = np.load(tmp, mmap_mode="r+")
        print(f"fake videos: resuming {out} at clip {done}/{num}", flush=True)
    t0 = time.time()
    ranges = [(s, min(num, s + chunk)) for s in range(done, num, chunk)]
    init = (pil.tobytes(), pil.mode, pil.size, spec)
    if workers > 1:
        pool = ProcessPoolExecutor(workers, initializer=_init, initargs=init)
        results = pool.map(_render_range, *zip(*ranges)) if ranges else iter(())
    else:
        pool = None
        _init(*init)
        results = (_render_range(a, b) for a, b in ranges)
    try:
        for (start, stop), clips in zip(ranges, results):
            arr[start:stop] = clips
            arr.flush()
            fileio.write_json(progress, {"meta": meta, "done": stop})
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    del arr
    os.replace(tmp, out)
    meta["seconds"] = round(time.time() - t0, 3)
    meta["clips_per_s"] = round((num - done) / meta["seconds"], 2) if meta["seconds"] > 0 else None
    fileio.write_json(meta_path(out), meta)  # the completion marker: written last
    progress.unlink(missing_ok=True)
    return meta


def load_fakevideos(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, Any]]:
    """A stored set as a read-only memory map (N, T, S, S, 3) and its metadata."""
    path = Path(path)
    meta_file = meta_path(path)
    if not meta_file.exists():
        from ..manifest import DataError

        raise DataError(f"{path}: no {meta_file.name} beside it: the fake-video set is missing or incomplete "
                        "(rerun its job to finish it)")
    meta = fileio.read_json(meta_file)
    arr = np.load(path, mmap_mode="r")
    if list(arr.shape) != meta["shape"] or arr.dtype != np.uint8:
        from ..manifest import DataError

        raise DataError(f"{path}: holds {arr.dtype} {tuple(arr.shape)}, its metadata says uint8 {tuple(meta['shape'])}")
    return arr, meta
