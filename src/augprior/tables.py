"""Regenerated paper tables: the paper's value next to what the pipeline measured."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from . import fileio
from .cells import Cell
from .datasets import label
from .jobs import OUTPUTS, Job, job_dir as _job_dir

COLUMNS = ["table", "part", "setting", "dataset", "teacher", "student", "epochs", "paper",
           "reproduced", "std", "n", "delta", "scale", "run_dirs", "notes"]


def summarize(values: list[float]) -> tuple[float | None, float | None, int]:
    if not values:
        return None, None, 0
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else None
    return mean, std, len(values)


def job_dir(job: Job, root: str | Path = ".") -> Path:
    """The job's folder under `root` (the repository, or a copy of its results/)."""
    return Path(root) / _job_dir(job)


def build_rows(cells: Iterable[Cell], results_root: str | Path = ".") -> pd.DataFrame:
    """One row per cell from the metrics.json of its jobs; an uncomputed cell keeps its reason."""
    rows = []
    for cell in cells:
        values, dirs, notes = [], [], []
        scale = ""
        for job in cell.jobs:
            scale = job.scale
            run = job_dir(job, results_root)
            dirs.append(str(job_dir(job)))
            metrics = run / OUTPUTS[job.kind]
            if metrics.exists():
                values.append(float(fileio.read_json(metrics)["top1"]))
            else:
                notes.append(f"missing {metrics}")
        if cell.reason:
            notes.append(f"not computed: {cell.reason}")
        if not cell.comparable and cell.paper is not None:
            notes.append("paper value is from another setting (see the paper column's source table)")
        mean, std, n = summarize(values)
        rows.append({
            "table": cell.table, "part": cell.part, "setting": cell.setting,
            "dataset": label(cell.dataset), "teacher": cell.teacher, "student": cell.student,
            "epochs": cell.epochs, "paper": cell.paper,
            "reproduced": None if mean is None else round(mean, 2),
            "std": None if std is None else round(std, 2), "n": n,
            "delta": None if mean is None or cell.paper is None or not cell.comparable else round(mean - cell.paper, 2),
            "scale": scale, "run_dirs": ";".join(dirs), "notes": "; ".join(notes),
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def fmt(mean: Any, std: Any, n: int) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return ""
    if n > 1 and std is not None and not (isinstance(std, float) and math.isnan(std)):
        return f"{mean:.2f} ± {std:.2f} (n={n})"
    return f"{mean:.2f}"


def to_markdown(df: pd.DataFrame, title: str, scale: str) -> str:
    view = df.copy()
    view["reproduced"] = [fmt(m, s, int(n)) for m, s, n in zip(df.reproduced, df["std"], df.n)]
    view["run_dirs"] = [(d.split(";")[0].removeprefix("results/") + (" …" if ";" in d else "")) if d else ""
                        for d in df.run_dirs]
    view = view.drop(columns=["std", "n", "table", "scale"])
    view = view.astype(object).where(view.notna(), "")
    lines = [f"# {title}", "",
             f"Scale: **{scale}**. Test top-1 accuracy (%). `paper` is the published value of Asano & Saeed "
             "(ICLR 2023) for the paper's own setting."]
    if scale != "paper":
        lines.append(f"At scale `{scale}` the architectures, epochs and patch counts are smaller than the paper's "
                     "(see the teacher/student/epochs columns and params.yaml): compare orderings, not values.")
    lines += ["", view.to_markdown(index=False), ""]
    return "\n".join(lines)


def write_table(df: pd.DataFrame, csv_path: str | Path, title: str, scale: str) -> None:
    fileio.write_text(csv_path, df.to_csv(index=False))
    fileio.write_text(Path(csv_path).with_suffix(".md"), to_markdown(df, title, scale))
