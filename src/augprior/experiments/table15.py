"""Table 15: transfer of the 224-px representations (linear probes on ImageNet-1k and Places-365, 1% ImageNet
fine-tuning, few-shot linear SVMs on VOC07 and Places, COCO detection). No engine here evaluates 224-px
backbones on these tasks and the data are not offline, so every cell is empty with the reason, naming the
job whose model it would evaluate (Table 7's ImageNet-1k runs). A CIFAR-scale analogue (linear probe and
few-shot SVMs on penultimate features, computed here) is its own target, table15_cifar."""

from pydantic import Field

from .. import large_scale, paper
from ..jobs import job_dir
from . import EXPERIMENTS, Block

COLUMNS = {"in1k_linear": "linear probe, ImageNet-1k", "places_linear": "linear probe, Places-365",
           "in1k_1pct_finetune": "fine-tuning on 1% of ImageNet-1k", "voc07_svm_4shot": "linear SVM, VOC07, 4 per class",
           "voc07_svm_16shot": "linear SVM, VOC07, 16 per class", "places_svm_4shot": "linear SVM, Places, 4 per class",
           "places_svm_16shot": "linear SVM, Places, 16 per class", "coco_det_map": "COCO detection (FPN), mAP"}
NOT_IMPLEMENTED = "the 224-px transfer evaluations (linear probe, fine-tuning, SVMs, detection) are not implemented"


class Table15Params(Block):
    image: str = Field("city", description="source image of the one-image student")
    columns: list[str] = Field(list(COLUMNS), description="paper columns shown (one cell per model each)")


def _models(ctx, image: str):
    """paper row -> the job whose model it evaluates (None: none planned here) and why."""
    distilled = large_scale.distill_cell(ctx, "", "", "imagenet1k", image, student="resnet50")
    return {"ImageNet teacher ResNet-18": (large_scale.teacher(ctx, "imagenet1k"), ""),
            "ImageNet supervised ResNet-50": (None, "torchvision's ImageNet ResNet-50 (not planned here)"),
            "1-image MoCo-v2 ResNet-50": (None, "MoCo-v2 pretraining on one image's patches is not implemented"),
            "1-image distilled ResNet-50": (distilled.jobs[0] if distilled.jobs else None, distilled.reason)}


@EXPERIMENTS.register("table15", kind="table", params=Table15Params, paper_keys={"table15": ("model",)},
                      title="Table 15: transfer of the 224-px representations (linear probes, few-shot SVMs, detection)")
def cells(ctx):
    t, out = ctx.block, []
    data = large_scale.reason(ctx, "imagenet1k")
    for row, (job, why) in _models(ctx, t["image"]).items():
        model = f"model: {job_dir(job)}" if job is not None else why
        for col in t["columns"]:
            reason = "; ".join(dict.fromkeys(r for r in (NOT_IMPLEMENTED, data, model) if r))
            out.append(large_scale.empty_cell(ctx, row, COLUMNS[col], "imagenet1k", reason,
                                              paper_ref=paper.ref("table15", col, model=row)))
    return out
