"""Table 6: video. X3D-XS teachers distilled into the expanded X3D-XS from fake videos of the City image
(augprior.video), evaluated with 10 temporal clips per test video on UCF-101 (split 1) and Kinetics-400.
Teachers: "hub" (pytorchvideo's Kinetics-400 X3D-XS), "checkpoint:PATH", or "finetune:hub" (fine-tuned on
the target, as the paper's UCF-101 teacher; recipe: video.finetune). Why a cell is empty: augprior.video.cells."""

from typing import Optional

from pydantic import Field

from ..video.cells import dataset_cells
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


@EXPERIMENTS.register("table6", kind="table", params=Table6Params, paper_keys={"table6": ("dataset",)},
                      title="Table 6: video (X3D-XS teacher, expanded X3D-XS student, fake videos of one image)")
def cells(ctx):
    return [c for dataset in ctx.block["datasets"] for c in dataset_cells(ctx, dataset)]
