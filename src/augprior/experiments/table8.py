"""Table 8: ImageNet-1k distillations at 224 px: real training images raw vs patchified, teacher / student
choices (rows a-n). Each row is one run to the paper's last reported epoch of that row, evaluated on the way,
and shows the test top-1 at each epoch the paper reports, read from the run's curve. Beside them a CIFAR-scale
analogue computed here: the CIFAR teacher distilled from 10, 100 and 1000 real CIFAR-10 (JPEG) training
images, raw (as many samples per epoch as the patch run) and patchified (the single-image patch generator over
those images, as many patches as the one-image set), and from one image's patches, at a few epochs each."""

from pydantic import Field, PositiveInt

from ..large_scale import TABLE8_ROWS, table8_cells
from . import EXPERIMENTS, Block


class Table8Params(Block):
    rows: dict[str, tuple[str | None, str | None, str, bool, bool]] = Field(
        TABLE8_ROWS, description="paper row -> (source: image | dataset:N real ImageNet training images | "
                          "patchify:dataset:N those images patchified | null: not implemented; teacher (torchvision "
                          "ImageNet weights; null: the paper's unexplained R50*); student; half batch; argmax-only "
                          "signal). wide_resnet50_2 stands in for ResNet-50x2")
    cifar_dataset: str = Field("cifar10_jpeg", description="target dataset of the CIFAR-scale analogue")
    cifar_images: list[int] = Field([10, 100, 1000], description="numbers of real training images of the analogue")
    cifar_image: str = Field("animals", description="source image of the analogue's one-image row")
    cifar_epochs: list[PositiveInt] = Field([10, 20, 30, 50, 200], description="epochs of the analogue's runs whose test top-1 "
                                    "is shown (read from each run's curve; the run's last epoch is always shown, "
                                    "epochs past it are dropped)")


@EXPERIMENTS.register("table8", kind="table", params=Table8Params, paper_keys={"table8": ("row",)},
                      title="Table 8: ImageNet-1k distillations (real images raw vs patchified, teachers and students)")
def cells(ctx):
    return table8_cells(ctx)
