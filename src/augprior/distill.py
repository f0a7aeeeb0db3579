"""Knowledge distillation by function matching on a patch set (official CIFAR recipe).

Teacher (eval mode, no grad) and student see the identical augmented batch; one teacher forward
per step; the loss is KL(teacher_T || student_T) on temperature-softened distributions.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from . import augment, io
from .checkpoint import load_model, load_state, save_model, save_state
from .datasets import load_dataset
from .evaluate import accuracy_metrics, predict_logits
from .models import build_model
from .provenance import provenance
from .runtime import autocast, progress, select_device, use_bf16


def teacher_targets(teacher_logits: torch.Tensor, temperature: float, signal: str, topk: int) -> torch.Tensor:
    """The teacher's target distribution.

    full:   softmax(t / T)
    topk:   softmax(t / T) restricted to the k largest entries and renormalised to sum to 1
    argmax: one-hot of argmax(t) (a hard label; temperature does not apply)
    """
    if signal == "argmax":
        return F.one_hot(teacher_logits.argmax(1), teacher_logits.shape[1]).float()
    p = F.softmax(teacher_logits.float() / temperature, dim=1)
    if signal == "full":
        return p
    if signal == "topk":
        keep = torch.zeros_like(p).scatter_(1, p.topk(topk, dim=1).indices, 1.0)
        p = p * keep
        return p / p.sum(1, keepdim=True)
    raise ValueError(f"unknown teacher signal {signal!r}")


def kd_loss(student_logits: torch.Tensor, target: torch.Tensor, temperature: float, t2: bool) -> torch.Tensor:
    log_p = F.log_softmax(student_logits.float() / temperature, dim=1)
    loss = F.kl_div(log_p, target, reduction="batchmean")
    return loss * temperature**2 if t2 else loss


def augment_batch(x: torch.Tensor, aug: dict, gen: torch.Generator, mean, std) -> torch.Tensor:
    if aug["hflip"]:
        x = augment.random_hflip(x, gen)
    if aug["random_crop"]:
        x = augment.random_crop(x, gen)
    x = augment.normalize(x, mean, std)
    if aug["cutmix"]:
        x = augment.cutmix(x, gen, aug["cutmix_beta"])
    return x


def distill(job: dict[str, Any], out_dir: str | os.PathLike) -> dict[str, Any]:
    """Distil the teacher at job["teacher_path"] into a fresh student on job["patches_path"].

    Writes out_dir/student.pt and out_dir/metrics.json; resumes from out_dir/state.pt.
    """
    from .patches import load_patch_set

    started = time.time()
    out_dir = Path(out_dir)
    cfg = job["distill"]
    device = select_device(job.get("device", "auto"))
    bf16 = use_bf16(device, job.get("precision", "auto"))
    teacher, tmeta = load_model(job["teacher_path"], device)
    teacher = teacher.to(memory_format=torch.channels_last)
    mean, std = tmeta["mean"], tmeta["std"]
    patches = load_patch_set(job["patches_path"])
    test = load_dataset(job["dataset"], "test", job.get("mirror"))

    torch.manual_seed(job["seed"])
    student = build_model(cfg["student"], tmeta["num_classes"], tmeta["in_chans"])
    student = student.to(device, memory_format=torch.channels_last)
    opt = torch.optim.Adam(student.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    steps = len(patches) // cfg["batch_size"]
    if steps == 0:
        raise ValueError(f"batch size {cfg['batch_size']} exceeds the {len(patches)} patches")

    state_path = out_dir / "state.pt"
    curve: list[dict] = []
    start_epoch = 0
    if (state := load_state(state_path)) is not None:
        student.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        curve, start_epoch = state["curve"], state["epoch"]

    for epoch in range(start_epoch, cfg["epochs"]):
        student.train()
        gen = torch.Generator().manual_seed(job["seed"] * 1_000_003 + epoch)
        order = torch.randperm(len(patches), generator=gen)
        total = 0.0
        for step in progress(range(steps), desc=f"distill epoch {epoch + 1}/{cfg['epochs']}", leave=False):
            idx = order[step * cfg["batch_size"]:(step + 1) * cfg["batch_size"]]
            x = augment_batch(augment.to_float(patches[idx], device, True), cfg["augment"], gen, mean, std)
            with torch.no_grad(), autocast(device, bf16):
                t_logits = teacher(x)
            with autocast(device, bf16):
                s_logits = student(x)
            target = teacher_targets(t_logits, cfg["temperature"], cfg["signal"], cfg["topk"])
            loss = kd_loss(s_logits, target, cfg["temperature"], cfg["t2_factor"])
            if not torch.isfinite(loss):
                raise FloatingPointError(f"distillation loss is {loss.item()} at epoch {epoch + 1}, step {step}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item()
        curve.append({"epoch": epoch + 1, "train_loss": total / steps})
        save_state(state_path, {"model": student.state_dict(), "optimizer": opt.state_dict(),
                                "curve": curve, "epoch": epoch + 1})

    s_logits = predict_logits(student, test.images, mean, std, device, bf16)
    t_logits = predict_logits(teacher, test.images, mean, std, device, bf16)
    metrics = accuracy_metrics(s_logits, test.labels, test.num_classes)
    metrics.update({
        "teacher_top1": accuracy_metrics(t_logits, test.labels, test.num_classes)["top1"],
        "agreement": float((s_logits.argmax(1) == t_logits.argmax(1)).float().mean() * 100),
        "curve": curve,
        "provenance": provenance(job, scale=job.get("scale"), seed=job["seed"], device=device, started=started),
    })
    save_model(out_dir / "student.pt", student, arch=cfg["student"], num_classes=tmeta["num_classes"],
               in_chans=tmeta["in_chans"], dataset=job["dataset"], mean=list(mean), std=list(std))
    io.write_json(out_dir / "metrics.json", metrics)
    state_path.unlink(missing_ok=True)
    return metrics
