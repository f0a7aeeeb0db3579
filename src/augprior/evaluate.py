"""Evaluation on a labelled test set: top-1, top-5, per-class accuracy."""

from __future__ import annotations

import torch

from .augment import normalize, to_float
from .runtime import autocast


@torch.no_grad()
def predict_logits(model: torch.nn.Module, images: torch.Tensor, mean, std, device: torch.device,
                   bf16: bool, batch_size: int = 1000) -> torch.Tensor:
    """Logits (float32, on the CPU) of `model` for uint8 images (N, C, H, W)."""
    was_training = model.training
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        x = normalize(to_float(images[i:i + batch_size], device, channels_last=True), mean, std)
        with autocast(device, bf16):
            out.append(model(x).float().cpu())
    model.train(was_training)
    return torch.cat(out)


def accuracy_metrics(logits: torch.Tensor, labels: torch.Tensor, num_classes: int) -> dict:
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


def evaluate(model, dataset, mean, std, device, bf16: bool, batch_size: int = 1000) -> dict:
    logits = predict_logits(model, dataset.images, mean, std, device, bf16, batch_size)
    return accuracy_metrics(logits, dataset.labels, dataset.num_classes)
