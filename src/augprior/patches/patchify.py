"""Patchified real images (Table 8's '(p)' rows): the official single-image patch generator run over N
real training images of a dataset instead of one source image.

Image k of the N gets the contiguous block of patch indices [round(k * num / N), round((k + 1) * num / N)),
so every image gives the same share (within one patch) and patch i is still a pure function of
(image, spec, seed, i): any batch size or worker count gives the same bytes. The N images are the
same seeded, class-spread sample the raw `dataset:<name>:<N>` source trains on (datasets.subset_indices).
An image whose shorter side is below what the spec needs (PatchSpec.min_source_side: 64 px for 32-px
patches, so every CIFAR image) is first enlarged bicubically to that side; image-folder images are read
at their original resolution (not the 224-px crop the classifiers see).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .generate import Producer, _Renderer, default_batch_size
from .spec import PatchError, PatchSpec

PREFIX = "patchify:"


def prepare(image: np.ndarray | str | os.PathLike, spec: PatchSpec) -> np.ndarray:
    """An RGB uint8 (H, W, 3) array of a source image (array or file), enlarged if too small for `spec`."""
    from PIL import Image

    if isinstance(image, np.ndarray):
        arr = image if image.ndim == 3 else image[..., None]
        arr = np.repeat(arr, 3, axis=2) if arr.shape[2] == 1 else arr
        pil = Image.fromarray(np.ascontiguousarray(arr, dtype=np.uint8))
    else:
        with Image.open(image) as img:
            pil = img.convert("RGB")
    need = spec.min_source_side()
    w, h = pil.size
    if min(w, h) < need:
        s = need / min(w, h)
        pil = pil.resize((max(need, round(w * s)), max(need, round(h * s))), Image.BICUBIC)
    return np.asarray(pil, dtype=np.uint8)


def bounds(num: int, n_images: int) -> np.ndarray:
    """Start index of each image's block of patches (and num at the end)."""
    return np.array([round(k * num / n_images) for k in range(n_images + 1)], dtype=np.int64)


class _SetRenderer:
    """Renders (image k, global start, n) with one cached per-image renderer (images decoded on first use)."""

    def __init__(self, images: Sequence, spec: PatchSpec, seed: int, engine: str, device: str, geometry: str):
        self.images, self.args = list(images), (spec, seed, engine, device, geometry)
        self._current: tuple[int, _Renderer] | None = None

    def __call__(self, k: int, start: int, n: int) -> np.ndarray:
        if self._current is None or self._current[0] != k:
            self._current = (k, _Renderer(prepare(self.images[k], self.args[0]), *self.args))
        return self._current[1](start, n)


_WORKER: _SetRenderer | None = None


def _init_worker(*args) -> None:
    import torch

    torch.set_num_threads(1)
    global _WORKER
    _WORKER = _SetRenderer(*args)


def _work(task: tuple[int, int, int]) -> np.ndarray:
    assert _WORKER is not None
    return _WORKER(*task)


class ImageSetProducer(Producer):
    """Yields the patches of an image set in index order, in chunks (generate.Producer's interface, which
    patches.store writes from)."""

    def __init__(self, images: Sequence, spec: PatchSpec, seed: int, num: int, engine: str = "reference",
                 device: str = "cpu", batch_size: int | None = None, workers: int = 1, geometry: str = "single"):
        if not len(images):
            raise PatchError("patchify: no source images")
        if workers < 1:
            raise PatchError(f"workers must be >= 1, not {workers}")
        self.spec, self.seed, self.num = spec, seed, int(num)
        self.bounds = bounds(self.num, len(images))
        self.batch_size = batch_size or default_batch_size(spec, engine)
        self.workers = workers
        args = (list(images), spec, seed, engine, str(device), geometry)
        self._local = _SetRenderer(*args) if workers == 1 else None
        self._pool = None if workers == 1 else ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker, initargs=args)

    work = staticmethod(_work)

    def tasks(self, start: int, num: int) -> list[tuple[int, int, int]]:
        out, stop = [], start + num
        for k in range(len(self.bounds) - 1):
            a, b = max(start, int(self.bounds[k])), min(stop, int(self.bounds[k + 1]))
            out += [(k, s, min(self.batch_size, b - s)) for s in range(a, b, self.batch_size)]
        return out


def source_images(dataset: str, n: int, mirror: Any = None) -> tuple[list, np.ndarray]:
    """The N training images the raw `dataset:<dataset>:<n>` source uses (arrays, or files of an image
    folder) and their indices in the training split."""
    from ..datasets import load_dataset, subset_indices

    data = load_dataset(dataset, "train", mirror)
    idx = subset_indices(len(data), n)
    if hasattr(data, "paths"):  # an image folder: the original files
        return [data.paths[i] for i in idx.tolist()], idx.numpy()
    x = data.load_batch(idx).permute(0, 2, 3, 1).contiguous().numpy()
    return list(x), idx.numpy()


def _images_md5(images: Sequence) -> str:
    h = hashlib.md5()
    for im in images:
        h.update(np.ascontiguousarray(im).tobytes() if isinstance(im, np.ndarray) else Path(im).read_bytes())
    return h.hexdigest()


def make_patchified_set(dataset: str, n: int, out: str | os.PathLike, spec: PatchSpec, num: int, seed: int = 0,
                        engine: str = "reference", mirror: Any = None, *, device: str = "cpu",
                        batch_size: int | None = None, workers: int = 1, geometry: str = "single",
                        shard_size: int | None = None, progress: bool = True, images: Sequence | None = None
                        ) -> dict[str, Any]:
    """`num` patches cut from the `n` training images of `dataset` (or the given `images`), stored like
    patches.make_patch_set (a .npy + .json, or a shard folder); returns the metadata."""
    from .. import fileio
    from . import store

    started = time.time()
    if num < 1:
        raise PatchError(f"num must be >= 1, not {num}")
    indices = None
    if images is None:
        images, indices = source_images(dataset, n, mirror)
    out = Path(out)
    sharded = shard_size is not None or out.suffix != ".npy"
    shapes = [im.shape[:2] if isinstance(im, np.ndarray) else None for im in images]
    meta: dict[str, Any] = {
        "format": store.FORMAT, "kind": "shards" if sharded else "npy", "count": int(num), "size": spec.size,
        "shape": [int(num), spec.size, spec.size, 3], "dtype": "uint8", "layout": "NHWC",
        "source": {"name": f"{PREFIX}dataset:{dataset}:{n}", "kind": "patchified dataset images",
                   "dataset": dataset, "images": len(images), "path": None,
                   "indices": None if indices is None else [int(i) for i in indices],
                   "height": min((s[0] for s in shapes if s), default=None),
                   "width": min((s[1] for s in shapes if s), default=None),
                   "min_source_side": spec.min_source_side(), "md5": _images_md5(images),
                   "patches_per_image": np.diff(bounds(num, len(images))).tolist()},
        "spec": spec.to_dict(), "seed": int(seed),
        "sampler": "philox4x32-10 keyed by seed, counter (block, index, stream 0); image k: a contiguous index block",
        "engine": engine, "geometry": geometry if engine == "fast" else None, "device": str(device),
        "augprior_version": store.__version__, "versions": store._versions(),
    }
    with ImageSetProducer(images, spec, seed, num, engine, device, batch_size, workers, geometry) as prod:
        meta = (store._write_shards(prod, out, meta, shard_size, progress) if sharded
                else store._write_single(prod, out, meta, progress))
    meta["wall_time_s"] = round(time.time() - started, 3)
    fileio.write_json(out / store.INDEX if sharded else store.meta_path(out), meta)
    return meta
