"""Table 4: architecture pairs: supervised teacher and student, full-data and one-image distillation."""

from pydantic import Field

from .. import paper
from ..cells import distill_cell, supervised_cell
from . import EXPERIMENTS, Block

PAIRS = {"VGG-19 -> VGG-16": ("vgg19_bn", "vgg16_bn"), "ResNet-56 -> ResNet-20": ("resnet56", "resnet20"),
         "WRN-40-4 -> WRN-16-4": ("wrn40_4", "wrn16_4"), "WRN-40-4 -> WRN-40-4": ("wrn40_4", "wrn40_4"),
         "WRN-16-4 -> WRN-40-4": ("wrn16_4", "wrn40_4")}


class Table4Params(Block):
    datasets: list[str] = Field(["cifar10_jpeg", "cifar100"], description="target datasets")
    pairs: dict[str, tuple[str, str]] = Field(
        PAIRS, description="paper row ('<teacher> -> <student>' as printed) -> (teacher, student) architectures run")
    image: str = Field("animals", description="source image of the one-image column")


@EXPERIMENTS.register("table4", kind="table", params=Table4Params, paper_keys={"table4": ("dataset", "teacher", "student")},
                      title="Table 4: architecture pairs, full-data vs one-image distillation")
def cells(ctx):
    t, out = ctx.block, []
    for dataset in t["datasets"]:
        for pair, (teacher, student) in t["pairs"].items():
            names = pair.split(" -> ")
            key = dict(dataset=paper.paper_column(dataset), teacher=names[0], student=names[-1])
            out += [
                supervised_cell(ctx, f"{pair}: teacher", "teacher (supervised)", dataset, teacher,
                                paper_ref=paper.ref("table4", "teacher_acc", **key)),
                supervised_cell(ctx, f"{pair}: student", "student (supervised)", dataset, student,
                                paper_ref=paper.ref("table4", "student_acc", **key)),
                distill_cell(ctx, pair, "distilled on full data", dataset, f"dataset:{dataset}", teacher=teacher,
                             student=student, paper_ref=paper.ref("table4", "distill_full_data", **key)),
                distill_cell(ctx, pair, "distilled on 1 image", dataset, t["image"], teacher=teacher,
                             student=student, paper_ref=paper.ref("table4", "distill_one_image", **key))]
    return out
