"""Table 7: larger-scale datasets at 224 px (STL-10, ImageNet-100, Flowers-102, Places-365, ImageNet-1k): a
ResNet-18 teacher distilled from City patches into ResNet-50 and ResNet-50x2 students trained from scratch
(augprior.large_scale: ImageFolder layouts, the official ImageNet recipe in params.yaml large_scale).

No labelled 224-px dataset is offline here, so at ci and laptop scale every cell is empty with the reason;
at paper scale the jobs are planned for a GPU cluster (the SLURM profile)."""

from pydantic import Field

from .. import large_scale, paper
from ..large_scale import LABELS, TRANSFER_ONLY
from . import EXPERIMENTS, Block

DATASETS = [d for d in LABELS if d not in TRANSFER_ONLY]
STUDENTS = {"distill_to_resnet50": ("resnet50", False), "distill_to_resnet50x2": ("wide_resnet50_2", True)}


class Table7Params(Block):
    datasets: list[str] = Field(DATASETS, description=f"224-px datasets ({', '.join(DATASETS)})")
    image: str = Field("city", description="source image of the patches")
    students: dict[str, tuple[str, bool]] = Field(
        STUDENTS, description="paper column -> (student architecture, half batch: the paper's dagger). torchvision's "
                              "wide_resnet50_2 stands in for ResNet-50x2 (SimCLR's ResNet-50 with every width "
                              "doubled; wide_resnet50_2 doubles the bottleneck widths only)")


@EXPERIMENTS.register("table7", kind="table", params=Table7Params, paper_keys={"table7": ("dataset",)},
                      title="Table 7: larger-scale datasets at 224 px (ResNet-18 teacher, ResNet-50 / 50x2 students)")
def cells(ctx):
    t, out = ctx.block, []
    for dataset in t["datasets"]:
        key = {"dataset": LABELS[dataset]}
        out.append(large_scale.teacher_cell(ctx, LABELS[dataset], "teacher (ResNet-18)", dataset,
                                            paper_ref=paper.ref("table7", "teacher_resnet18", **key)))
        bs = ctx.params["large_scale"]["distill"]["batch_size"]
        for column, (student, half) in t["students"].items():
            setting = f"distilled on 1 image ({t['image']}) -> {student}" + (" (half batch)" if half else "")
            out.append(large_scale.distill_cell(
                ctx, LABELS[dataset], setting, dataset, t["image"], student=student,
                paper_ref=paper.ref("table7", column, **key), **({"batch_size": bs // 2} if half else {})))
    return out
