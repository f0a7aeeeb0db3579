"""Figure 3: histograms of the temperature-scaled softmax score of the predicted class, for the teacher and
the one-image student, on training patches and on test images (Section 4)."""

from pydantic import Field

from ..analysis import confidence, inputs
from . import EXPERIMENTS
from ._analysis import AnalysisBlock


class Fig3Params(AnalysisBlock):
    patches: int | None = Field(5000, ge=1, description="training patches scored (a fixed sample; null: all)")
    test_images: int | None = Field(5000, ge=1, description="test images scored (a fixed sample; null: all)")
    temperature: float | None = Field(None, gt=0, description="softmax temperature (null: the distillation temperature)")
    bins: int = Field(40, ge=5, description="histogram bins over the observed range of the scores")


@EXPERIMENTS.register("fig3", kind="figure", params=Fig3Params, analysis=confidence.analysis, title=confidence.TITLE)
def cells(ctx):
    """The teacher, one-image student and patch set of the params block's `table`."""
    return inputs.block_cells(ctx)
