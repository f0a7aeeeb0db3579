"""The cells of the 224-px evaluation tables (Table 15: transfer, Table 16: ImageNet-C), planned from the
Table 7/8 models; their params blocks and registrations are in augprior.experiments.table15 / table16."""

from __future__ import annotations

from . import corruptions, imagenet_c, large_scale, paper
from .cells import Cell
from .jobs import teacher_job, transfer_job

CORRUPTIONS = tuple(corruptions.CORRUPTIONS)  # the benchmark's 15, in its column order
COLUMNS = {"in1k_linear": "linear probe, ImageNet-1k", "places_linear": "linear probe, Places-365",
           "in1k_1pct_finetune": "fine-tuning on 1% of ImageNet-1k", "voc07_svm_4shot": "linear SVM, VOC07, 4 per class",
           "voc07_svm_16shot": "linear SVM, VOC07, 16 per class", "places_svm_4shot": "linear SVM, Places, 4 per class",
           "places_svm_16shot": "linear SVM, Places, 16 per class", "coco_det_map": "COCO detection (FPN), mAP"}
# paper column -> (task, dataset, shots); None: not implemented here, with the reason
TASKS = {"in1k_linear": ("linear", "imagenet1k", None), "places_linear": ("linear", "places365", None),
         "in1k_1pct_finetune": ("finetune", "imagenet1k", None), "coco_det_map": ("detection", "coco", None),
         "voc07_svm_4shot": ("svm", "voc07", 4), "voc07_svm_16shot": ("svm", "voc07", 16),
         "places_svm_4shot": ("svm", "places365", 4), "places_svm_16shot": ("svm", "places365", 16)}
NOT_IMPLEMENTED: dict[str, str] = {}


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
    if task == "detection":
        return {"task": task, "iterations": t["det_iterations"], "det_batch_size": t["det_batch_size"],
                "lr": t["det_lr"], "weight_decay": 1e-4, "warmup_iters": t["det_warmup_iters"],
                "decay_iters": t["det_decay_iters"], "min_size": t["det_min_size"], "max_size": 1333,
                "test_min_size": 800, "max_val_images": t["det_max_val_images"], "workers": t["det_workers"]}
    if task == "finetune":
        return {**cfg, "epochs": t["finetune_epochs"], "lr": t["finetune_lr"], "head_lr": t["finetune_head_lr"],
                "decay_epochs": t["finetune_decay_epochs"], "gamma": t["finetune_gamma"],
                "finetune_batch_size": t["finetune_batch_size"], "labels_percent": t["labels_percent"],
                "subset_file": t["subset_file"]}
    return {**cfg, "shots": shots, "trials": t["trials"], "svm_cost": t["svm_cost"], "metric": metric}


def table15_cells(ctx) -> list[Cell]:
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


def _models16(ctx) -> dict[str, Cell]:
    half = ctx.params["large_scale"]["distill"]["batch_size"] // 2
    image = ctx.block["image"]
    return {"ImageNet ResNet-18 (teacher)": large_scale.teacher_cell(ctx, "", "", "imagenet1k"),
            "1-image ResNet-50x2": large_scale.distill_cell(ctx, "", "", "imagenet1k", image,
                                                            student="wide_resnet50_2", batch_size=half),
            "1-image ResNet-50": large_scale.distill_cell(ctx, "", "", "imagenet1k", image, student="resnet50")}


def table16_cells(ctx) -> list[Cell]:
    t, out = ctx.block, []
    root = imagenet_c.resolve_root(t["root"], ctx.params["data"]["mirror"])
    absent = imagenet_c.missing(root, t["corruptions"], t["severities"])
    data_reason = "" if not absent or t["generate_missing"] else (
        f"ImageNet-C is not under {root} ({len(absent)} folders absent, e.g. {absent[0]}) and "
        f"table16.generate_missing is false")
    subset = len(t["corruptions"]) < len(CORRUPTIONS) or len(t["severities"]) < 5
    for row, model in _models16(ctx).items():
        job = None
        if not model.reason and not data_reason:
            job = imagenet_c.job(ctx.params, model.jobs[0], large_scale.dataset_name(ctx.params, "imagenet1k"),
                                 root=root, names=t["corruptions"], severities=t["severities"], generate=absent,
                                 batch_size=t["batch_size"], workers=t["workers"], max_images=t["max_images"])
        for col in t["columns"]:
            ref = paper.ref("table16", col, network=row)
            reason = model.reason or data_reason or (
                f"{col} is not in table16.corruptions" if col in CORRUPTIONS and col not in t["corruptions"] else "")
            out.append(Cell(ctx.name, row, col, model.dataset, [job] if job is not None and not reason else [],
                            paper.lookup(ref), model.teacher, model.student, model.epochs, reason=reason,
                            comparable=not (subset and col == "mce") and not t["max_images"],
                            extra={"metric": imagenet_c.metric_key(col)}, paper_ref=ref))
    return out
