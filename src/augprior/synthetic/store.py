"""Synthetic image sets as patch-set files the distillation engine reads.

A set is `<out_path>` (normally `.npy`): a uint8 array (N, P, P, 3), the layout of the
single-image patch sets, plus `<out_path>.json` beside it with what made it (kind, parameters,
seed, count, size, augprior version, shape, a sha256 of the array bytes). Both are written
atomically, the array first and the metadata last, each under a temporary name renamed into
place: a killed or failing job leaves neither file changed nor half-written temporaries behind
(a crash between the two renames can leave a new array beside the old metadata; the sha256 in
the metadata tells them apart, see `load_synthetic_set`).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__, io

KINDS = ("fractal", "stylegan")


def meta_path(out_path: str | os.PathLike) -> Path:
    out_path = Path(out_path)
    return out_path.with_name(out_path.name + ".json")


def generate(kind: str, num: int, size: int, seed: int, **kw: Any) -> tuple[np.ndarray, dict]:
    """The images of a set and extra metadata (the fractal codes and search statistics)."""
    if kind == "fractal":
        from .fractal import fractal_images

        images, info = fractal_images(num, size, seed, return_info=True, **kw)
        extra = {"codes": info["codes"], "search": info["search"], "render_size": info["render_size"]}
        return images, extra
    if kind == "stylegan":
        from .stylegan import stylegan_images

        return stylegan_images(num, size, seed, **kw), {}
    raise ValueError(f"unknown synthetic kind {kind!r}; expected one of {', '.join(KINDS)}")


def make_synthetic_set(kind: str, out_path: str | os.PathLike, num: int, size: int = 32, seed: int = 0,
                       **kw: Any) -> dict[str, Any]:
    """Generate `num` images of `kind` ("fractal" | "stylegan") at `size` px and write the set.

    `kw` go to fractal_images / stylegan_images. Returns the metadata written beside the array.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown synthetic kind {kind!r}; expected one of {', '.join(KINDS)}")
    if num < 1:
        raise ValueError(f"num must be >= 1, got {num}")
    started = time.time()
    out_path = Path(out_path)
    images, extra = generate(kind, num, size, seed, **kw)
    if images.shape != (num, size, size, 3) or images.dtype != np.uint8:
        raise RuntimeError(f"{kind} generator returned {images.dtype} {images.shape}, expected uint8 "
                           f"{(num, size, size, 3)}")
    meta = {
        "kind": kind,
        "count": int(num),
        "size": int(size),
        "seed": int(seed),
        "params": {k: (str(v) if k == "device" else v) for k, v in kw.items()},
        "shape": list(images.shape),
        "dtype": "uint8",
        "layout": "NHWC",
        "sha256": hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest(),
        "augprior_version": __version__,
        "wall_time_s": None,
        **extra,
    }
    meta_file = meta_path(out_path)
    # nested atomic writes: the inner (array) is renamed into place first, then the outer
    # (metadata); an exception before the renames removes both temporary files
    with io.atomic_path(meta_file) as tmp_meta:
        with io.atomic_path(out_path) as tmp:
            with open(tmp, "wb") as f:  # a file object: np.save would append .npy to a bare name
                np.save(f, images, allow_pickle=False)
                f.flush()
                os.fsync(f.fileno())
            meta["wall_time_s"] = round(time.time() - started, 3)
            io.write_json(tmp_meta, meta)
    return meta


def load_synthetic_set(path: str | os.PathLike, *, verify: bool = False) -> tuple[np.ndarray, dict]:
    """(uint8 array (N, P, P, 3), metadata) of a set written by make_synthetic_set."""
    path = Path(path)
    images = np.load(path, allow_pickle=False)
    meta = io.read_json(meta_path(path))
    if list(images.shape) != meta["shape"] or images.dtype != np.uint8:
        raise ValueError(f"{path}: array {images.dtype} {images.shape} does not match its metadata {meta['shape']}")
    if verify and hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest() != meta["sha256"]:
        raise ValueError(f"{path}: array bytes do not match the sha256 in {meta_path(path).name}")
    return images, meta
