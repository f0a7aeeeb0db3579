"""Figure 15: CKA between every pair of layers of the supervised teacher and the one-image student (and,
beside it, the teacher and the full-data student) on the test set; linear and RBF kernels, minibatch CKA."""

from pydantic import Field

from ..analysis import inputs, similarity
from . import EXPERIMENTS
from ._analysis import AnalysisBlock


class Fig15Params(AnalysisBlock):
    full_data: str = Field("CIFAR-10 train", description="that table's full-data student row")
    test_images: int | None = Field(10000, ge=4, description="test images used (a fixed sample; null: all)")
    batch_size: int = Field(500, ge=4, description="minibatch size of the minibatch CKA (Nguyen et al. 2021)")
    kernels: list[str] = Field(["linear", "rbf"], description="CKA kernels: linear | rbf (median-distance bandwidth)")
    rbf_threshold: float = Field(1.0, gt=0, description="RBF bandwidth as a multiple of the median pairwise distance")


@EXPERIMENTS.register("fig15", kind="figure", params=Fig15Params, analysis=similarity.analysis, title=similarity.TITLE)
def cells(ctx):
    """The teacher, one-image student, full-data student and patch set of the params block's `table`."""
    return inputs.block_cells(ctx)
