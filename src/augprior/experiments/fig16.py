"""Figure 16: pairwise distances of L2-normalised GIST descriptors of the patches of one image (City; Animals
and Noise beside it) and of the target dataset's images."""

from pydantic import Field

from ..analysis import gist_figure, inputs
from . import EXPERIMENTS, Block


class Fig16Params(Block):
    dataset: str = Field("cifar10_jpeg", description="target dataset (its test images are the real-image reference)")
    table: str = Field("table3", description="the table whose patch sets are described (its per-image students)")
    images: list[str] = Field(["city", "animals", "noise"], description="source images (the first is the paper's)")
    patches: int | None = Field(10000, ge=2, description="patches per image (a fixed sample; null: all)")
    test_images: int | None = Field(10000, ge=2, description="test images (a fixed sample; null: all)")
    side: int = Field(32, ge=8, description="side the GIST is computed at (images are resized to it)")
    pairs: int | None = Field(200000, ge=1, description="random pairs per set (null: every pair)")
    bins: int = Field(60, ge=5, description="histogram bins")


@EXPERIMENTS.register("fig16", kind="figure", params=Fig16Params, analysis=gist_figure.analysis,
                      title=gist_figure.TITLE)
def cells(ctx):
    """The patch sets of the params block's `table` for each of its images."""
    t = ctx.block
    return inputs.patch_cells(ctx, t["table"], t["dataset"], t["images"])
