"""Table 6: video. X3D-XS teachers distilled into the expanded X3D-XS from fake videos of the City image
(augprior.video), evaluated with 10 temporal clips per test video on UCF-101 (split 1) and Kinetics-400.

A dataset's cells need its folder (table6.roots, else <mirror>/data/<dataset>) and a teacher: "hub"
(pytorchvideo's Kinetics-400 X3D-XS weights, downloaded on a connected machine), "checkpoint:PATH" (a user
file), or "finetune:hub" (the Kinetics X3D-XS fine-tuned on the target's training split, as the paper's
UCF-101 teacher; the recipe, video.finetune, is this project's choice).
Without the folder the cells are empty with the reason, except with plan_missing (paper scale: the jobs are
planned for a cluster and fail with one line naming what is missing); where data.download is false the
hub weights must already be in the torch hub cache.
"""

from pathlib import Path
from typing import Optional

from pydantic import Field

from .. import manifest, paper
from ..cells import Cell
from ..video.datasets import LABELS
from ..video.jobs import video_distill_job, video_teacher_job
from . import EXPERIMENTS, Block



class Table6Params(Block):
    datasets: list[str] = Field(["ucf101", "kinetics400"], description="target datasets (ucf101, kinetics400)")
    teachers: dict[str, Optional[str]] = Field(
        {"ucf101": "finetune:hub", "kinetics400": "hub"},
        description="dataset -> teacher: hub (pytorchvideo's Kinetics-400 X3D-XS) | checkpoint:PATH | finetune:hub "
                    "(fine-tuned on the target, video.finetune) | finetune:checkpoint:PATH | null (cells empty)")
    roots: dict[str, Optional[str]] = Field(
        {"ucf101": None, "kinetics400": None},
        description="dataset -> its folder in the official layout (null = <mirror>/data/<dataset>)")
    plan_missing: bool = Field(
        True, description="plan the jobs even where the folder is not here yet (a cluster run; no downloader exists: "
                          "the jobs then fail with one line naming the folder); false: those cells stay empty")


def _root(ctx, dataset: str) -> Path | None:
    given = ctx.block["roots"].get(dataset)
    if given:
        return Path(given).expanduser()
    mirror = manifest.mirror_dir(ctx.params["data"]["mirror"])
    return None if mirror is None else mirror / "data" / dataset


def _hub_weights_here() -> bool:
    import torch

    from ..models.x3d import K400_URL

    return (Path(torch.hub.get_dir()) / "checkpoints" / Path(K400_URL).name).is_file()


def _reason(ctx, dataset: str, teacher: str | None) -> str:
    if dataset not in LABELS:
        return f"unknown video dataset {dataset!r} (known: {', '.join(LABELS)})"
    if teacher is None:
        return f"no teacher given for {dataset} (table6.teachers.{dataset} is null)"
    root = _root(ctx, dataset)
    if (root is None or not root.is_dir()) and not (ctx.block["plan_missing"] and ctx.params["data"]["download"]):
        return (f"{dataset} ({LABELS[dataset]}) is not here ({root or 'no mirror set'}: no such folder; the official "
                f"layout is described in augprior.video.datasets) at scale {ctx.scale}")
    if teacher.endswith("hub") and not ctx.params["data"]["download"] and not _hub_weights_here():
        return (f"{dataset}: no pretrained video teacher offline (pytorchvideo's Kinetics-400 X3D-XS weights are not "
                f"in the torch hub cache and data.download is false at scale {ctx.scale})")
    return ""


@EXPERIMENTS.register("table6", kind="table", params=Table6Params, paper_keys={"table6": ("dataset",)},
                      title="Table 6: video (X3D-XS teacher, expanded X3D-XS student, fake videos of one image)")
def cells(ctx):
    t, p = ctx.block, ctx.params
    v = p["video"]
    out = []
    for dataset in t["datasets"]:
        label = LABELS.get(dataset, dataset)
        teacher = t["teachers"].get(dataset)
        reason = _reason(ctx, dataset, teacher)
        root = t["roots"].get(dataset)
        key = {"dataset": label}
        tref, dref = paper.ref("table6", "teacher", **key), paper.ref("table6", "distill_one_image_video", **key)
        tcell = Cell("table6", label, "teacher (X3D-XS)", label, [], paper.lookup(tref), v["teacher"], "", None,
                     reason=reason, paper_ref=tref)
        dcell = Cell("table6", label, f"distilled on 1 image ({v['fake']['image']}, fake videos)", label, [],
                     paper.lookup(dref), v["teacher"], v["student"], v["epochs"], reason=reason, paper_ref=dref)
        if not reason:
            tcell.jobs = [video_teacher_job(p, dataset, teacher, root)]
            dcell.jobs = [video_distill_job(p, dataset, teacher, root, ctx.seed)]
        out += [tcell, dcell]
    return out
