"""A picture of patches, like the paper's patch examples."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from .. import fileio


def _to_nhwc(patches: Any, n: int) -> np.ndarray:
    import torch

    if hasattr(patches, "iter_batches"):           # PatchShards
        patches = patches[:n]
    if isinstance(patches, torch.Tensor):
        x = patches[:n].detach().cpu()
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected patches (N, 3, P, P), got {tuple(x.shape)}")
        x = x.permute(0, 2, 3, 1).numpy()
    else:
        x = np.asarray(patches[:n])
        if x.ndim != 4 or x.shape[3] != 3:
            raise ValueError(f"expected patches (N, P, P, 3), got {x.shape}")
    if x.dtype != np.uint8:
        x = np.clip(np.round(x * 255.0 if x.max() <= 1.0 else x), 0, 255).astype(np.uint8)
    return x


def patch_mosaic(patches: Any, n: int = 64, pad: int = 2) -> np.ndarray:
    """The first n patches tiled in a near-square grid with white gaps: uint8 (H, W, 3)."""
    x = _to_nhwc(patches, n)
    if len(x) == 0:
        raise ValueError("no patches to show")
    k, P = len(x), x.shape[1]
    cols = math.ceil(math.sqrt(k))
    rows = math.ceil(k / cols)
    out = np.full((rows * (P + pad) + pad, cols * (P + pad) + pad, 3), 255, dtype=np.uint8)
    for i in range(k):
        r, c = divmod(i, cols)
        out[pad + r * (P + pad): pad + r * (P + pad) + P, pad + c * (P + pad): pad + c * (P + pad) + P] = x[i]
    return out


def save_patch_grid(patches: Any, out_png: str | os.PathLike, n: int = 64, title: str | None = None) -> None:
    """Save the first n patches as a grid (matplotlib PNG, written atomically).

    `patches`: numpy uint8 (N, P, P, 3), a torch tensor (N, 3, P, P) or a PatchShards.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    mosaic = patch_mosaic(patches, n)
    h, w = mosaic.shape[:2]
    scale = max(1.0, 512.0 / max(h, w))
    fig = plt.figure(figsize=(w * scale / 100, h * scale / 100 + (0.3 if title else 0)), dpi=100)
    ax = fig.add_axes((0, 0, 1, h * scale / 100 / fig.get_figheight()))
    ax.imshow(mosaic, interpolation="nearest")
    ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=9, y=0.995)
    with fileio.atomic_path(out_png, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
