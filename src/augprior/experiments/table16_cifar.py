"""Table 16's CIFAR-scale analogue (computed here): CIFAR-10 (JPEG)-C, the implemented corruptions of
augprior.corruptions at severities 1-5 applied to the test set; corruption errors of Table 1's teacher (the
baseline), full-data student and one-image student. It reads Table 1's runs and trains nothing."""

from pydantic import Field, field_validator

from .. import corruptions
from ..analysis import inputs, robustness
from . import EXPERIMENTS
from ._analysis import AnalysisBlock


class Table16CifarParams(AnalysisBlock):
    full_data: str = Field("CIFAR-10 train", description="that table's full-data student row")
    test_images: int | None = Field(10000, ge=10, description="test images corrupted (a fixed sample; null: all)")
    corruptions: list[str] = Field(list(corruptions.CORRUPTIONS), description="corruptions applied (augprior.corruptions)")

    @field_validator("corruptions")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        bad = [c for c in v if c not in corruptions.CORRUPTIONS]
        if bad:
            raise ValueError(f"unknown or unimplemented corruptions {bad} (implemented: {', '.join(corruptions.CORRUPTIONS)})")
        return v


@EXPERIMENTS.register("table16_cifar", kind="figure", params=Table16CifarParams, analysis=robustness.analysis,
                      title=robustness.TITLE)
def cells(ctx):
    """The teacher, one-image and full-data students and patch set of the params block's `table`."""
    return inputs.block_cells(ctx)
