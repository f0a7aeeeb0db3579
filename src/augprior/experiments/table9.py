"""Table 9: loss functions (L1, L2 on temperature-scaled logits, KD) beside the supervised teacher and student
(the paper's Teacher and Student columns); the ImageNet rows stay empty here."""

from typing import Literal

from pydantic import Field

from .. import paper
from ..cells import Cell, distill_cell, supervised_cell
from . import EXPERIMENTS, Block

NOT_RUN = "ImageNet is not available offline (224-px path not run here)"
SUPERVISED = (("teacher", "teacher (supervised)"), ("student_supervised", "student (supervised)"))  # paper column, row


class Table9Params(Block):
    dataset: str = Field("cifar10_jpeg", description="target dataset of the CIFAR rows")
    image: str = Field("animals", description="source image")
    losses: list[Literal["l1", "l2", "kd"]] = Field(["l1", "l2", "kd"], description="losses compared (one column each)")


@EXPERIMENTS.register(
    "table9", kind="table", params=Table9Params, paper_keys={"table9": ("dataset", "epoch")},
    title="Table 9: loss functions (L1, L2 on temperature-scaled logits, KD)",
    not_reproduced={"table9": {("imagenet1k", "10"): "intermediate epoch of the 30-epoch ImageNet run",
                               ("imagenet1k", "20"): "intermediate epoch of the 30-epoch ImageNet run"}})
def cells(ctx):
    t, p = ctx.block, ctx.params
    cifar, imagenet = dict(dataset=paper.paper_column(t["dataset"]), epoch="final"), dict(dataset="imagenet1k", epoch="30")
    out = [supervised_cell(ctx, "CIFAR-10", row, t["dataset"], arch, paper_ref=paper.ref("table9", col, **cifar))
           for (col, row), arch in zip(SUPERVISED, (p["teacher"]["arch"], p["distill"]["student"]))]
    out += [distill_cell(ctx, "CIFAR-10", loss.upper(), t["dataset"], t["image"], loss=loss,
                         paper_ref=paper.ref("table9", loss, **cifar)) for loss in t["losses"]]
    rows = [(col, row, arch, "") for (col, row), arch in zip(SUPERVISED, ("resnet18", "resnet50"))]
    for col, setting, teacher, student in rows + [(loss, loss.upper(), "resnet18", "resnet50") for loss in t["losses"]]:
        ref = paper.ref("table9", col, **imagenet)
        out.append(Cell("table9", "ImageNet-1k (30 epochs)", setting, "imagenet1k", [], paper.lookup(ref),
                        teacher, student, 30, reason=NOT_RUN, paper_ref=ref))
    return out
