"""Regenerated paper tables: the paper's value next to what the pipeline measured."""

from __future__ import annotations

import math
import statistics
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from . import io
from .datasets import LABELS
from .experiments import Cell, Job

COLUMNS = ["table", "part", "setting", "dataset", "teacher", "student", "epochs", "paper",
           "reproduced", "std", "n", "delta", "scale", "run_dirs", "notes"]


def paper_table(name: str) -> pd.DataFrame:
    """The paper's published numbers (the project's own copy of shared/paper/tableN.csv)."""
    path = resources.files("augprior").joinpath(f"resources/paper/{name}.csv")
    return pd.read_csv(path.open())


def paper_value(cell: Cell) -> float | None:
    column = "cifar100" if cell.dataset == "cifar100" else "cifar10"
    if cell.part == "3a":
        df = paper_table("table3a")
        rows = df[df.source_image.str.lower() == cell.extra["source_image"]]
    elif cell.part == "3b":
        df = paper_table("table3b")
        rows = df[df.teacher_signal == cell.extra["teacher_signal"]]
    elif cell.part == "3c":
        df = paper_table("table3c")
        rows = df[(df.hflip == cell.extra["hflip"]) & (df.random_crop == cell.extra["random_crop"])
                  & (df.mixup == cell.extra["mixup"]) & (df.cutmix == cell.extra["cutmix"])]
    else:
        raise ValueError(f"no paper lookup for part {cell.part!r}")
    if rows.empty or pd.isna(rows.iloc[0][column]):
        return None
    return float(rows.iloc[0][column])


def summarize(values: list[float]) -> tuple[float | None, float | None, int]:
    if not values:
        return None, None, 0
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else None
    return mean, std, len(values)


def build_rows(cells: Iterable[Cell], results_root: str | Path = ".") -> pd.DataFrame:
    """One row per cell from the metrics.json of its jobs; a missing run leaves the cell empty."""
    rows = []
    for cell in cells:
        values, dirs, notes = [], [], []
        for job in cell.jobs:
            metrics_path = Path(results_root) / _job_dir(cell, job) / "metrics.json"
            dirs.append(str(metrics_path.parent))
            if metrics_path.exists():
                m = io.read_json(metrics_path)
                values.append(m["top1"])
            else:
                notes.append(f"missing {metrics_path}")
        mean, std, n = summarize(values)
        paper = cell.paper if cell.paper is not None else paper_value(cell)
        spec = cell.jobs[0].spec
        rows.append({
            "table": cell.table, "part": cell.part, "setting": cell.setting,
            "dataset": LABELS.get(cell.dataset, cell.dataset),
            "teacher": _teacher_arch(spec), "student": spec["distill"]["student"],
            "epochs": spec["distill"]["epochs"], "paper": paper,
            "reproduced": None if mean is None else round(mean, 2),
            "std": None if std is None else round(std, 2), "n": n,
            "delta": None if mean is None or paper is None else round(mean - paper, 2),
            "scale": spec["scale"], "run_dirs": ";".join(dirs), "notes": "; ".join(notes),
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def _job_dir(cell: Cell, job: Job) -> str:
    return f"results/{job.spec['scale']}/{job.kind}/{job.id}"


def _teacher_arch(spec: dict[str, Any]) -> str:
    # results/<scale>/teacher/<dataset>/<arch>_seed<seed>_<hash>/model.pt
    return Path(spec["teacher_path"]).parent.name.split("_seed")[0]


def fmt(mean: float | None, std: float | None, n: int) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return ""
    if n > 1 and std is not None and not math.isnan(std):
        return f"{mean:.2f} ± {std:.2f} (n={n})"
    return f"{mean:.2f}"


def to_markdown(df: pd.DataFrame, title: str, teacher_metrics: dict[str, Any] | None = None) -> str:
    view = df.copy()
    view["reproduced"] = [fmt(m, s, int(n)) for m, s, n in zip(df.reproduced, df["std"], df.n)]
    view = view.drop(columns=["std", "n", "table"])
    view = view.astype(object).where(view.notna(), "")
    view["run_dirs"] = [d.split(";")[0].removeprefix("results/") + (" …" if ";" in d else "") for d in view.run_dirs]
    lines = [f"# {title}", ""]
    scales = sorted(set(df.scale))
    lines.append(f"Scale: {', '.join(scales)}. Values are test top-1 accuracy (%). "
                 "`paper` is the published value for the paper's own setting (Asano & Saeed, ICLR 2023); "
                 + ("at a scale other than `paper` the architectures, epochs and patch counts differ, "
                    "so compare orderings, not absolute values." if scales != ["paper"] else ""))
    if teacher_metrics:
        lines.append(f"Teacher: {teacher_metrics['arch']} on {LABELS.get(teacher_metrics['dataset'])}, "
                     f"test top-1 {teacher_metrics['top1']:.2f}%.")
    lines += ["", view.to_markdown(index=False), ""]
    return "\n".join(lines)


def write_table(df: pd.DataFrame, csv_path: str | Path, md_text: str) -> None:
    io.write_text(csv_path, df.to_csv(index=False))
    io.write_text(Path(csv_path).with_suffix(".md"), md_text)
