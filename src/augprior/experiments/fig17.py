"""Figure 17: linear CKA between the layers of the 50%-pruned (one-image self-distillation, Table 13's run) and
the dense model."""

from pydantic import Field

from ..analysis import pruned_cka
from . import EXPERIMENTS, Block


class Fig17Params(Block):
    dataset: str = Field("cifar100", description="target dataset (its test set; the paper's figure is CIFAR-100)")
    table: str = Field("table13", description="the table whose runs are compared")
    model: str = Field("WRN-16-4", description="that table's model row")
    pruned: str = Field("50% pruned, 1 image (animals)", description="that table's pruned setting")
    test_images: int | None = Field(10000, ge=4, description="test images used (a fixed sample; null: all)")
    batch_size: int = Field(500, ge=4, description="minibatch size of the minibatch CKA")


@EXPERIMENTS.register("fig17", kind="figure", params=Fig17Params, analysis=pruned_cka.analysis, title=pruned_cka.TITLE)
def cells(ctx):
    return pruned_cka.cells(ctx)
