"""Regenerated paper tables: the paper's value next to what the pipeline measured.

Every row also shows its teacher's test top-1 (`teacher_top1`), the student's share of it
(`student_share`, %), the number of test images it was scored on (`n_test`) and the optimizer steps
its runs trained for (`steps`, from their metrics.json; runs of one cell agree); a run's warnings
(a collapsed teacher or student, a far too slow run) are in its row's notes. `delta` (reproduced
minus paper) is only meaningful at paper scale: below it the md shows it in italics and says that
it compares different settings. `run_dirs` is the same text in the CSV and the md."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from . import fileio
from .cells import Cell
from .datasets import label
from .findings import markdown as findings_md
from .jobs import IMAGEFOLDER_PREFIX, OUTPUTS, Job, job_dir as _job_dir

COLUMNS = ["table", "part", "setting", "dataset", "teacher", "student", "epochs", "steps", "paper",
           "reproduced", "std", "n", "teacher_top1", "student_share", "n_test", "delta", "scale", "run_dirs", "notes"]
RESOLVED_POINTS = 2.0  # with one seed per cell, differences smaller than this are not resolved


def summarize(values: list[float]) -> tuple[float | None, float | None, int]:
    if not values:
        return None, None, 0
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else None
    return mean, std, len(values)


def cell_value(metrics: dict[str, Any], cell: Cell) -> float | None:
    """A run's final test top-1, or, for a cell with extra["curve_epoch"] (Table 8's epoch columns), its test
    top-1 at that epoch of metrics.json's curve (None when the run made no evaluation there), or, for a cell
    with extra["metric"] (an evaluation job's column, e.g. Table 16's mce), that key of metrics.json; with both,
    that key of the curve point (e.g. "agreement" at epoch 0: the student at initialisation)."""
    metric, epoch = cell.extra.get("metric"), cell.extra.get("curve_epoch")
    if epoch is None:
        value = metrics[metric or "top1"]
        return None if value is None else float(value)
    key = metric or "test_top1"
    point = next((p for p in metrics.get("curve") or () if p.get("epoch") == epoch and p.get(key) is not None), None)
    return None if point is None else float(point[key])


def job_dir(job: Job, root: str | Path = ".") -> Path:
    """The job's folder under `root` (the repository, or a copy of its results/)."""
    return Path(root) / _job_dir(job)


def build_rows(cells: Iterable[Cell], results_root: str | Path = ".") -> pd.DataFrame:
    """One row per cell from the metrics.json of its jobs; an uncomputed cell keeps its reason."""
    rows = []
    for cell in cells:
        values, teachers, n_test, steps, dirs, notes = [], [], [], [], [], list(cell.notes)
        scale = ""
        for job in cell.jobs:
            scale = job.scale
            run = job_dir(job, results_root)
            dirs.append(str(job_dir(job)))
            metrics = run / OUTPUTS[job.kind]
            if metrics.exists():
                m = fileio.read_json(metrics)
                value = cell_value(m, cell)
                if value is None:
                    notes.append(f"no {cell.extra.get('metric') or 'test_top1'} at epoch {cell.extra.get('curve_epoch')} "
                                 f"in {metrics}")
                else:
                    values.append(value)
                if m.get("teacher_top1") is not None:
                    teachers.append(float(m["teacher_top1"]))
                if m.get("n") is not None:
                    n_test.append(int(m["n"]))
                if m.get("steps") is not None:
                    steps.append(int(m["steps"]))
                notes += [f"warning ({job.id.rsplit('/', 1)[-1]}): {w}" if len(cell.jobs) > 1 else f"warning: {w}"
                          for w in m.get("warnings") or ()]
            else:
                notes.append(f"missing {metrics}")
        if cell.reason:
            notes.append(f"not computed: {cell.reason}")
        # a user's image folder is not a dataset of the paper: its paper value is CIFAR's
        comparable = cell.comparable and not cell.dataset.startswith(IMAGEFOLDER_PREFIX)
        if not comparable and cell.paper is not None:
            notes.append("paper value is from another setting (see the paper column's source table)")
        mean, std, n = summarize(values)
        teacher_top1 = statistics.fmean(teachers) if teachers else None
        rows.append({
            "table": cell.table, "part": cell.part, "setting": cell.setting,
            "dataset": label(cell.dataset), "teacher": cell.teacher, "student": cell.student,
            "epochs": cell.epochs, "steps": "/".join(str(k) for k in sorted(set(steps))) if steps else None,
            "paper": cell.paper,
            "reproduced": None if mean is None else round(mean, 2),
            "std": None if std is None else round(std, 2), "n": n,
            "teacher_top1": None if teacher_top1 is None else round(teacher_top1, 2),
            "student_share": None if mean is None or not teacher_top1 else round(100 * mean / teacher_top1, 1),
            "n_test": "/".join(str(k) for k in sorted(set(n_test))) if n_test else None,
            "delta": None if mean is None or cell.paper is None or not comparable else round(mean - cell.paper, 2),
            "scale": scale, "run_dirs": ";".join(dirs), "notes": "; ".join(notes),
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def fmt(mean: Any, std: Any, n: int) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return ""
    if n > 1 and std is not None and not (isinstance(std, float) and math.isnan(std)):
        return f"{mean:.2f} ± {std:.2f} (n={n})"
    return f"{mean:.2f}"


MEASURE = "Test top-1 accuracy (%)."


def to_markdown(df: pd.DataFrame, title: str, scale: str, findings: tuple = (), measure: str = MEASURE) -> str:
    view = df.copy()
    if {"reproduced", "std", "n"} <= set(df.columns):
        view["reproduced"] = [fmt(m, s, int(n)) for m, s, n in zip(df.reproduced, df["std"], df.n)]
    if "delta" in df.columns and scale != "paper":  # another setting than the paper's: shown, not compared
        view["delta"] = [f"*({d:+.2f})*" if isinstance(d, (int, float)) and not math.isnan(d) else d for d in df.delta]
    view = view.drop(columns=[c for c in ("std", "n", "table", "scale") if c in view.columns])
    view = view.astype(object).where(view.notna(), "")
    lines = [f"# {title}", "",
             f"Scale: **{scale}**. {measure} `paper` is the published value of Asano & Saeed "
             "(ICLR 2023) for the paper's own setting."]
    if "teacher_top1" in df.columns:
        lines.append("`teacher_top1` is the row's teacher on the same test images, `student_share` the student's "
                     "top-1 as a % of it, `n_test` the number of test images each run was scored on.")
    if "steps" in df.columns:
        lines.append("`steps` is the number of optimizer steps each run of the row trained for.")
    if scale != "paper":
        lines.append(f"At scale `{scale}` the architectures, epochs and patch counts are smaller than the paper's "
                     "(see the teacher/student/epochs columns and params.yaml): compare orderings, not values. "
                     "The *delta* to the paper (in italics) compares different settings, so it is no measure of "
                     "the reproduction.")
    if "n" in df.columns and len(df) and (df.n.fillna(0) <= 1).all():
        lines.append(f"One seed per cell: differences under about {RESOLVED_POINTS:.0f} points are not resolved "
                     "(seed-to-seed variation of this size is common); more seeds give mean ± std.")
    if "notes" in df.columns and df.notes.astype(str).str.contains("warning").any():
        lines.append("**Some runs warn** (see their notes): a collapsed run predicts one class for most images.")
    lines += ["", view.to_markdown(index=False), *findings_md(df, findings), ""]
    return "\n".join(lines)


def write_table(df: pd.DataFrame, csv_path: str | Path, title: str, scale: str, findings: tuple = (),
                measure: str = MEASURE) -> None:
    fileio.write_text(csv_path, df.to_csv(index=False))
    fileio.write_text(Path(csv_path).with_suffix(".md"), to_markdown(df, title, scale, findings, measure))


def figure_title(title: str, scale: str, cells: Iterable[Cell]) -> str:
    """A figure's title with the scale it was made at and the dataset(s) it was scored on."""
    datasets = ", ".join(sorted({label(c.dataset) for c in cells if c.dataset}))
    return f"{title} (scale {scale}" + (f", {datasets})" if datasets else ")")


def summary_line(name: str, df: pd.DataFrame, csv_path: str | Path) -> str:
    """What a table job did, in one log line."""
    runs = sum(len(d.split(";")) for d in df.run_dirs if d) if "run_dirs" in df.columns else 0
    done = int(df.reproduced.notna().sum()) if "reproduced" in df.columns else len(df)
    empty = int(df.notes.astype(str).str.contains("not computed: ").sum()) if "notes" in df.columns else 0
    warned = int(df.notes.astype(str).str.contains("warning").sum()) if "notes" in df.columns else 0
    return (f"{name}: {done}/{len(df)} rows computed from {runs} runs, {empty} empty with a reason"
            + (f", {warned} with warnings" if warned else "") + f" -> {csv_path} and {Path(csv_path).with_suffix('.md')}")
