"""Table 16: ImageNet-C (Hendrycks & Dietterich 2019): clean error, mCE (normalised by AlexNet's errors) and
the corruption error of each of the 15 corruptions, for the ResNet-18 teacher and the one-image ResNet-50x2 and
ResNet-50 students of Table 7. No ImageNet-C evaluation engine exists here and the data are not offline, so
every cell is empty with the reason, naming the job whose model it would evaluate. A CIFAR-scale analogue
(CIFAR-10 (JPEG)-C, computed here) is its own target, table16_cifar."""

from pydantic import Field

from .. import large_scale, paper
from ..jobs import job_dir
from . import EXPERIMENTS, Block

CORRUPTIONS = ("gaussian", "shot", "impulse", "defocus", "glass", "motion", "zoom", "snow", "frost", "fog",
               "brightness", "contrast", "elastic", "pixelate", "jpeg")
NOT_IMPLEMENTED = "the ImageNet-C evaluation (clean error, corruption errors, AlexNet-normalised mCE) is not implemented"


class Table16Params(Block):
    image: str = Field("city", description="source image of the one-image students")
    columns: list[str] = Field(["clean_error", "mce", *CORRUPTIONS], description="paper columns shown")


@EXPERIMENTS.register("table16", kind="table", params=Table16Params, paper_keys={"table16": ("network",)},
                      title="Table 16: ImageNet-C (clean error, mCE, corruption errors)")
def cells(ctx):
    t, out = ctx.block, []
    half = ctx.params["large_scale"]["distill"]["batch_size"] // 2
    models = {"ImageNet ResNet-18 (teacher)": large_scale.teacher_cell(ctx, "", "", "imagenet1k"),
              "1-image ResNet-50x2": large_scale.distill_cell(ctx, "", "", "imagenet1k", t["image"],
                                                              student="wide_resnet50_2", batch_size=half),
              "1-image ResNet-50": large_scale.distill_cell(ctx, "", "", "imagenet1k", t["image"], student="resnet50")}
    for row, model in models.items():
        what = f"model: {job_dir(model.jobs[0])}" if model.jobs else model.reason
        for col in t["columns"]:
            out.append(large_scale.empty_cell(ctx, row, col, "imagenet1k", f"{NOT_IMPLEMENTED}; {what}",
                                              paper_ref=paper.ref("table16", col, network=row)))
    return out
