"""Table 4: architecture pairs: supervised teacher and student, full-data and one-image distillation, and
whether the one-image student is within 5 points of the full-data one (computed from those two rows)."""

from functools import partial

from pydantic import Field

from .. import paper
from ..cells import distill_cell, supervised_cell
from . import EXPERIMENTS, Block
from ._derived import gap_below

PAIRS = {"VGG-19 -> VGG-16": ("vgg19_bn", "vgg16_bn"), "ResNet-56 -> ResNet-20": ("resnet56", "resnet20"),
         "WRN-40-4 -> WRN-16-4": ("wrn40_4", "wrn16_4"), "WRN-40-4 -> WRN-40-4": ("wrn40_4", "wrn40_4"),
         "WRN-16-4 -> WRN-40-4": ("wrn16_4", "wrn40_4")}
FULL, ONE = "distilled on full data", "distilled on 1 image"


class Table4Params(Block):
    datasets: list[str] = Field(["cifar10_jpeg", "cifar100"], description="target datasets")
    pairs: dict[str, tuple[str, str]] = Field(
        PAIRS, description="paper row ('<teacher> -> <student>' as printed) -> (teacher, student) architectures run")
    image: str = Field("animals", description="source image of the one-image column")


@EXPERIMENTS.register("table4", kind="table", params=Table4Params, paper_keys={"table4": ("dataset", "teacher", "student")},
                      title="Table 4: architecture pairs, full-data vs one-image distillation",
                      derive=partial(gap_below, full=FULL, one=ONE, points=5))
def cells(ctx):
    t, out = ctx.block, []
    for dataset in t["datasets"]:
        for pair, (teacher, student) in t["pairs"].items():
            names, run = pair.split(" -> "), f"{teacher} -> {student}"  # rows name what ran; paper_row the paper's
            key = dict(dataset=paper.paper_column(dataset), teacher=names[0], student=names[-1])
            out += [supervised_cell(ctx, f"{run}: teacher", "teacher (supervised)", dataset, teacher,
                                    paper_ref=paper.ref("table4", "teacher_acc", **key)),
                    supervised_cell(ctx, f"{run}: student", "student (supervised)", dataset, student,
                                    paper_ref=paper.ref("table4", "student_acc", **key)),
                    distill_cell(ctx, run, FULL, dataset, f"dataset:{dataset}", teacher=teacher, student=student,
                                 paper_ref=paper.ref("table4", "distill_full_data", **key)),
                    distill_cell(ctx, run, ONE, dataset, t["image"], teacher=teacher, student=student,
                                 paper_ref=paper.ref("table4", "distill_one_image", **key))]
            for c in out[-4:]:
                c.extra.update(paper_row=pair, paper_gap_below=paper.value("table4", "gap_below_5pt", **key))
    return out
