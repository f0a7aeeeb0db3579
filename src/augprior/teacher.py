"""Supervised teacher training on the target dataset."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from . import augment, io
from .checkpoint import load_state, save_model, save_state
from .datasets import NORMALIZATION, load_dataset
from .evaluate import evaluate
from .models import build_model
from .provenance import provenance
from .runtime import autocast, progress, select_device, use_bf16

# Paper appendix: (lr values, step boundaries); value i holds until boundary i, the last one after.
PAPER_SCHEDULES = {
    "wrn": ([0.1, 0.02, 0.004, 0.0008], [24000, 48000, 64000, 80000]),
    "other": ([0.01, 0.1, 0.01, 0.001], [400, 32000, 48000, 64000]),
}


def lr_factor(schedule: str, arch: str, base_lr: float, total_steps: int):
    """Multiplicative LR factor as a function of the step (for LambdaLR)."""
    if schedule == "paper":
        values, bounds = PAPER_SCHEDULES["wrn" if arch.startswith("wrn") else "other"]

        def paper(step: int) -> float:
            for value, bound in zip(values, bounds):
                if step < bound:
                    return value / base_lr
            return values[-1] / base_lr

        return paper
    if schedule == "onecycle":
        warm = max(1, int(0.15 * total_steps))

        def onecycle(step: int) -> float:  # linear warm-up, then cosine to zero
            if step < warm:
                return (step + 1) / warm
            return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total_steps - warm)))

        return onecycle
    raise ValueError(f"unknown teacher schedule {schedule!r}")


def train_teacher(job: dict[str, Any], out_dir: str | os.PathLike) -> dict[str, Any]:
    """Train the teacher described by `job` and write out_dir/model.pt and out_dir/metrics.json.

    `job` = {"dataset", "seed", "scale", "device", "precision", "mirror", "teacher": {...params}}.
    Resumes from out_dir/state.pt (saved every epoch) after an interruption.
    """
    started = time.time()
    out_dir = Path(out_dir)
    cfg = job["teacher"]
    device = select_device(job.get("device", "auto"))
    bf16 = use_bf16(device, job.get("precision", "auto"))
    train = load_dataset(job["dataset"], "train", job.get("mirror"))
    test = load_dataset(job["dataset"], "test", job.get("mirror"))
    if cfg.get("train_subset"):
        train.images, train.labels = train.images[:cfg["train_subset"]], train.labels[:cfg["train_subset"]]
    mean, std = NORMALIZATION[job["dataset"]]
    in_chans = train.images.shape[1]

    torch.manual_seed(job["seed"])
    model = build_model(cfg["arch"], train.num_classes, in_chans).to(device, memory_format=torch.channels_last)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": cfg["weight_decay"]},
                           {"params": no_decay, "weight_decay": 0.0}],
                          lr=cfg["lr"], momentum=cfg["momentum"], nesterov=cfg["nesterov"])
    steps_per_epoch = cfg.get("steps_per_epoch") or len(train) // cfg["batch_size"]
    total = steps_per_epoch * cfg["epochs"]
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor(cfg["schedule"], cfg["arch"], cfg["lr"], total))

    state_path = out_dir / "state.pt"
    curve: list[dict] = []
    start_epoch = 0
    if (state := load_state(state_path)) is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        curve, start_epoch = state["curve"], state["epoch"]

    for epoch in range(start_epoch, cfg["epochs"]):
        model.train()
        gen = torch.Generator().manual_seed(job["seed"] * 1_000_003 + epoch)  # exact resume per epoch
        order = _epoch_order(len(train), steps_per_epoch * cfg["batch_size"], gen)
        total_loss = 0.0
        for step in progress(range(steps_per_epoch), desc=f"teacher epoch {epoch + 1}/{cfg['epochs']}", leave=False):
            idx = order[step * cfg["batch_size"]:(step + 1) * cfg["batch_size"]]
            x = augment.to_float(train.images[idx], device, channels_last=True)
            x = augment.random_crop(augment.random_hflip(x, gen), gen)
            x = augment.normalize(augment.cutout(x, gen, cfg["cutout"]), mean, std)
            y = train.labels[idx].to(device)
            with autocast(device, bf16):
                loss = F.cross_entropy(model(x).float(), y, label_smoothing=cfg["label_smoothing"])
            if not torch.isfinite(loss):
                raise FloatingPointError(f"teacher loss is {loss.item()} at epoch {epoch + 1}, step {step}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total_loss += loss.item()
        curve.append({"epoch": epoch + 1, "train_loss": total_loss / steps_per_epoch, "lr": sched.get_last_lr()[0]})
        save_state(state_path, {"model": model.state_dict(), "optimizer": opt.state_dict(),
                                "scheduler": sched.state_dict(), "curve": curve, "epoch": epoch + 1})

    metrics = evaluate(model, test, mean, std, device, bf16)
    metrics.update({"curve": curve, "arch": cfg["arch"], "dataset": job["dataset"],
                    "provenance": provenance(job, scale=job.get("scale"), seed=job["seed"], device=device,
                                             started=started)})
    save_model(out_dir / "model.pt", model, arch=cfg["arch"], num_classes=train.num_classes,
               in_chans=in_chans, dataset=job["dataset"], mean=list(mean), std=list(std))
    io.write_json(out_dir / "metrics.json", metrics)
    state_path.unlink(missing_ok=True)
    return metrics


def _epoch_order(n: int, needed: int, gen: torch.Generator) -> torch.Tensor:
    """Enough shuffled indices for one epoch of `needed` samples (several passes if needed > n)."""
    reps = -(-needed // n)
    return torch.cat([torch.randperm(n, generator=gen) for _ in range(reps)])[:needed]
