"""Table 1: what the student is distilled on (full CIFAR-10, full CIFAR-100, a 10K subset, one image)."""

from pydantic import Field

from .. import paper
from ..cells import distill_cell
from ..findings import share, within
from ..options import DistillOverrides
from . import EXPERIMENTS, Block

SOURCES = {"CIFAR-10 train": "dataset:cifar10_jpeg", "CIFAR-100 train": "dataset:cifar100",
           "CIFAR-10 train (10K subset)": "dataset:cifar10_jpeg:10000", "1 image (Animals) + augmentations": "animals"}
ONE_IMAGE = "1 image (Animals) + augmentations"
FINDINGS = (share("the one-image student reaches 85% of its teacher's top-1", ONE_IMAGE, 85),
            within("one image is within 5 points of full data (same steps)", ONE_IMAGE, "CIFAR-10 train", 5))


class Table1Params(Block):
    datasets: list[str] = Field(["cifar10_jpeg", "cifar100"], description="target datasets (one paper column each)")
    teacher: str = Field("wrn40_4", description="teacher architecture")
    student: str = Field("wrn40_4", description="student architecture")
    sources: dict[str, str] = Field(SOURCES, description="paper row (its distillation_data) -> distillation source")
    distill: DistillOverrides = Field({}, description="overrides of the distill block for every row of this table "
                                      "(one step budget for all its sources); {} = the distill block as is")


@EXPERIMENTS.register("table1", kind="table", params=Table1Params, paper_keys={"table1": ("distillation_data",)},
                      findings=FINDINGS, title="Table 1: distillation data (full CIFAR-10, full CIFAR-100, a 10K subset, one image)")
def cells(ctx):
    t = ctx.block
    return [distill_cell(ctx, "distillation data", row, dataset, source, teacher=t["teacher"],
                         **{**t["distill"], "student": t["student"]},
                         paper_ref=paper.ref("table1", paper.paper_column(dataset), distillation_data=row))
            for dataset in t["datasets"] for row, source in t["sources"].items()]
