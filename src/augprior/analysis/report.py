"""The outputs of an analysis figure: the PNG, every number behind it (CSV) and a note (md) saying what the
paper shows, what was run at which scale, and whether the measured numbers support the paper's claim."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from .. import fileio
from ..cells import Cell
from ..jobs import job_dir


def titled(title: str, ctx: Any, *details: str) -> str:
    """A figure's title with what a reader needs at a glance: the dataset (where the block names one), the
    scale and any `details`."""
    from ..datasets import label

    dataset = ctx.block.get("dataset")
    parts = ([label(dataset)] if dataset else []) + list(details) + [f"scale {ctx.scale}"]
    return f"{title} ({', '.join(parts)})"


def runs(cells: list[Cell]) -> str:
    return "\n".join(f"- {c.part}: `{job_dir(j)}` ({c.setting})" for c in cells for j in c.jobs)


def note(title: str, scale: str, paper: str, run: str, cells: list[Cell], measured: list[str], verdict: str,
         seconds: float | None = None) -> str:
    lines = [f"# {title}", "", f"Scale: **{scale}**.", "", "## What the paper shows", "", paper, "",
             "## What was run here", "", run, "", "Runs read (the tables' own jobs; this analysis trains nothing):",
             runs(cells), "", "## Measured", ""]
    lines += [f"- {m}" for m in measured]
    lines += ["", "## Does the paper's claim hold here?", "", verdict, ""]
    if scale != "paper":
        lines += [(f"At scale `{scale}` the models are smaller and trained far shorter than the paper's: read the "
                   "verdict as a check that the analysis runs end to end, not as a replication."), ""]
    if seconds is not None:
        lines += [f"Analysis time: {seconds:.1f} s.", ""]
    return "\n".join(lines)


def not_run(title: str, scale: str, reasons: list[str]) -> str:
    return "\n".join([f"# {title}", "", f"Scale: **{scale}**.", "", "Not computed here:", ""]
                     + [f"- {r}" for r in reasons] + [""])


def write(out: Any, df: pd.DataFrame, md: str, metrics: dict[str, Any] | None = None) -> None:
    """out: the rule's outputs (csv, md, and metrics where the rule has it: the DVC metrics file; the png is
    saved by the figure code). metrics: {"scale", "summary": {name: number}, "seconds"} or {"scale", "reasons"}."""
    fileio.write_text(out.csv, df.to_csv(index=False))
    fileio.write_text(out.md, md)
    if getattr(out, "metrics", None) and metrics is not None:
        fileio.write_json(out.metrics, metrics)


def unavailable(cells: list[Cell], ctx: Any, out: Any, title: str, columns: list[str], root: Any = ".") -> bool:
    """When a run the analysis reads is not computable or not finished: write a placeholder figure, an empty
    CSV with `columns` and a note saying why, and return True."""
    from .inputs import missing

    reasons = missing(cells, root)
    if reasons:
        empty_figure(out.png, title, reasons)
        write(out, pd.DataFrame(columns=columns), not_run(title, ctx.scale, reasons),
              {"scale": ctx.scale, "summary": {}, "reasons": reasons})
    return bool(reasons)


def empty_figure(png: str, title: str, reasons: list[str]) -> None:
    from ..figures import new_axes, save

    fig, ax = new_axes(title, (6, 2.5))
    ax.axis("off")
    ax.text(0.0, 0.5, "not computed:\n" + "\n".join(reasons), fontsize=7, va="center", wrap=True)
    save(fig, png)


def analysis(title: str, paper: str, columns: list[str]) -> Callable:
    """Decorator of an analysis body `fn(cells, ctx, out, root) -> (df, run, measured, verdict[, summary])` (it
    saves the PNG itself; summary: the figure's headline numbers by name, for `dvc metrics`): the figure's
    `analysis(cells, ctx, out, root=".")`, which writes a placeholder when a run it reads is missing, and
    otherwise the CSV, the note with the analysis time and the metrics."""
    def deco(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(cells: list[Cell], ctx: Any, out: Any, root: Any = ".") -> None:
            if unavailable(cells, ctx, out, title, columns, root):
                return
            t0 = time.time()
            df, what, measured, verdict, *summary = fn(cells, ctx, out, root)
            seconds = time.time() - t0
            metrics = {"scale": ctx.scale, "summary": _numbers(summary[0] if summary else {}), "seconds": round(seconds, 1)}
            write(out, df, note(title, ctx.scale, paper, what, cells, measured, verdict, seconds), metrics)
        return run
    return deco


def _numbers(summary: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe, rounded: NaN/inf become null (DVC reads the file as JSON)."""
    return {k: (None if v is None or not math.isfinite(float(v)) else round(float(v), 5)) for k, v in summary.items()}
