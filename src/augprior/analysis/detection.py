"""Table 15's COCO detection column: a Faster R-CNN with FPN (torchvision's) whose ResNet trunk starts from a
224-px model's weights (a teacher or a distilled student), fine-tuned on COCO train2017 and scored by box mAP
@[.5:.95] (%) on val2017 with pycocotools' COCOeval.

The paper follows MoCo's detectron2 recipe (R50-FPN, 1x schedule). Here, with torchvision's detector: SGD,
momentum 0.9, weight decay 1e-4, lr 0.02 at batch 16 (scaled linearly with the batch), 90k iterations with
decays x0.1 at 60k and 80k and a 1000-iteration linear warm-up, multi-scale training (shorter side 640-800,
longer at most 1333), testing at 800; every trunk stage is trained, with its BatchNorm layers frozen at the
model's statistics (torchvision's default; MoCo's detectron2 configs use synchronised BatchNorm: a labelled
deviation). COCO's layout: `<root>/{train2017,val2017}/*.jpg` and `<root>/annotations/instances_{train,val}2017.json`
(as downloaded from cocodataset.org).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

SPLITS = {"train": "train2017", "val": "val2017"}


def annotations(root: str | os.PathLike, split: str) -> Path:
    return Path(root) / "annotations" / f"instances_{SPLITS[split]}.json"


def coco(root: str | os.PathLike, split: str):
    """torchvision's CocoDetection on `root`, wrapped to give (image tensor, {boxes XYXY, labels, image_id})."""
    from torchvision.datasets import CocoDetection, wrap_dataset_for_transforms_v2
    from torchvision.transforms import v2

    transforms = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    if split == "train":
        transforms.insert(1, v2.RandomHorizontalFlip())
    ds = CocoDetection(str(Path(root) / SPLITS[split]), str(annotations(root, split)), transforms=v2.Compose(transforms))
    return wrap_dataset_for_transforms_v2(ds, target_keys=("boxes", "labels", "image_id"))


def freeze_batchnorm(module: torch.nn.Module) -> torch.nn.Module:
    """Every BatchNorm2d replaced by a FrozenBatchNorm2d holding its affine parameters and running statistics."""
    from torchvision.ops.misc import FrozenBatchNorm2d

    for name, child in module.named_children():
        if isinstance(child, torch.nn.BatchNorm2d):
            frozen = FrozenBatchNorm2d(child.num_features, eps=child.eps)
            for key in ("weight", "bias", "running_mean", "running_var"):
                getattr(frozen, key).copy_(getattr(child, key).detach())
            setattr(module, name, frozen)
        else:
            freeze_batchnorm(child)
    return module


def detector(trunk: torch.nn.Module, num_classes: int, cfg: dict[str, Any]) -> torch.nn.Module:
    """Faster R-CNN + FPN on the ResNet `trunk` (its classifier is dropped), all stages trainable."""
    from torchvision.models import ResNet
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor

    if not isinstance(trunk, ResNet):
        raise ValueError(f"COCO detection needs a torchvision ResNet trunk, not {type(trunk).__name__}")
    backbone = _resnet_fpn_extractor(freeze_batchnorm(trunk), trainable_layers=5)
    return FasterRCNN(backbone, num_classes=num_classes, min_size=tuple(cfg["min_size"]), max_size=cfg["max_size"])


def lr_factor(it: int, cfg: dict[str, Any]) -> float:
    warm = cfg["warmup_iters"]
    f = 0.1 ** sum(it >= d for d in cfg["decay_iters"])
    return f * (0.001 + 0.999 * it / warm if it < warm else 1.0)


def _collate(batch):
    return tuple(zip(*batch))


def evaluate(job: dict[str, Any], root: str | os.PathLike = ".") -> dict[str, Any]:
    """A detection transfer job: fine-tune, then COCO box mAP on val (metrics.json's dict)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from ..checkpoint import load_model
    from ..runtime import select_device

    t = job["transfer"]
    data_root = Path(job["dataset"].removeprefix("imagefolder:"))
    device = select_device(job.get("device") or "auto")
    torch.manual_seed(job["seed"])
    trunk, _ = load_model(Path(root) / job["model_path"], torch.device("cpu"))
    train, val = coco(data_root, "train"), coco(data_root, "val")
    gt = COCO(str(annotations(data_root, "val")))
    num_classes = max(gt.getCatIds()) + 1  # COCO's category ids (1..90, with gaps) are the labels
    model = detector(trunk, num_classes, t).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    lr = t["lr"] * t["det_batch_size"] / 16
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=t["weight_decay"])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda it: lr_factor(it, t))
    g = torch.Generator().manual_seed(job["seed"])
    loader = torch.utils.data.DataLoader(train, batch_size=t["det_batch_size"], shuffle=True, generator=g,
                                         collate_fn=_collate, num_workers=t["workers"], drop_last=True)
    it, losses = 0, []
    model.train()
    while it < t["iterations"]:
        for images, targets in loader:
            keep = [i for i, tg in enumerate(targets) if "boxes" in tg and len(tg["boxes"])]  # images with boxes
            if not keep:
                continue
            images = [images[i].to(device) for i in keep]
            targets = [{"boxes": targets[i]["boxes"].as_subclass(torch.Tensor).to(device),
                        "labels": targets[i]["labels"].to(device)} for i in keep]
            loss = sum(model(images, targets).values())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            it += 1
            if it >= t["iterations"]:
                break
    model.eval()
    model.transform.min_size = (t["test_min_size"],)
    results = []
    ids = gt.getImgIds()[: t["max_val_images"]] if t["max_val_images"] else gt.getImgIds()
    index = {image_id: i for i, image_id in enumerate(sorted(gt.imgs))}  # CocoDetection's order
    with torch.no_grad():
        for image_id in ids:
            image, _ = val[index[image_id]]
            out = model([image.to(device)])[0]
            for box, score, label in zip(out["boxes"].cpu().tolist(), out["scores"].cpu().tolist(),
                                         out["labels"].cpu().tolist()):
                x0, y0, x1, y1 = box
                results.append({"image_id": image_id, "category_id": int(label), "bbox": [x0, y0, x1 - x0, y1 - y0],
                                "score": float(score)})
    stats = [0.0] * 12
    if results:
        ev = COCOeval(gt, gt.loadRes(results), "bbox")
        ev.params.imgIds = ids
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        stats = [float(s) for s in ev.stats]
    return {"top1": round(100 * max(stats[0], 0.0), 4), "metric": "mAP", "task": "detection",
            "dataset": job["dataset"], "n_train": len(train), "n": len(ids), "iterations": it,
            "ap50": round(100 * max(stats[1], 0.0), 4), "ap75": round(100 * max(stats[2], 0.0), 4),
            "train_loss_first_last": [losses[0], losses[-1]] if losses else None,
            "config": t, "model_path": job["model_path"]}
