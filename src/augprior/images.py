"""Source images: the paper's named images, generated noise, built-ins, or a user's file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from . import data


def load_source_image(name_or_path: str, *, md5: str | None = None,
                      mirror: str | os.PathLike | None = None) -> np.ndarray:
    """Return the image as an RGB uint8 array of shape (H, W, 3).

    `name_or_path` is a manifest name (city, animals, bridge, universe, noise, ...) or a file path;
    for a path, `md5` (optional) is checked.
    """
    if name_or_path in data.manifest()["images"]:
        return _load_named(name_or_path, mirror)
    path = Path(name_or_path).expanduser()
    if not path.exists():
        raise data.DataError(
            f"source image {name_or_path!r} is neither a known name "
            f"({', '.join(data.image_names())}) nor an existing file")
    if md5 is not None and (got := data.md5sum(path)) != md5:
        raise data.DataError(f"{path}: md5 {got} does not match the expected {md5}")
    return read_rgb(path)


def _load_named(name: str, mirror: str | os.PathLike | None) -> np.ndarray:
    entry = data.image_entry(name)
    if "file" in entry:
        return read_rgb(data.resolve_image_file(name, mirror))
    if entry.get("builtin") == "skimage.data.hubble_deep_field":
        import skimage.data

        return to_rgb(np.asarray(skimage.data.hubble_deep_field()))
    if "generated" in entry:
        g = entry["generated"]
        rng = np.random.default_rng(g["seed"])
        return rng.integers(0, 256, size=(g["height"], g["width"], 3), dtype=np.uint8)
    raise data.DataError(f"manifest entry for image {name!r} has no file, builtin or generated key")


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """Decode an image file to RGB uint8; RGBA drops alpha, grayscale is replicated."""
    try:
        with Image.open(path) as img:
            img.load()
            return to_rgb(np.asarray(img.convert("RGBA") if img.mode in ("P", "LA") else img))
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise data.DataError(f"{path}: not a readable image ({err})") from err


def to_rgb(arr: np.ndarray) -> np.ndarray:
    if arr.dtype != np.uint8:
        arr = np.clip(arr * (255.0 if arr.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    elif arr.ndim == 3 and arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise data.DataError(f"cannot convert an array of shape {arr.shape} to RGB")
    return np.ascontiguousarray(arr)
