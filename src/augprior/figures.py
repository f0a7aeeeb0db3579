"""Shared helpers of the paper figures (their plots live next to their cells: augprior.experiments.fig2, fig4)."""

from __future__ import annotations

import io as _io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

from . import fileio  # noqa: E402


def jpeg_kib(name: str, mirror=None, quality: int = 75) -> float:
    """Size of the source image encoded as JPEG at `quality` (the paper's x axis: how much an image holds)."""
    from .source_images import load_source_image

    arr = load_source_image(name, mirror=mirror)
    buf = _io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=quality)
    return len(buf.getvalue()) / 1024


def new_axes(title: str, size: tuple[float, float]):
    """A figure with one gridded axes titled `title` (the paper figures' common frame)."""
    fig, ax = plt.subplots(figsize=size)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    return fig, ax


def save(fig, out_png: str | Path) -> None:
    with fileio.atomic_path(out_png, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=130, bbox_inches="tight")
    plt.close(fig)
