"""Table 11: noise inputs instead of patches. The paper's rows are ImageNet (ResNet-18 -> ResNet-50,
30 epochs); here they run on CIFAR, so the paper's values are shown without a delta."""

from pydantic import Field

from .. import paper
from ..cells import distill_cell
from . import EXPERIMENTS, Block

SOURCES = {"g": "noise", "h": "bridge", "i": "city", "v": "synthetic:stylegan", "w": "noise_uniform",
           "x": "noise_normal", "y": "mix0.8:city", "z": "mix0.5:city"}


class Table11Params(Block):
    dataset: str = Field("cifar10_jpeg", description="target dataset")
    sources: dict[str, str] = Field(SOURCES, description="paper row (its letter) -> distillation source")


@EXPERIMENTS.register("table11", kind="table", params=Table11Params, paper_keys={"table11": ("row",)},
                      title="Table 11: noise inputs instead of patches")
def cells(ctx):
    t = ctx.block
    return [distill_cell(ctx, f"row {row}", paper.text("table11", "input", row=row) or source, t["dataset"], source,
                         paper_ref=paper.ref("table11", "ep30", row=row), comparable=False)
            for row, source in t["sources"].items()]
