"""Figures 2 and 4: plots of cells measured by the pipeline (matplotlib, written atomically)."""

from __future__ import annotations

import io as _io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from PIL import Image  # noqa: E402

from . import io  # noqa: E402


def jpeg_kib(name: str, mirror=None, quality: int = 75) -> float:
    """Size of the source image encoded as JPEG at `quality` (the paper's x axis: how much an image holds)."""
    from .images import load_source_image

    arr = load_source_image(name, mirror=mirror)
    buf = _io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=quality)
    return len(buf.getvalue()) / 1024


def _save(fig, out_png: str | Path) -> None:
    with io.atomic_path(out_png, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=130, bbox_inches="tight")
    plt.close(fig)


def fig2(df: pd.DataFrame, out_png: str | Path, title: str) -> None:
    """Accuracy of each source image against its JPEG size (df needs columns setting, jpeg_kib, reproduced)."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    done = df.dropna(subset=["reproduced"])
    ax.scatter(done.jpeg_kib, done.reproduced, color="tab:blue")
    for _, row in done.iterrows():
        ax.annotate(row.setting.split(":")[-1], (row.jpeg_kib, row.reproduced), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("JPEG size of the source image (KiB, quality 75)")
    ax.set_ylabel(f"student top-1 on {done.dataset.iloc[0] if len(done) else ''} test (%)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    _save(fig, out_png)


def fig4(df: pd.DataFrame, out_png: str | Path, title: str) -> None:
    """Accuracy against student depth, one line per width (df needs depth, width, reproduced)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for width, group in df.dropna(subset=["reproduced"]).groupby("width"):
        group = group.sort_values("depth")
        ax.plot(group.depth, group.reproduced, marker="o", label=f"width x{width}")
    ax.set_xlabel("student depth (CIFAR ResNet)")
    ax.set_ylabel("student top-1 (%)")
    ax.set_title(title, fontsize=9)
    ax.legend()
    ax.grid(alpha=0.3)
    _save(fig, out_png)
