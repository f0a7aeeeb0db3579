"""Figures 5 and 14: t-SNE of the one-image student's penultimate features, patches and test images jointly
(Fig. 5) and the test images alone coloured by class (Fig. 14)."""

from pydantic import Field

from ..analysis import embedding, inputs
from . import EXPERIMENTS
from ._analysis import AnalysisBlock


class Fig5Params(AnalysisBlock):
    patches: int | None = Field(5000, ge=10, description="training patches embedded (a fixed sample; null: all)")
    test_images: int | None = Field(5000, ge=10, description="test images embedded (a fixed sample; null: all)")
    perplexity: float = Field(30.0, gt=1, description="t-SNE perplexity")
    iterations: int = Field(500, ge=50, description="t-SNE iterations after the 250 early-exaggeration ones")
    knn: int = Field(10, ge=1, description="k of the k-NN accuracy that summarises the test embedding")
    thumbnails: int = Field(6, ge=0, description="thumbnails of each set drawn on the joint embedding")


@EXPERIMENTS.register("fig5", kind="figure", params=Fig5Params, analysis=embedding.analysis, title=embedding.TITLE)
def cells(ctx):
    """The teacher, one-image student and patch set of the params block's `table`."""
    return inputs.block_cells(ctx)
