"""Table 12: teacher, supervised student, full-data and one-image students over seeds (mean +- std)."""

from pydantic import Field

from .. import paper
from ..cells import distill_cell, supervised_cell
from . import EXPERIMENTS, Block


class Table12Params(Block):
    dataset: str = Field("cifar10_jpeg", description="target dataset")
    teacher: str = Field("wrn40_4", description="teacher architecture")
    student: str = Field("wrn16_4", description="student architecture")
    image: str = Field("animals", description="source image of the one-image row")
    seeds: int = Field(5, ge=1, description="replicates per cell")


@EXPERIMENTS.register("table12", kind="table", params=Table12Params, paper_keys={"table12": ("dataset",)},
                      title="Table 12: mean and std over seeds")
def cells(ctx):
    t = ctx.block
    n, d, teacher, student = t["seeds"], t["dataset"], t["teacher"], t["student"]
    key = {"dataset": paper.paper_column(d)}
    return [
        supervised_cell(ctx, "teacher", "teacher (supervised)", d, teacher, n=n,
                        paper_ref=paper.ref("table12", "teacher_mean", **key)),
        supervised_cell(ctx, "student", "student (supervised)", d, student, n=n,
                        paper_ref=paper.ref("table12", "student_supervised_mean", **key)),
        distill_cell(ctx, "distilled", "full data", d, f"dataset:{d}", n=n, teacher=teacher, student=student,
                     paper_ref=paper.ref("table12", "distill_full_mean", **key)),
        distill_cell(ctx, "distilled", f"1 image ({t['image']})", d, t["image"], n=n, teacher=teacher,
                     student=student, paper_ref=paper.ref("table12", "distill_one_image_mean", **key)),
    ]
