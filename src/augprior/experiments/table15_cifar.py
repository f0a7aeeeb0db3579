"""Table 15's CIFAR-scale analogue (computed here): linear probe and few-shot linear SVMs on the penultimate
features of Table 1's one-image student, its supervised teacher and a random network, on CIFAR-10 (JPEG) and
on Fashion-MNIST (transfer). It reads Table 1's runs and trains nothing (augprior.analysis.transfer)."""

from pydantic import Field

from ..analysis import inputs, transfer
from . import EXPERIMENTS
from ._analysis import AnalysisBlock


class Table15CifarParams(AnalysisBlock):
    transfer: str = Field("fashion_mnist", description="transfer dataset (never seen by the models)")
    train_images: int | None = Field(10000, ge=10, description="training images of the linear probe (a fixed class-spread sample; null: all)")
    test_images: int | None = Field(10000, ge=10, description="test images (a fixed sample; null: all)")
    shots: list[int] = Field([4, 16], description="images per class of the few-shot SVMs")
    trials: int = Field(5, ge=1, description="few-shot trials averaged (the paper: 5)")
    svm_cost: float = Field(0.5, gt=0, description="the SVMs' cost C (the paper: 0.5)")
    side: int | None = Field(None, ge=8, description="side the images are resized to (null: each dataset's own side; "
                                                     "Fashion-MNIST's 28 px work with the CIFAR networks)")


@EXPERIMENTS.register("table15_cifar", kind="figure", params=Table15CifarParams, analysis=transfer.analysis,
                      title=transfer.TITLE)
def cells(ctx):
    """The teacher, one-image student and patch set of the params block's `table`."""
    return inputs.block_cells(ctx)
