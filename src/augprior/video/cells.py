"""Table 6's cells: where a video dataset and its teacher come from, and why a cell is empty here."""

from __future__ import annotations

from pathlib import Path

from .. import manifest, paper
from ..cells import Cell, Context
from .datasets import LABELS
from .jobs import video_distill_job, video_teacher_job


def dataset_root(ctx: Context, dataset: str) -> Path | None:
    """table6.roots[dataset], else <mirror>/data/<dataset> (None without a mirror)."""
    given = ctx.block["roots"].get(dataset)
    if given:
        return Path(given).expanduser()
    mirror = manifest.mirror_dir(ctx.params["data"]["mirror"])
    return None if mirror is None else mirror / "data" / dataset


def hub_weights_here() -> bool:
    """Whether pytorchvideo's Kinetics-400 X3D-XS weights are in the torch hub cache."""
    import torch

    from ..models.x3d import K400_URL

    return (Path(torch.hub.get_dir()) / "checkpoints" / Path(K400_URL).name).is_file()


def missing(ctx: Context, dataset: str, teacher: str | None) -> str:
    """Why the cells of `dataset` cannot be computed here ('' when they can)."""
    if dataset not in LABELS:
        return f"unknown video dataset {dataset!r} (known: {', '.join(LABELS)})"
    if teacher is None:
        return f"no teacher given for {dataset} (table6.teachers.{dataset} is null)"
    root = dataset_root(ctx, dataset)
    if (root is None or not root.is_dir()) and not (ctx.block["plan_missing"] and ctx.params["data"]["download"]):
        return (f"{dataset} ({LABELS[dataset]}) is not here ({root or 'no mirror set'}: no such folder; the official "
                f"layout is described in augprior.video.datasets) at scale {ctx.scale}")
    if teacher.endswith("hub") and not ctx.params["data"]["download"] and not hub_weights_here():
        return (f"{dataset}: no pretrained video teacher offline (pytorchvideo's Kinetics-400 X3D-XS weights are not "
                f"in the torch hub cache and data.download is false at scale {ctx.scale})")
    return ""


def dataset_cells(ctx: Context, dataset: str) -> list[Cell]:
    """The teacher row and the one-image distillation row of one dataset."""
    p, v = ctx.params, ctx.params["video"]
    label = LABELS.get(dataset, dataset)
    teacher = ctx.block["teachers"].get(dataset)
    reason = missing(ctx, dataset, teacher)
    tref = paper.ref("table6", "teacher", dataset=label)
    dref = paper.ref("table6", "distill_one_image_video", dataset=label)
    tcell = Cell("table6", label, "teacher (X3D-XS)", label, [], paper.lookup(tref), v["teacher"], "", None,
                 reason=reason, paper_ref=tref)
    dcell = Cell("table6", label, f"distilled on 1 image ({v['fake']['image']}, fake videos)", label, [],
                 paper.lookup(dref), v["teacher"], v["student"], v["epochs"], reason=reason, paper_ref=dref)
    if not reason:
        root = ctx.block["roots"].get(dataset)
        tcell.jobs = [video_teacher_job(p, dataset, teacher, root)]
        dcell.jobs = [video_distill_job(p, dataset, teacher, root, ctx.seed)]
    return [tcell, dcell]
