"""Table 8: ImageNet-1k distillations at 224 px: real training images vs patches, teacher / student choices
(rows a-n; each cell runs to the paper's last reported epoch of its row). Beside them a CIFAR-scale analogue
computed here: the CIFAR teacher distilled from 10, 100 and 1000 real CIFAR-10 (JPEG) training images (raw)
against one image's patches, every run shown as many samples as the one-image run (epochs scaled up)."""

from pydantic import Field

from ..large_scale import TABLE8_ROWS, table8_cells
from . import EXPERIMENTS, Block


class Table8Params(Block):
    rows: dict[str, tuple[str | None, str | None, str, bool, bool]] = Field(
        TABLE8_ROWS, description="paper row -> (source: image | dataset:N real ImageNet training images | null: not "
                          "implemented; teacher (torchvision ImageNet weights; null: the paper's unexplained R50*); "
                          "student; half batch; argmax-only signal). wide_resnet50_2 stands in for ResNet-50x2")
    cifar_dataset: str = Field("cifar10_jpeg", description="target dataset of the CIFAR-scale analogue")
    cifar_images: list[int] = Field([10, 100, 1000], description="numbers of real training images of the analogue")
    cifar_image: str = Field("animals", description="source image of the analogue's one-image row")


@EXPERIMENTS.register("table8", kind="table", params=Table8Params, paper_keys={"table8": ("row",)},
                      title="Table 8: ImageNet-1k distillations (real images vs patches, teachers and students)")
def cells(ctx):
    return table8_cells(ctx)
