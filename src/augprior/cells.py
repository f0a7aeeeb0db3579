"""Cells: one table row or figure point each (a setting, the paper's value by key, the replicate jobs),
and why a cell cannot be computed here (data availability)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import manifest, paper
from .jobs import IMAGEFOLDER_PREFIX, Job, distill_config, distill_job, teacher_job, uses_full_data_recipe, zeroskd_job
from .paper import PaperRef
from .sources import parse_source


@dataclass
class Cell:
    """One table row or figure point: a setting, the paper's value, and the replicate jobs."""
    table: str
    part: str
    setting: str
    dataset: str
    jobs: list[Job]
    paper: float | None = None
    teacher: str = ""
    student: str = ""
    epochs: int | None = None
    reason: str = ""        # why the cell is not computed (then jobs is empty)
    comparable: bool = True  # False when the paper's number is for another dataset/model
    x: float | None = None   # abscissa for figures
    extra: dict[str, Any] = field(default_factory=dict)
    paper_ref: PaperRef | None = None  # the paper row (and column) this cell reproduces
    notes: list[str] = field(default_factory=list)  # said in the table row's notes (e.g. the recipe it used)


class Context:
    """What a table module's `cells(ctx)` gets: the resolved params, its own validated block, data checks."""

    def __init__(self, params: dict[str, Any], name: str, block: dict[str, Any]):
        self.params, self.name, self.block = params, name, block
        self.scale, self.seed = params["scale"], params["seed"]
        self._missing: dict[str, str] = {}

    def missing_data(self, dataset: str) -> str:
        """Why `dataset` cannot be used here ('' when it can)."""
        if dataset in self._missing:
            return self._missing[dataset]
        if dataset.startswith(IMAGEFOLDER_PREFIX):  # a user's folder: there or not, never downloaded
            root = Path(dataset.removeprefix(IMAGEFOLDER_PREFIX)).expanduser()
            self._missing[dataset] = "" if (root / "train").is_dir() else f"{dataset}: no folder {root}/train"
        else:
            p = self.params["data"]
            ok = p["download"] or manifest.locally_available(dataset, p["mirror"])
            self._missing[dataset] = "" if ok else (
                f"{dataset} is neither in the cache nor in the mirror and data.download is false at scale {self.scale}")
        return self._missing[dataset]


def distill_cell(ctx: Context, part: str, setting: str, dataset: str, source: str, *, n: int = 1,
                 teacher: str | None = None, paper_ref: PaperRef | None = None, comparable: bool = True,
                 full_data_recipe: bool = True, **overrides: Any) -> Cell:
    """A distillation cell: `n` replicate jobs (seeds seed, seed+1, ...) unless its data is missing. A dataset
    source gets the source-data recipe (params' distill_full_data; full_data_recipe=False: not)."""
    p = ctx.params
    src = parse_source(p, source)
    cfg = distill_config(p, src.kind, overrides, full_data_recipe)
    student = cfg["student"]
    cell = Cell(ctx.name, part, setting, dataset, [], paper.lookup(paper_ref), teacher or p["teacher"]["arch"],
                student, cfg["epochs"], comparable=comparable, paper_ref=paper_ref)
    if uses_full_data_recipe(p, src.kind, full_data_recipe):
        cell.notes.append(recipe_note(cfg))
    cell.reason = next((r for d in (dataset, *src.datasets) if (r := ctx.missing_data(d))), "")
    if not cell.reason:
        seeds = [ctx.seed + r for r in range(n)]
        if source == "zeroskd":
            cell.jobs = [zeroskd_job(p, dataset, cell.teacher, student, s) for s in seeds]
        else:
            cell.jobs = [distill_job(p, dataset, source, s, teacher, full_data_recipe, **overrides) for s in seeds]
    return cell


def recipe_note(cfg: dict[str, Any]) -> str:
    """What a source-data distillation was trained with, for its table row."""
    steps = f"{cfg['epochs']} epochs of {cfg['steps_per_epoch']} steps" if cfg.get("steps_per_epoch") else \
        f"{cfg['epochs']} epochs"
    schedule = "the student family's step schedule" if cfg["lr_schedule"] == "paper" else f"{cfg['lr_schedule']} lr"
    return (f"source-data recipe (Appendix C.4.2, params distill_full_data): {cfg['optimizer'].upper()}, "
            f"batch {cfg['batch_size']}, {steps}, {schedule}")


def supervised_cell(ctx: Context, part: str, setting: str, dataset: str, arch: str, *, n: int = 1,
                    paper_ref: PaperRef | None = None) -> Cell:
    """A model trained with labels (a teacher or a supervised student), `n` seeds."""
    cell = Cell(ctx.name, part, setting, dataset, [], paper.lookup(paper_ref), arch, "", None, paper_ref=paper_ref)
    cell.reason = ctx.missing_data(dataset)
    if not cell.reason:
        cell.jobs = [teacher_job(ctx.params, dataset, arch, ctx.seed + r) for r in range(n)]
    return cell
