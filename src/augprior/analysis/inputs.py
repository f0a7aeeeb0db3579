"""What the analysis figures read: the teacher, students and patch set of jobs the tables already train.

An analysis figure's cells are roles ('teacher', 'one-image student', 'full-data student', 'patches'),
each holding one job taken from another table's cells, so the figure's jobs are the very jobs (same ids,
same folders) of that table and the analysis adds no training to the workflow; the figure's Snakemake
rule lists their finished-run files as inputs, so a changed run re-triggers it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch

from .. import tables
from ..cells import Cell, Context
from ..jobs import Job, job_path
from ..runtime import select_device, use_bf16

TEACHER, ONE_IMAGE, FULL_DATA, PATCHES = "teacher", "one-image student", "full-data student", "patches"


def table_cell(ctx: Context, table: str, setting: str, dataset: str) -> Cell:
    """The cell of table `table` whose setting is `setting` on `dataset` (the tables' own cells)."""
    from .. import experiments
    from ..datasets import label

    found = [c for c in experiments.cells(table, ctx.params) if c.setting == setting and c.dataset == dataset]
    if not found:
        raise ValueError(f"{ctx.name}: {table} has no cell {setting!r} on {dataset} "
                         f"(settings: {sorted({c.setting for c in experiments.cells(table, ctx.params)})}; {label(dataset)})")
    return found[0]


def role_cells(ctx: Context, table: str, dataset: str, one_image: str, full_data: str | None = None) -> list[Cell]:
    """Cells teacher / one-image student / patches (/ full-data student) from `table`'s cells."""
    src = table_cell(ctx, table, one_image, dataset)
    rows: list[tuple[str, Cell, Job | None]] = []
    student = src.jobs[0] if src.jobs else None
    teacher = next((j for j in student.needs if j.kind == "teacher"), None) if student else None
    patches = next((j for j in student.needs if j.kind == "patches"), None) if student else None
    rows += [(TEACHER, src, teacher), (ONE_IMAGE, src, student), (PATCHES, src, patches)]
    if full_data is not None:
        full = table_cell(ctx, table, full_data, dataset)
        rows.append((FULL_DATA, full, full.jobs[0] if full.jobs else None))
    out = []
    for role, cell, job in rows:
        reason = cell.reason or ("" if job is not None else f"{table} {cell.setting!r} has no {role} job")
        out.append(Cell(ctx.name, role, f"{table}: {cell.setting}", dataset, [job] if job and not reason else [],
                        teacher=cell.teacher, student=cell.student if role != TEACHER else "", epochs=cell.epochs,
                        reason=reason, extra={"source_table": table}))
    return out


def patch_cells(ctx: Context, table: str, dataset: str, images: list[str]) -> list[Cell]:
    """One cell per source image holding the patch set that `table`'s student of that image is distilled on."""
    out = []
    for image in images:
        try:
            src = table_cell(ctx, table, image, dataset)
        except ValueError as err:  # the table's block no longer has that image: this cell stays empty, the plan stands
            out.append(Cell(ctx.name, f"{PATCHES}: {image}", f"{table}: {image}", dataset, [], reason=str(err),
                            extra={"image": image}))
            continue
        job = next((j for j in src.jobs[0].needs if j.kind == "patches"), None) if src.jobs else None
        reason = src.reason or ("" if job else f"{table} {image!r} is not distilled from a patch set")
        out.append(Cell(ctx.name, f"{PATCHES}: {image}", f"{table}: {image}", dataset, [job] if job else [],
                        reason=reason, extra={"image": image}))
    return out


def block_cells(ctx: Context) -> list[Cell]:
    """The cells of an analysis figure whose params block names `table`, `dataset`, `one_image` (and
    optionally `full_data`): its `cells(ctx)`."""
    t = ctx.block
    try:
        return role_cells(ctx, t["table"], t["dataset"], t["one_image"], t.get("full_data"))
    except ValueError as err:  # another table's block changed under the figure: empty cells, the plan stands
        roles = [TEACHER, ONE_IMAGE, PATCHES] + ([FULL_DATA] if t.get("full_data") else [])
        return [Cell(ctx.name, role, f"{t['table']}: {t['one_image']}", t["dataset"], [], reason=str(err),
                     extra={"source_table": t["table"]}) for role in roles]


def by_role(cells: list[Cell]) -> dict[str, Cell]:
    return {c.part: c for c in cells}


def missing(cells: list[Cell], root: str | os.PathLike = ".") -> list[str]:
    """Why the analysis cannot run: uncomputed cells or unfinished jobs ([] when it can)."""
    out = [f"{c.part}: {c.reason}" for c in cells if c.reason]
    out += [f"{c.part}: missing {p}" for c in cells for j in c.jobs
            if not (p := tables.job_dir(j, root) / ("patches.npy" if j.kind == "patches" else
                                                    ("model.pt" if j.kind == "teacher" else "student.pt"))).exists()]
    return out


@dataclass
class Runtime:
    """Device, precision and data location of an analysis (from the resolved params)."""
    device: torch.device
    bf16: bool
    mirror: Any
    scale: str
    temperature: float

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Runtime:
        device = select_device(params.get("device") or "auto")
        return cls(device, use_bf16(device, params.get("precision") or "auto"), params["data"]["mirror"],
                   params["scale"], float(params["distill"]["temperature"]))


def load_model(job: Job, rt: Runtime, root: str | os.PathLike = "."):
    """(model in eval mode on rt.device, (mean, std), metadata) of a teacher or distillation job."""
    from ..checkpoint import load_model as _load
    from ..datasets import normalization

    name = "model.pt" if job.kind == "teacher" else "student.pt"
    model, meta = _load(os.path.join(root, job_path(job, name)), rt.device)
    norm = (tuple(meta["mean"]), tuple(meta["std"])) if "mean" in meta and "std" in meta else \
        normalization(job.spec["dataset"])
    return model, norm, meta


def test_set(dataset: str, rt: Runtime, n: int | None):
    """A fixed sample of `n` test images spread over all classes (datasets.subset_indices; None: all)."""
    from ..datasets import load_dataset

    test = load_dataset(dataset, "test", rt.mirror)
    return test.subset(n) if n else test


def patch_sample(job: Job, n: int | None, root: str | os.PathLike = ".", seed: int = 0) -> torch.Tensor:
    """A fixed random sample of `n` patches (uint8 (n, C, H, W)) of a patch set job."""
    from ..datasets import subset_indices
    from ..patches.store import load_patch_set

    store = load_patch_set(os.path.join(root, job_path(job)))
    idx = subset_indices(len(store), n) if n else torch.arange(len(store))
    return torch.as_tensor(store[idx])


@dataclass
class TeacherStudent:
    """The teacher and the one-image student of an analysis' cells, its runtime, test sample and patch job."""
    rt: Runtime
    teacher: torch.nn.Module
    teacher_norm: tuple
    student: torch.nn.Module
    student_norm: tuple
    test: Any
    side: int          # the test images' side (patches cut larger are resized to it)
    patches: Job | None


def teacher_and_student(cells: list[Cell], ctx: Context, test_images: int | None,
                        root: str | os.PathLike = ".") -> TeacherStudent:
    rt, roles = Runtime.from_params(ctx.params), by_role(cells)
    teacher, norm_t, _ = load_model(roles[TEACHER].jobs[0], rt, root)
    student, norm_s, _ = load_model(roles[ONE_IMAGE].jobs[0], rt, root)
    test = test_set(ctx.block["dataset"], rt, test_images)
    patches = roles[PATCHES].jobs[0] if PATCHES in roles and roles[PATCHES].jobs else None
    return TeacherStudent(rt, teacher, norm_t, student, norm_s, test, int(test.load_batch([0]).shape[-1]), patches)
