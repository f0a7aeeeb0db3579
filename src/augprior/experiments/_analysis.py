"""The params shared by the analysis figures (fig3, fig5, fig15, fig18): which table's runs they read."""

from pydantic import Field

from . import Block


class AnalysisBlock(Block):
    dataset: str = Field("cifar10_jpeg", description="target dataset (its test set)")
    table: str = Field("table1", description="the table whose runs are analysed (its teacher, students and patches)")
    one_image: str = Field("1 image (Animals) + augmentations", description="that table's one-image student row")
