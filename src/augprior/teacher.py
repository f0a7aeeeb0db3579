"""Supervised teacher training on the target dataset.

Two schedules (params `teacher.schedule`):
- `paper`: the paper appendix's SGD step schedules (batch 128, 100 epochs of 2000 steps,
  cutout 16). VGG/ResNet: lr 0.01 until step 400 (He et al.'s warm-up), 0.1 until 32000,
  0.01 until 48000, 0.001 after; momentum 0.9. WRN: lr 0.1 until 24000, 0.02 until 48000,
  0.004 until 64000, 0.0008 after; Nesterov momentum 0.9. Each last boundary (64000, 80000)
  is where the original recipes stopped; the paper trains on, so the last value is kept.
  The lr values are absolute: `teacher.lr` does not scale them.
- `onecycle`: linear warm-up over the first 15% of the steps from ~0 to `teacher.lr`, then
  cosine to zero; meant for laptop/ci scale together with label smoothing.

Every epoch the full training state (model, optimizer, scheduler, python/numpy/torch RNG
states, position, curve; augprior.runner) is written atomically to out_dir/state.pt, and
mid-epoch when SIGTERM / SIGINT stops the run; a rerun after an interruption resumes from it
and ends bit-identical to an uninterrupted run on the same CPU and thread count (on CUDA: the
same data and augmentation order; cuDNN kernels may differ). The order of samples and the
augmentation draws of epoch e come from a generator seeded by (seed, e), so they do not depend
on where a run was resumed; a mid-epoch state also holds that generator's state and the
epoch's loss / accuracy sums.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import torch
import torch.nn.functional as F

from . import augment, options
from .checkpoint import save_model
from .datasets import ImageFolderDataset, is_unlabelled, label, load_dataset, normalization, takes_size
from .evaluate import accuracy_metrics
from .models import build_model, default_input_size, param_count
from .provenance import dataset_record, mirror_record, params_hash, provenance
from .runner import ResumableRun, due
from .runtime import EpochEstimate, autocast, progress, select_device, use_bf16

# Paper appendix: lr value i holds until step boundary i; the last value after the last boundary.
PAPER_SCHEDULES = {
    "wrn": {"lrs": [0.1, 0.02, 0.004, 0.0008], "bounds": [24000, 48000, 64000, 80000], "nesterov": True},
    "other": {"lrs": [0.01, 0.1, 0.01, 0.001], "bounds": [400, 32000, 48000, 64000], "nesterov": False},
}
STATE_VERSION = 3  # state.pt format (3: augprior.runner's layout, mid-epoch positions; 2 is refused)


def paper_family(arch: str) -> str:
    return "wrn" if arch.startswith("wrn") else "other"


def lr_factor(schedule: str, arch: str, base_lr: float, total_steps: int):
    """Multiplicative LR factor as a function of the step (for LambdaLR)."""
    if schedule == "paper":
        sched = PAPER_SCHEDULES[paper_family(arch)]
        values, bounds = sched["lrs"], sched["bounds"]

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
            return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total_steps - warm))))

        return onecycle
    raise ValueError(f"unknown teacher schedule {schedule!r} (paper or onecycle)")


def paper_nesterov(arch: str) -> bool:
    """Whether the paper schedule of `arch`'s family uses Nesterov momentum (WRN: yes, VGG/ResNet: no)."""
    return PAPER_SCHEDULES[paper_family(arch)]["nesterov"]


def _nesterov(cfg: dict[str, Any]) -> bool:
    if cfg["schedule"] == "paper":
        return paper_nesterov(cfg["arch"])
    return bool(cfg.get("nesterov", True))


def sgd(model: torch.nn.Module, *, lr: float, momentum: float, nesterov: bool, weight_decay: float) -> torch.optim.SGD:
    """SGD with momentum; no weight decay on BatchNorm parameters and biases (also distill's optimizer sgd)."""
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    return torch.optim.SGD([{"params": decay, "weight_decay": weight_decay},
                            {"params": no_decay, "weight_decay": 0.0}],
                           lr=lr, momentum=momentum, nesterov=nesterov and momentum > 0)


def make_optimizer(model: torch.nn.Module, cfg: dict[str, Any]) -> torch.optim.SGD:
    return sgd(model, lr=cfg["lr"], momentum=cfg["momentum"], nesterov=_nesterov(cfg), weight_decay=cfg["weight_decay"])


def augment_batch(x: torch.Tensor, gen: torch.Generator, mean, std, cutout: int) -> torch.Tensor:
    """Random horizontal flip, zero-pad + random crop (pad = side/8, 4 px at 32 px), cutout, normalise."""
    x = augment.random_hflip(x, gen)
    x = augment.random_crop(x, gen, pad=max(1, x.shape[-1] // 8))
    x = augment.cutout(x, gen, cutout)
    return augment.normalize(x, mean, std)


@torch.no_grad()
def evaluate_dataset(model: torch.nn.Module, dataset, mean, std, device: torch.device, bf16: bool,
                     channels_last: bool, batch_size: int = 500) -> dict[str, Any]:
    """Top-1, top-5 and per-class top-1 on a (possibly streamed) labelled dataset."""
    was_training = model.training
    model.eval()
    logits = []
    for images, _ in dataset.iter_batches(batch_size):
        x = augment.normalize(augment.to_float(images, device, channels_last=channels_last), mean, std)
        with autocast(device, bf16):
            logits.append(model(x).float().cpu())
    model.train(was_training)
    metrics = accuracy_metrics(torch.cat(logits), dataset.labels, dataset.num_classes)
    metrics["per_class_top1_by_name"] = dict(zip(dataset.classes, metrics["per_class_top1"]))
    return metrics


# teacher keys that do not change the trained weights, and optional keys whose absence equals a falsy value
_NOT_RESULT_KEYS = ("eval_every",)
_OPTIONAL_KEYS = options.TeacherOptions.OMIT_WHEN_DEFAULT  # ("image_size", "pretrained", "checkpoint")
TEACHER_DEFAULTS: dict[str, Any] = options.defaults(options.TeacherOptions)  # the paper's appendix recipe


def resolve_config(cfg: dict[str, Any] | None) -> dict[str, Any]:
    """TeacherOptions' defaults overridden by `cfg`, validated; raises OptionsError (a ValueError) naming
    the bad key (teacher.epochs), its value and what was expected. Optional keys stay absent when off."""
    return options.resolve(options.TeacherOptions, cfg, "teacher")


def _resume_key(job: dict[str, Any]) -> dict[str, Any]:
    """What must match for a saved state to be resumed (not device, threads, mirror, eval_every)."""
    teacher = {k: v for k, v in job["teacher"].items()
               if k not in _NOT_RESULT_KEYS and not (k in _OPTIONAL_KEYS and not v)}
    return {"dataset": job.get("dataset"), "seed": job.get("seed"), "teacher": teacher}


def _job_fingerprint(job: dict[str, Any]) -> str:
    return params_hash(_resume_key(job))


def _load_split(job: dict[str, Any], split: str, size: int | None):
    name = job["dataset"]
    if takes_size(name):
        return load_dataset(name, split, job.get("mirror"), size=size)
    return load_dataset(name, split, job.get("mirror"))


def train_teacher(job: dict[str, Any], out_dir: str | os.PathLike) -> dict[str, Any]:
    """Train the teacher described by `job` and write out_dir/model.pt and out_dir/metrics.json.

    `job` = {"dataset", "seed", "scale", "device", "precision", "mirror", "teacher": {...params}}.
    `teacher` keys: arch, schedule, epochs, steps_per_epoch, batch_size, lr, momentum, nesterov,
    weight_decay, label_smoothing, cutout, train_subset; optional: eval_every (evaluate on the
    test set every N epochs, 0 = only at the end), image_size (side for imagefolder: datasets,
    default: the architecture's input size), pretrained / checkpoint (start from torchvision/
    timm weights or a local file; epochs 0 then only evaluates and exports that teacher).
    Resumes from out_dir/state.pt (saved atomically every epoch, and mid-epoch on SIGTERM / SIGINT,
    which then raise augprior.runner.Preempted: exit status 143 / 130) after an interruption.
    A NaN, infinite or diverging loss stops the run at that step (augprior.runner.LossDiverged; on
    the CPU before the update, on a GPU at the next step at the latest; state.pt stays the last
    epoch's checkpoint).
    """
    started = time.time()
    cfg = job["teacher"]
    device = select_device(job.get("device") or "auto")
    bf16 = use_bf16(device, job.get("precision") or "auto")
    with ResumableRun(out_dir, kind="teacher", version=STATE_VERSION, outputs=("model.pt",)) as run:
        return _train(run, job, cfg, device=device, bf16=bf16, started=started)


def _train(run: ResumableRun, job: dict[str, Any], cfg: dict[str, Any], *, device: torch.device, bf16: bool,
           started: float) -> dict[str, Any]:
    seed = int(job["seed"])
    # measured on 2 AVX512-BF16 cores, WRN-16-2 at batch 256 (interleaved steps): fp32 NCHW 41 img/s,
    # fp32 channels_last 50, bf16 NCHW 56, bf16 channels_last 91; channels_last is the default on CUDA too
    channels_last = True
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    if device.type == "cuda":  # fastest kernels; GPU runs resume exactly in data order, not bit for bit
        torch.backends.cudnn.benchmark = True

    size = cfg.get("image_size") or default_input_size(cfg["arch"])
    train = _load_split(job, "train", size)
    test = _load_split(job, "test", size)
    mean, std = normalization(job["dataset"])
    if cfg.get("train_subset"):
        train = train.subset(cfg["train_subset"])  # a fixed sample spread over all classes
    n_train = len(train)
    if is_unlabelled(train.labels) and int(cfg["epochs"]) > 0:
        raise ValueError(f"{job['dataset']} is unlabelled (an evaluation set): a teacher can only be exported on it "
                         f"(teacher.epochs 0 with pretrained or checkpoint), not trained")
    bs = cfg["batch_size"] if int(cfg["epochs"]) > 0 else min(cfg["batch_size"], n_train)
    if n_train < bs:
        raise ValueError(f"teacher batch_size {bs} exceeds the {n_train} training images of {job['dataset']}")
    # in memory when it fits (and on the GPU: no per-step host->device copies); else streamed
    if isinstance(train, ImageFolderDataset):
        nbytes = n_train * train.channels * train.size ** 2
        if nbytes <= ImageFolderDataset.max_materialize_bytes:
            train.images  # noqa: B018 - decode once (cached on disk)
    images = getattr(train, "_images", None) if isinstance(train, ImageFolderDataset) else train.images
    if images is not None:
        images = images[:n_train]
        if device.type == "cuda" and images.numel() <= 4 << 30:
            images = images.to(device)
    labels = train.labels[:n_train].to(device)
    in_chans = int(train.load_batch([0]).shape[1])

    torch.manual_seed(seed)
    model = build_model(cfg["arch"], train.num_classes, in_chans, pretrained=bool(cfg.get("pretrained")),
                        checkpoint=cfg.get("checkpoint"))
    model = model.to(device, memory_format=fmt)
    opt = make_optimizer(model, cfg)
    steps_per_epoch = cfg.get("steps_per_epoch") or n_train // bs
    epochs = int(cfg["epochs"])
    total = steps_per_epoch * epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor(cfg["schedule"], cfg["arch"], cfg["lr"], total))
    eval_every = int(cfg.get("eval_every") or 0)

    # mid-epoch: the epoch generator's state (order and augmentation draws) and the epoch's sums
    run.resume(_resume_key(job), {"model": model, "optimizer": opt, "scheduler": sched}, {"epoch": 0, "step": 0},
               gen_state=None, loss_sum=None, correct=None, time_warning=None)
    start_epoch, start_step = run.position["epoch"], run.position["step"]
    timer = EpochEstimate("teacher training", job.get("scale"), steps_per_epoch, epochs, device,
                          f"images are {size} px, batch {bs}, {cfg['arch']}")
    for epoch in range(start_epoch, epochs):
        model.train()
        t0 = time.time()
        gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)  # exact resume per epoch
        order = _epoch_order(n_train, steps_per_epoch * bs, gen)
        first = start_step if epoch == start_epoch else 0
        if first:  # resumed mid-epoch: the augmentation stream and the sums continue where they stopped
            gen.set_state(run.extras["gen_state"])
            loss_sum, correct = run.extras["loss_sum"].to(device), run.extras["correct"].to(device)
        else:
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), device=device, dtype=torch.long)
        for step in progress(range(first, steps_per_epoch), desc=f"teacher epoch {epoch + 1}/{epochs}", leave=False,
                             initial=first, total=steps_per_epoch):
            idx = order[step * bs:(step + 1) * bs]
            batch = images[idx.to(images.device)] if images is not None else train.load_batch(idx)
            x = augment_batch(augment.to_float(batch, device, channels_last=channels_last), gen, mean, std,
                              cfg["cutout"])
            y = labels[idx.to(labels.device)]
            with autocast(device, bf16):
                logits = model(x).float()
            loss = F.cross_entropy(logits, y, label_smoothing=cfg["label_smoothing"])
            # on the CPU before this step's update; on a GPU checked without waiting for the device,
            # at the next step or before the next checkpoint (the error names this step either way)
            run.check_loss(loss.detach(), f"epoch {epoch + 1}, step {step + 1}/{steps_per_epoch}",
                           "lower teacher.lr, or try --precision fp32", defer=device.type == "cuda")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.detach()
            correct += (logits.detach().argmax(1) == y).sum()
            if timer.tick(last=epoch == epochs - 1 and step + 1 == steps_per_epoch):  # predicts the epoch time
                run.extras["time_warning"] = timer.warning
            if step + 1 < steps_per_epoch:
                run.boundary({"epoch": epoch, "step": step + 1}, gen_state=gen.get_state(), loss_sum=loss_sum,
                             correct=correct)
        train_loss = float(loss_sum) / steps_per_epoch
        dt = time.time() - t0
        point = {"epoch": epoch + 1, "step": (epoch + 1) * steps_per_epoch, "train_loss": train_loss,
                 "train_top1": float(correct) / (steps_per_epoch * bs) * 100, "lr": sched.get_last_lr()[0],
                 "epoch_time_s": round(dt, 3),
                 "images_per_s": round((steps_per_epoch - first) * bs / dt, 1) if dt > 0 else None}
        if due(eval_every, epoch + 1, epochs):
            with run.untimed():
                ev = evaluate_dataset(model, test, mean, std, device, bf16, channels_last)
            point.update(test_top1=ev["top1"], test_top5=ev["top5"])
        run.add_point(point, f"teacher epoch {epoch + 1}/{epochs}")
        run.boundary({"epoch": epoch + 1, "step": 0}, save=True, gen_state=None, loss_sum=None, correct=None)
    train_time = run.train_time

    metrics = evaluate_dataset(model, test, mean, std, device, bf16, channels_last)
    curve = run.curve
    if curve:
        curve[-1].update(test_top1=metrics["top1"], test_top5=metrics["top5"])
    image_size = int(test.load_batch([0]).shape[-1])
    metrics.update({
        "arch": cfg["arch"], "dataset": job["dataset"], "dataset_label": label(job["dataset"]),
        "classes": list(train.classes), "num_params": param_count(model), "image_size": image_size,
        "train_images": n_train, "epochs": epochs, "steps": total, "train_time_s": round(train_time, 3),
        "bf16": bf16, "channels_last": channels_last, "curve": curve, "resumes": run.resumes,
        "warnings": [w for w in (run.extras["time_warning"],) if w],
        "provenance": {**provenance(job, scale=job.get("scale"), seed=seed, device=device, started=started),
                       "data": {**mirror_record(job.get("mirror")), "dataset": dataset_record(job["dataset"])}},
    })
    scores = ("no labels" if metrics["top1"] is None else
              f"test top-1 {metrics['top1']:.2f}%, top-5 {metrics['top5']:.2f}%")
    print(f"teacher finished: {scores} on {metrics['n']} "
          f"test images of {job['dataset']} ({cfg['arch']}, {n_train} training images at {image_size} px)", flush=True)
    return run.finalize(metrics, {"model.pt": lambda path: save_model(
        path, model, arch=cfg["arch"], num_classes=train.num_classes, in_chans=in_chans, dataset=job["dataset"],
        mean=list(mean), std=list(std), classes=list(train.classes), image_size=image_size)})


def _epoch_order(n: int, needed: int, gen: torch.Generator) -> torch.Tensor:
    """Enough shuffled indices for one epoch of `needed` samples (several passes if needed > n)."""
    reps = -(-needed // n)
    return torch.cat([torch.randperm(n, generator=gen) for _ in range(reps)])[:needed]
