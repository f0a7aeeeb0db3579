"""Table 15: transfer of the 224-px representations. Linear probes on ImageNet-1k and Places-365 and few-shot
linear SVMs on VOC07 (mAP) and Places (accuracy) on the frozen penultimate features of the ImageNet teacher,
torchvision's supervised ResNet-50 and the one-image distilled ResNet-50 (Tables 7/8's City run): one transfer
job per model and column (augprior.analysis.transfer_224), reading ImageFolder data <root>/{train,val}/<class>/*
(large_scale.roots, else <mirror>/data/<dataset>). 1% fine-tuning, MoCo-v2 on one image and COCO detection are
not implemented: those cells are empty with the reason. A CIFAR-scale analogue is its own target, table15_cifar."""

from pydantic import Field, PositiveInt

from .. import large_scale, paper
from ..jobs import teacher_job, transfer_job
from . import EXPERIMENTS, Block

COLUMNS = {"in1k_linear": "linear probe, ImageNet-1k", "places_linear": "linear probe, Places-365",
           "in1k_1pct_finetune": "fine-tuning on 1% of ImageNet-1k", "voc07_svm_4shot": "linear SVM, VOC07, 4 per class",
           "voc07_svm_16shot": "linear SVM, VOC07, 16 per class", "places_svm_4shot": "linear SVM, Places, 4 per class",
           "places_svm_16shot": "linear SVM, Places, 16 per class", "coco_det_map": "COCO detection (FPN), mAP"}
# paper column -> (task, dataset, shots); None: not implemented here, with the reason
TASKS = {"in1k_linear": ("linear", "imagenet1k", None), "places_linear": ("linear", "places365", None),
         "voc07_svm_4shot": ("svm", "voc07", 4), "voc07_svm_16shot": ("svm", "voc07", 16),
         "places_svm_4shot": ("svm", "places365", 4), "places_svm_16shot": ("svm", "places365", 16)}
NOT_IMPLEMENTED = {"in1k_1pct_finetune": "fine-tuning on 1% of ImageNet-1k (SwAV's 20-epoch recipe) is not implemented",
                   "coco_det_map": "COCO detection (detectron2, FPN 1x) is not implemented"}


class Table15Params(Block):
    image: str = Field("city", description="source image of the one-image student")
    columns: list[str] = Field(list(COLUMNS), description="paper columns shown (one cell per model each)")
    image_size: PositiveInt = Field(224, description="side the images are resized (shorter side) and centre-cropped to")
    batch_size: PositiveInt = Field(256, description="images per feature-extraction batch")
    linear_epochs: PositiveInt = Field(30, description="epochs of the linear probe over the extracted train features")
    linear_lr: float = Field(1e-3, gt=0, description="AdamW learning rate of the linear probe (cosine to 0)")
    linear_weight_decay: float = Field(1e-4, ge=0, description="AdamW weight decay of the linear probe")
    linear_batch_size: PositiveInt = Field(1024, description="feature vectors per linear-probe step")
    linear_train_images: PositiveInt | None = Field(
        None, description="train images of the linear probes (a fixed class-spread sample; null: all)")
    trials: PositiveInt = Field(5, description="few-shot trials averaged (the paper: 5)")
    svm_cost: float = Field(0.5, gt=0, description="the SVMs' cost C (the paper: 0.5)")


def _models(ctx, image: str):
    """paper row -> the teacher / distillation job whose model it evaluates (None: none planned here) and why."""
    distilled = large_scale.distill_cell(ctx, "", "", "imagenet1k", image, student="resnet50")
    why = large_scale.reason(ctx, "imagenet1k")
    r50 = None if why else teacher_job(large_scale.params_224(ctx.params, "imagenet1k"),
                                       large_scale.dataset_name(ctx.params, "imagenet1k"), "resnet50", ctx.seed)
    return {"ImageNet teacher ResNet-18": (None if why else large_scale.teacher(ctx, "imagenet1k"), why),
            "ImageNet supervised ResNet-50": (r50, why),  # torchvision's ImageNet weights, exported
            "1-image MoCo-v2 ResNet-50": (None, "MoCo-v2 pretraining on one image's patches is not implemented"),
            "1-image distilled ResNet-50": (distilled.jobs[0] if distilled.jobs else None, distilled.reason)}


def transfer_config(t: dict, task: str, shots: int | None, metric: str = "accuracy") -> dict:
    """The `transfer` spec of a job (jobs.transfer_job; analysis.transfer_224.evaluate); metric of the SVMs:
    map (VOC07: multi-label, per-class binary SVMs) or accuracy (one-vs-rest, single label)."""
    cfg = {"task": task, "image_size": t["image_size"], "batch_size": t["batch_size"]}
    if task == "linear":
        return {**cfg, "epochs": t["linear_epochs"], "lr": t["linear_lr"], "weight_decay": t["linear_weight_decay"],
                "probe_batch_size": t["linear_batch_size"], "train_images": t["linear_train_images"]}
    return {**cfg, "shots": shots, "trials": t["trials"], "svm_cost": t["svm_cost"], "metric": metric}


@EXPERIMENTS.register("table15", kind="table", params=Table15Params, paper_keys={"table15": ("model",)},
                      title="Table 15: transfer of the 224-px representations (linear probes, few-shot SVMs, detection)")
def cells(ctx):
    t, out = ctx.block, []
    for row, (model, why) in _models(ctx, t["image"]).items():
        for col in t["columns"]:
            ref = paper.ref("table15", col, model=row)
            task = TASKS.get(col)
            dataset = task[1] if task else "imagenet1k"
            reason = "; ".join(dict.fromkeys(r for r in (NOT_IMPLEMENTED.get(col), why, large_scale.reason(ctx, dataset))
                                             if r))
            cell = large_scale.empty_cell(ctx, row, COLUMNS[col], dataset, reason, paper_ref=ref)
            if not reason:
                cell.jobs = [transfer_job(ctx.params, model, large_scale.dataset_name(ctx.params, dataset),
                                          transfer_config(t, *task[::2], "map" if dataset == "voc07" else "accuracy"))]
                cell.teacher = model.spec.get("teacher", {}).get("arch", "") if model.kind == "teacher" else ""
                cell.student = model.spec["distill"]["student"] if model.kind == "distill" else ""
            out.append(cell)
    return out
