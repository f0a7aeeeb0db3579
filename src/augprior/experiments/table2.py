"""Table 2: one image vs synthetic data (FractalDB, random-init StyleGAN, ZeroSKD) and real data."""

from pydantic import Field

from .. import paper
from ..cells import distill_cell
from . import EXPERIMENTS, Block

SOURCES = {"CIFAR-10 train": "dataset:cifar10_jpeg", "FractalDB": "synthetic:fractal",
           "StyleGAN (random init)": "synthetic:stylegan", "ZeroSKD (adversarial generator)": "zeroskd",
           "1 image (Animals) + augmentations": "animals"}


class Table2Params(Block):
    dataset: str = Field("cifar10_jpeg", description="target dataset")
    teacher: str = Field("wrn40_2", description="teacher architecture")
    student: str = Field("wrn40_1", description="student architecture")
    sources: dict[str, str] = Field(SOURCES, description="paper row (its distillation_data) -> distillation source")


@EXPERIMENTS.register("table2", kind="table", params=Table2Params, paper_keys={"table2": ("distillation_data",)},
                      title="Table 2: one image vs synthetic data (FractalDB, random-init StyleGAN, ZeroSKD)")
def cells(ctx):
    t = ctx.block
    return [distill_cell(ctx, "distillation data", row, t["dataset"], source, teacher=t["teacher"],
                         student=t["student"], paper_ref=paper.ref("table2", "cifar10", distillation_data=row))
            for row, source in t["sources"].items()]
