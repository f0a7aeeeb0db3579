"""Figures 18 and 19: per-class accuracy of the one-image student, and relative to its teacher, against how
often the class is the teacher's top-1 prediction on the patch set (Appendix B.13)."""

from pydantic import Field

from ..analysis import inputs, per_class
from . import EXPERIMENTS
from ._analysis import AnalysisBlock


class Fig18Params(AnalysisBlock):
    test_images: int | None = Field(None, ge=1, description="test images used (a fixed sample; null: all)")
    patches: int | None = Field(None, ge=1, description="patches the teacher labels (a fixed sample; null: all, one epoch)")
    worst: int = Field(10, ge=1, description="how many of the worst classes (student minus teacher) the note lists")


@EXPERIMENTS.register("fig18", kind="figure", params=Fig18Params, analysis=per_class.analysis, title=per_class.TITLE)
def cells(ctx):
    """The teacher, one-image student and patch set of the params block's `table`."""
    return inputs.block_cells(ctx)
