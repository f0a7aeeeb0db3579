"""generate(): patches of one image, by either engine, deterministic in (seed, patch index)."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from .params import sample_params
from .spec import PatchError, PatchSpec

ENGINES = ("reference", "fast")


def _check_image(image: np.ndarray) -> np.ndarray:
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise PatchError(f"expected an RGB uint8 image array (H, W, 3), got {arr.dtype} {arr.shape}")
    return arr


def iter_chunks(image: np.ndarray, spec: PatchSpec, num: int, seed: int, engine: str = "reference",
                device: str = "cpu", batch_size: int | None = None, start: int = 0) -> Iterator[np.ndarray]:
    """Yield consecutive uint8 (n, P, P, 3) chunks of patches start .. start+num-1."""
    arr = _check_image(image)
    if engine not in ENGINES:
        raise PatchError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if num < 0:
        raise PatchError(f"num must be >= 0, not {num}")
    H, W = arr.shape[:2]
    spec.check_source(H, W)
    if batch_size is None:
        batch_size = max(1, min(4096, (1 << 24) // (spec.size * spec.size * 3)))
    if engine == "reference":
        from . import reference

        pil = reference.to_pil(arr)
        for s in range(start, start + num, batch_size):
            n = min(batch_size, start + num - s)
            yield reference.render(pil, sample_params(seed, H, W, spec, n, start=s), spec)
    else:
        from .fast import FastRenderer

        renderer = FastRenderer(arr, spec, device=device)
        for s in range(start, start + num, batch_size):
            n = min(batch_size, start + num - s)
            out = renderer.render(sample_params(seed, H, W, spec, n, start=s))
            yield out.permute(0, 2, 3, 1).contiguous().cpu().numpy()


def generate(image: np.ndarray, spec: PatchSpec, num: int, seed: int = 0, engine: str = "reference",
             device: str = "cpu", batch_size: int | None = None) -> np.ndarray:
    """`num` patches of `image` (RGB uint8 H x W x 3): uint8 array (num, P, P, 3).

    Patch i depends only on (image, spec, seed, i): any batch size gives the same bytes.
    """
    out = np.empty((num, spec.size, spec.size, 3), dtype=np.uint8)
    k = 0
    for chunk in iter_chunks(image, spec, num, seed, engine, device, batch_size):
        out[k:k + len(chunk)] = chunk
        k += len(chunk)
    return out
