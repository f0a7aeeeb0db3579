"""Figures 18 and 19: per-class accuracy of the one-image student, and relative to its teacher, against how
often the class is the teacher's top-1 prediction on the patch set (Appendix B.13)."""

from pydantic import Field

from ..analysis import inputs, per_class
from . import EXPERIMENTS, Block


class Fig18Params(Block):
    dataset: str = Field("cifar10_jpeg", description="target dataset (CIFAR-10 here; CIFAR-100 at paper scale)")
    table: str = Field("table1", description="the table whose jobs are analysed (its teacher and one-image student)")
    one_image: str = Field("1 image (Animals) + augmentations", description="that table's one-image student row")
    test_images: int | None = Field(None, ge=1, description="test images used (a fixed sample; null: all)")
    patches: int | None = Field(None, ge=1, description="patches the teacher labels (a fixed sample; null: all, one epoch)")
    worst: int = Field(10, ge=1, description="how many of the worst classes (student minus teacher) the note lists")


@EXPERIMENTS.register("fig18", kind="figure", params=Fig18Params, analysis=per_class.analysis, title=per_class.TITLE)
def cells(ctx):
    """The teacher, one-image student and patch set of the params block's `table`."""
    return inputs.block_cells(ctx)
