"""Evaluation on a test set: top-1, top-5, per-class accuracy (labelled sets), agreement with a teacher."""

from __future__ import annotations

from typing import Any

import torch

from .augment import normalize, to_float
from .runtime import autocast


@torch.no_grad()
def predict_logits(model: torch.nn.Module, images: torch.Tensor, mean, std, device: torch.device,
                   bf16: bool, batch_size: int = 1000, channels_last: bool = True) -> torch.Tensor:
    """Logits (float32, on the CPU) of `model` for uint8 images (N, C, H, W)."""
    was_training = model.training
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        x = normalize(to_float(images[i:i + batch_size], device, channels_last=channels_last), mean, std)
        with autocast(device, bf16):
            out.append(model(x).float().cpu())
    model.train(was_training)
    return torch.cat(out)


@torch.no_grad()
def predict_dataset(model: torch.nn.Module, dataset, mean, std, device: torch.device, bf16: bool,
                    batch_size: int = 500, channels_last: bool = True) -> torch.Tensor:
    """Logits (float32, CPU) for every image of a dataset, in order; streams datasets that are
    decoded lazily (`iter_batches`), so image folders larger than memory work too."""
    if isinstance(dataset, torch.Tensor):
        return predict_logits(model, dataset, mean, std, device, bf16, batch_size, channels_last)
    was_training = model.training
    model.eval()
    out = []
    for images, _ in dataset.iter_batches(batch_size):
        x = normalize(to_float(images, device, channels_last=channels_last), mean, std)
        with autocast(device, bf16):
            out.append(model(x).float().cpu())
    model.train(was_training)
    return torch.cat(out)


def accuracy_metrics(logits: torch.Tensor, labels: torch.Tensor, num_classes: int) -> dict:
    """top1 / top5 / per-class top-1 in %; None on an unlabelled set (augprior.datasets.UNLABELLED)."""
    from .datasets import is_unlabelled

    if is_unlabelled(labels):
        return {"top1": None, "top5": None, "per_class_top1": [None] * num_classes, "n": int(len(labels)),
                "labelled": False}
    top5 = logits.topk(min(5, logits.shape[1]), dim=1).indices
    correct1 = top5[:, 0] == labels
    per_class = [float(correct1[labels == c].float().mean() * 100) if (labels == c).any() else None
                 for c in range(num_classes)]
    return {
        "top1": float(correct1.float().mean() * 100),
        "top5": float((top5 == labels[:, None]).any(1).float().mean() * 100),
        "per_class_top1": per_class,
        "n": int(len(labels)),
    }


def agreement(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> float:
    """Percentage of images on which student and teacher predict the same top-1 class."""
    return float((student_logits.argmax(1) == teacher_logits.argmax(1)).float().mean() * 100)


def student_metrics(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
                    num_classes: int) -> dict[str, Any]:
    """Student accuracy metrics plus its top-1 agreement with the teacher on the same images and how
    often it predicts each class (`prediction_histogram`: a collapsed student puts all on one)."""
    out = accuracy_metrics(student_logits, labels, num_classes)
    out["agreement"] = agreement(student_logits, teacher_logits)
    out["prediction_histogram"] = torch.bincount(student_logits.argmax(1), minlength=num_classes).tolist()
    return out


COLLAPSE_SHARE = 0.5  # a histogram with more than this share on one class is a collapse warning


def collapse_warning(counts: list[int], what: str, classes: list[str] | None = None) -> str | None:
    """'collapse: <what> put 97% of its ... on class 3 (cat)' when one class holds more than
    COLLAPSE_SHARE of `counts`, else None."""
    total = sum(counts)
    if not total:
        return None
    top = max(range(len(counts)), key=counts.__getitem__)
    share = counts[top] / total
    if share <= COLLAPSE_SHARE:
        return None
    name = f" ({classes[top]})" if classes and top < len(classes) else ""
    return f"collapse: {what} {share:.0%} on class {top}{name} ({counts[top]} of {total})"

