"""What DVC tracks of a table or figure besides its CSV: a summary metrics JSON (`dvc metrics show/diff`,
`dvc exp show`) and the learning curves of its runs (`dvc plots show/diff`), both written by the rule that
writes the CSV (workflow/scripts/table.py, figure.py), atomically.

    paper_tables/metrics/<name>.json   {"scale", "cells": {"<part>/<setting>": top-1}, "teacher": {<id>: top-1}}
                                       (<part>/<setting>/<dataset> where a table repeats a setting per dataset)
    paper_tables/curves/<name>.json    [{"run", "epoch", "step", "train_loss", "test_top1"}, ...]

Only computed cells appear under "cells" (the CSV keeps the reasons of the others); a cell with n replicates
is their mean, as in the CSV. "teacher" is the test top-1 of every teacher the table's students learned
from, as each student recorded it (keyed by the teacher's folder under results/<scale>/teacher/).
A curve point's "epoch" is the epoch (teacher, distillation) or the iteration (ZeroSKD); "test_top1" is
null where the run did not evaluate.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from . import fileio, tables
from .cells import Cell
from .jobs import OUTPUTS, job_dir

METRICS_DIR, CURVES_DIR = "paper_tables/metrics", "paper_tables/curves"


def metrics_path(name: str) -> str:
    return f"{METRICS_DIR}/{name}.json"


def curves_path(name: str) -> str:
    return f"{CURVES_DIR}/{name}.json"


def cell_key(part: Any, setting: Any) -> str:
    part, setting = str(part or "").strip(), str(setting or "").strip()
    return f"{part}/{setting}" if part else setting


def cell_keys(cells: list[Cell]) -> list[str]:
    """One key per cell: part/setting, then /dataset where a table repeats a setting per dataset, then #n."""
    keys = [cell_key(c.part, c.setting) for c in cells]
    keys = [f"{k}/{c.dataset}" if keys.count(k) > 1 else k for k, c in zip(keys, cells)]
    seen: dict[str, int] = {}
    out = []
    for k in keys:
        seen[k] = seen.get(k, 0) + 1
        out.append(k if keys.count(k) == 1 else f"{k}#{seen[k]}")
    return out


def _finished(cell: Cell, root: str | Path) -> Iterable[tuple[int, dict[str, Any]]]:
    for i, job in enumerate(cell.jobs):
        path = Path(root) / job_dir(job) / OUTPUTS[job.kind]
        if path.exists():
            yield i, fileio.read_json(path)


def summary(cells: list[Cell], root: str | Path = ".") -> dict[str, Any]:
    """Every computed cell's value (as in the table: the replicates' mean) keyed by part/setting
    (`cell_keys`), plus the teachers' accuracies."""
    df = tables.build_rows(cells, root)  # one row per cell, in order
    values: dict[str, float] = {}
    for key, value in zip(cell_keys(cells), df["reproduced"]):
        if value is not None and not pd.isna(value):
            values[key] = float(value)
    teachers: dict[str, float] = {}
    for cell in cells:
        for i, metrics in _finished(cell, root):
            path = cell.jobs[i].spec.get("teacher_path")
            if path and metrics.get("teacher_top1") is not None:
                teachers[str(Path(path).parent).split("/teacher/", 1)[-1]] = round(float(metrics["teacher_top1"]), 2)
    scale = next((str(s) for s in df["scale"] if s), "") if len(df) else ""
    return {"scale": scale, "cells": values, "teacher": teachers}


def curves(cells: list[Cell], root: str | Path = ".") -> list[dict[str, Any]]:
    """One record per curve point of every finished run: run = cell key (/seed<k> for replicates)."""
    records: list[dict[str, Any]] = []
    for cell, key in zip(cells, cell_keys(cells)):
        for i, metrics in _finished(cell, root):
            run = key if len(cell.jobs) == 1 else f"{key}/seed{cell.jobs[i].spec.get('seed', i)}"
            for point in metrics.get("curve") or []:
                rec = {"run": run, "epoch": point.get("epoch", point.get("iteration")),
                       "step": point.get("step", point.get("iteration")),
                       "train_loss": point.get("train_loss", point.get("loss_s"))}
                # null, not absent, where the run did not evaluate: `dvc plots show` fails on a y field
                # missing from some records ("argument of type 'NoneType' is not iterable")
                top1 = point.get("test_top1")
                rec["test_top1"] = None if top1 is None else round(float(top1), 3)
                records.append(rec)
    return records


def write(name: str, cells: list[Cell], metrics_out: str | Path | None = None,
          curves_out: str | Path | None = None, root: str | Path = ".") -> None:
    """Write the metrics and curves files of table or figure `name` (each atomically)."""
    fileio.write_json(metrics_out or metrics_path(name), summary(cells, root))
    fileio.write_json(curves_out or curves_path(name), curves(cells, root))
