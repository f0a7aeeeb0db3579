"""Table 10: Vision Transformer students (ViT-B, CaiT-S24) distilled at 224 px from a ResNet-18 ImageNet
teacher on City patches, beside the ResNet-50x2 row of Table 7 (half batch; each run to epoch 200). Beside
them a CIFAR-scale analogue computed here: the CIFAR teacher distilled on City patches into small timm ViT and
CaiT students at 32 px (augprior.models.vit_cifar) and into the CIFAR table's CNN student."""

from pydantic import Field

from .. import large_scale, paper
from ..cells import distill_cell
from . import EXPERIMENTS, Block

STUDENTS = {"ResNet-50x2": "wide_resnet50_2", "CaiT-S24": "cait_s24_224", "ViT-B": "vit_base_patch16_224"}
CIFAR_STUDENTS = {"ViT (timm, 32 px)": "vit_cifar_d12_w192", "CaiT (timm, 32 px)": "cait_cifar_d12_w192",
                  "CNN (the distill block's student)": None}


class Table10Params(Block):
    image: str = Field("city", description="source image of the patches")
    students: dict[str, str] = Field(
        STUDENTS, description="paper row (student) -> architecture (wide_resnet50_2 stands in for ResNet-50x2)")
    cifar_dataset: str = Field("cifar10_jpeg", description="target dataset of the CIFAR-scale analogue")
    cifar_students: dict[str, str | None] = Field(
        CIFAR_STUDENTS, description="analogue row -> 32-px student (vit_cifar_d{D}_w{W}, cait_cifar_d{D}_w{W}, any "
                                    "CIFAR architecture; null = the distill block's student)")


@EXPERIMENTS.register("table10", kind="table", params=Table10Params, paper_keys={"table10": ("student",)},
                      title="Table 10: Vision Transformer students (ViT-B, CaiT-S24) vs ResNet-50x2")
def cells(ctx):
    t, out = ctx.block, []
    half = ctx.params["large_scale"]["distill"]["batch_size"] // 2
    for row, student in t["students"].items():
        out.append(large_scale.distill_cell(
            ctx, "ImageNet-1k", f"1 image ({t['image']}), resnet18 -> {student} (half batch), epoch 200",
            "imagenet1k", t["image"], student=student, teacher_arch="resnet18", batch_size=half, epochs=200,
            paper_ref=paper.ref("table10", "ep200", student=row)))
    part = "CIFAR-scale analogue (computed here; not the paper's setting)"
    for row, student in t["cifar_students"].items():
        student = student or ctx.params["distill"]["student"]
        out.append(distill_cell(ctx, part, f"1 image ({t['image']}) -> {student} ({row})", t["cifar_dataset"],
                                t["image"], student=student, comparable=False))
    return out
