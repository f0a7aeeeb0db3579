"""Synthetic image sets as patch-set files the distillation engine reads.

A set is written exactly like a single-file patch set of augprior.patches (format
"augprior-patches/1"): `x/name.npy`, a uint8 array (N, P, P, 3), and `x/name.json` beside it,
so `augprior.patches.load_patch_set` and a distillation job's input
`{"kind": "patches", "path": "x/name.npy"}` read it unchanged. The metadata carries the patch-set
keys (format, kind "npy", count, size, shape, dtype, layout, seed, npy_md5, augprior_version,
wall_time_s) plus what made the images: "synthetic" (fractal | stylegan), "params" (the
generator's keyword arguments), "source" (a summary in the place where patch sets name their
source image) and, for fractals, the IFS codes and the code-search statistics.

Writing is atomic: the array and the metadata go to temporary files first; only when both are
complete is the old metadata removed, the array renamed into place, then the new metadata. A
failure before that leaves an existing set untouched and no temporary files; a kill during the
renames leaves an array without metadata, which load_patch_set refuses as incomplete.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__, fileio
from ..manifest import md5sum

KINDS = ("fractal", "stylegan")
FORMAT = "augprior-patches/1"  # = augprior.patches.store.FORMAT (checked by the tests)


def meta_path(out_path: str | os.PathLike) -> Path:
    """The metadata file of a set, as for patch sets: name.npy -> name.json."""
    return Path(out_path).with_suffix(".json")


def generate(kind: str, num: int, size: int, seed: int, **kw: Any) -> tuple[np.ndarray, dict]:
    """The images of a set and extra metadata (for fractals: the codes and search statistics)."""
    if kind == "fractal":
        from .fractal import fractal_images

        images, info = fractal_images(num, size, seed, return_info=True, **kw)
        return images, {"codes": info["codes"], "search": info["search"], "render_size": info["render_size"]}
    if kind == "stylegan":
        from .stylegan import stylegan_images

        return stylegan_images(num, size, seed, **kw), {}
    raise ValueError(f"unknown synthetic kind {kind!r}; expected one of {', '.join(KINDS)}")


def make_synthetic_set(kind: str, out_path: str | os.PathLike, num: int, size: int = 32, seed: int = 0,
                       **kw: Any) -> dict[str, Any]:
    """Generate `num` images of `kind` ("fractal" | "stylegan") at `size` px and write the set.

    `out_path` must end in .npy (the metadata goes to the same name with .json). `kw` go to
    fractal_images / stylegan_images. Returns the metadata written.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown synthetic kind {kind!r}; expected one of {', '.join(KINDS)}")
    if num < 1:
        raise ValueError(f"num must be >= 1, got {num}")
    out_path = Path(out_path)
    if out_path.suffix != ".npy":
        raise ValueError(f"{out_path}: a synthetic set is one .npy file (plus .json metadata)")
    started = time.time()
    images, extra = generate(kind, num, size, seed, **kw)
    if images.shape != (num, size, size, 3) or images.dtype != np.uint8:
        raise RuntimeError(f"{kind} generator returned {images.dtype} {images.shape}, expected uint8 "
                           f"{(num, size, size, 3)}")
    params = {k: (str(v) if k == "device" else v) for k, v in kw.items()}
    meta: dict[str, Any] = {
        "format": FORMAT,
        "kind": "npy",
        "count": int(num),
        "size": int(size),
        "shape": list(images.shape),
        "dtype": "uint8",
        "layout": "NHWC",
        "seed": int(seed),
        "synthetic": kind,
        "params": params,
        "source": {"name": f"synthetic:{kind}", "kind": "synthetic", "generator": kind, "seed": int(seed),
                   "params": params},
        "augprior_version": __version__,
        **extra,
    }
    meta_file = meta_path(out_path)
    # nested temporaries: the inner one (array) is renamed first, then the outer (metadata)
    with fileio.atomic_path(meta_file) as tmp_meta:
        with fileio.atomic_path(out_path) as tmp:
            with open(tmp, "wb") as f:  # a file object: np.save would append .npy to a bare name
                np.save(f, images, allow_pickle=False)
                f.flush()
                os.fsync(f.fileno())
            meta["npy_md5"] = md5sum(tmp)
            meta["wall_time_s"] = round(time.time() - started, 3)
            fileio.write_json(tmp_meta, meta)
            # both files are complete: the old metadata must not vouch for the new array
            meta_file.unlink(missing_ok=True)
    return meta


def load_synthetic_set(path: str | os.PathLike, *, verify: bool = False) -> tuple[np.ndarray, dict]:
    """(uint8 array (N, P, P, 3), metadata) of a set written by make_synthetic_set."""
    path = Path(path)
    if not meta_path(path).is_file():
        raise FileNotFoundError(f"{path}: its metadata {meta_path(path).name} is missing: the set is incomplete")
    meta = fileio.read_json(meta_path(path))
    if verify and md5sum(path) != meta.get("npy_md5"):
        raise ValueError(f"{path}: md5 differs from the one recorded in {meta_path(path).name}")
    images = np.load(path, allow_pickle=False)
    if list(images.shape) != meta["shape"] or images.dtype != np.uint8:
        raise ValueError(f"{path}: array {images.dtype} {list(images.shape)} does not match its metadata {meta['shape']}")
    return images, meta
