"""Figure 9: random training patches with the teacher's temperature-scaled top-5 predictions (the CIFAR-10
teacher on Animals patches; Fig. 8, the ImageNet version, is fig8.py)."""

from pydantic import Field

from ..analysis import inputs, patch_predictions
from . import EXPERIMENTS
from ._analysis import AnalysisBlock


class Fig9Params(AnalysisBlock):
    patches: int = Field(24, ge=1, le=200, description="patches shown (drawn at random with the seed)")
    columns: int = Field(4, ge=1, description="patches per row of the grid")
    temperature: float | None = Field(None, gt=0, description="softmax temperature (null: the distillation temperature)")


@EXPERIMENTS.register("fig9", kind="figure", params=Fig9Params, analysis=patch_predictions.analysis,
                      title=patch_predictions.TITLE)
def cells(ctx):
    """The teacher, one-image student and patch set of the params block's `table`."""
    return inputs.block_cells(ctx)
