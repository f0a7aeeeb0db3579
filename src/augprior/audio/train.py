"""The audio engines, in the project's resumable-run skeleton (augprior.runner):

- `train_audio_teacher(job, out_dir)`: supervised on the target's training clips (Adam, lr 1e-3, batch 128,
  L2 1e-4 on the convolutions), random 1-s crops, log-Mel on the device.
- `distill_audio(job, out_dir)`: KD (augprior.losses, temperature T) by function matching on random 1-s crops
  of the clip set (or of the target's own training clips: the full-data row), MixUp with lambda ~ U(0, 1)
  (the paper's small-scale MixUp), Adam lr 1e-3, batch 512.
- `evaluate_clips`: each whole test clip is cut into non-overlapping 1-s segments, the softmax outputs of
  its segments are averaged (paper Appendix C.2); top-1/top-5 of the averaged prediction.

The order and crops of epoch e come from a generator seeded by (seed, e); a mid-epoch state holds that
generator's state, so a resumed run continues the same stream.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..checkpoint import load_model, save_model
from ..evaluate import accuracy_metrics, agreement
from ..losses import distill_loss
from ..models import build_model, param_count
from ..provenance import provenance
from ..runner import ResumableRun, due
from ..runtime import progress, select_device
from .data import AudioDataset, label, load_audio_dataset
from .features import LogMel, segments

STATE_VERSION = 1
FORMAT = torch.channels_last  # 2x faster on CPUs for these few-channel convolutions (measured, 2 cores)
_NOT_RESULT = ("eval_every",)


class Waves:
    """Random fixed-length crops of a list of variable-length clips (a dataset's clips, or a clip set)."""

    def __init__(self, waves: list[np.ndarray] | np.ndarray, lengths: list[int] | None = None):
        self.waves = waves
        self.lengths = lengths if lengths is not None else [len(w) for w in waves]

    def __len__(self) -> int:
        return len(self.lengths)

    def crops(self, idx: torch.Tensor, crop: int, gen: torch.Generator) -> torch.Tensor:
        u = torch.rand(len(idx), generator=gen).tolist()
        out = np.zeros((len(idx), crop), np.float32)
        for j, (i, r) in enumerate(zip(idx.tolist(), u)):
            n = int(self.lengths[i])
            start = int(r * (max(0, n - crop) + 1))
            x = np.asarray(self.waves[i][start:min(n, start + crop)], dtype=np.float32)
            out[j, :len(x)] = x
        return torch.from_numpy(out)


@torch.no_grad()
def clip_logits(model: torch.nn.Module, feats: LogMel, test: AudioDataset, device: torch.device,
                seg_seconds: float = 1.0, batch: int = 512) -> torch.Tensor:
    """log of the mean softmax over the non-overlapping 1-s segments of each whole test clip (N, classes)."""
    was = model.training
    model.eval()
    seg = int(round(seg_seconds * test.sample_rate))
    pieces = [segments(torch.from_numpy(np.asarray(w, np.float32)), seg) for w in test.waves]
    owner = torch.cat([torch.full((len(p),), i) for i, p in enumerate(pieces)])
    allseg = torch.cat(pieces)
    probs = torch.cat([F.softmax(model(feats(allseg[i:i + batch].to(device))).float(), 1).cpu()
                       for i in range(0, len(allseg), batch)])
    mean = torch.zeros(len(pieces), probs.shape[1]).index_add_(0, owner, probs) / torch.bincount(owner)[:, None]
    model.train(was)
    return mean.clamp_min(1e-12).log()


def evaluate_clips(model, feats, test, device) -> tuple[dict[str, Any], torch.Tensor]:
    logits = clip_logits(model, feats, test, device)
    metrics = accuracy_metrics(logits, test.labels, test.num_classes)
    metrics["per_class_top1_by_name"] = dict(zip(test.classes, metrics["per_class_top1"]))
    metrics["eval"] = "mean softmax over the non-overlapping 1-s segments of each whole test clip"
    return metrics, logits


def _loop(run: ResumableRun, *, seed: int, epochs: int, steps: int, step_fn, desc: str) -> None:
    """The epoch/step loop shared by both engines: generator per epoch, checkpoint per epoch."""
    start_epoch, start_step = run.position["epoch"], run.position["step"]
    for epoch in range(start_epoch, epochs):
        t0 = time.time()
        gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        first = start_step if epoch == start_epoch else 0
        if first:
            gen.set_state(run.extras["gen_state"])
            loss_sum = run.extras["loss_sum"]
        else:
            loss_sum = 0.0
        for step in progress(range(first, steps), desc=f"{desc} epoch {epoch + 1}/{epochs}", leave=False,
                             initial=first, total=steps):
            loss = step_fn(gen, f"epoch {epoch + 1}, step {step + 1}/{steps}")
            loss_sum += loss
            if step + 1 < steps:
                run.boundary({"epoch": epoch, "step": step + 1}, gen_state=gen.get_state(), loss_sum=loss_sum)
        run.add_point({"epoch": epoch + 1, "step": (epoch + 1) * steps, "train_loss": loss_sum / steps,
                       "epoch_time_s": round(time.time() - t0, 3)}, f"{desc} epoch {epoch + 1}/{epochs}")
        yield epoch
        run.boundary({"epoch": epoch + 1, "step": 0}, save=True, gen_state=None, loss_sum=0.0)


def _fit(run: ResumableRun, model: torch.nn.Module, opt: torch.optim.Optimizer, cfg: dict[str, Any], *, seed: int,
         epochs: int, steps: int, batch_loss, desc: str, evaluate) -> None:
    """Train: each step minimises batch_loss(gen) + the L2 penalty; test top-1 every cfg.eval_every epochs."""
    def step(gen: torch.Generator, where: str) -> float:
        loss = batch_loss(gen)
        total = loss + model_l2(model, cfg["l2"])
        run.check_loss(total.detach(), where, f"lower the {desc} lr")
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        return float(loss.detach())

    for epoch in _loop(run, seed=seed, epochs=epochs, steps=steps, step_fn=step, desc=desc):
        if due(int(cfg.get("eval_every") or 0), epoch + 1, epochs):
            with run.untimed():
                run.curve[-1]["test_top1"] = evaluate()


def _setup(job: dict[str, Any]):
    device = select_device(job.get("device") or "auto")
    if job.get("num_threads"):
        torch.set_num_threads(int(job["num_threads"]))
    return device


def _resume_key(job: dict[str, Any], block: str) -> dict[str, Any]:
    cfg = {k: v for k, v in job[block].items() if k not in _NOT_RESULT}
    return {"dataset": job["dataset"], "seed": job["seed"], block: cfg, "source": job.get("source"),
            "teacher": job.get("teacher_path")}


def train_audio_teacher(job: dict[str, Any], out_dir: str | os.PathLike) -> dict[str, Any]:
    """Supervised audio teacher: out_dir/model.pt and metrics.json (test top-1 over whole clips)."""
    started = time.time()
    cfg, seed = job["audio_teacher"], int(job["seed"])
    device = _setup(job)
    with ResumableRun(out_dir, kind="audio teacher", version=STATE_VERSION, outputs=("model.pt",)) as run:
        train = load_audio_dataset(job["dataset"], "train", job.get("mirror"))
        test = load_audio_dataset(job["dataset"], "test", job.get("mirror"))
        if cfg.get("train_subset"):
            train = train.subset(cfg["train_subset"])
        waves = Waves(train.waves)
        labels = train.labels
        crop = int(round(cfg["crop_seconds"] * train.sample_rate))
        torch.manual_seed(seed)
        model = build_model(cfg["arch"], train.num_classes, 1).to(device, memory_format=FORMAT)
        feats = LogMel(train.sample_rate).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
        bs = cfg["batch_size"]
        steps = cfg.get("steps_per_epoch") or max(1, len(train) // bs)
        epochs = int(cfg["epochs"])
        run.resume(_resume_key(job, "audio_teacher"), {"model": model, "optimizer": opt}, {"epoch": 0, "step": 0},
                   gen_state=None, loss_sum=0.0)

        def batch_loss(gen: torch.Generator) -> torch.Tensor:
            idx = torch.randint(len(waves), (bs,), generator=gen)
            x = feats(waves.crops(idx, crop, gen).to(device))
            return F.cross_entropy(model(x), labels[idx].to(device))

        _fit(run, model, opt, cfg, seed=seed, epochs=epochs, steps=steps, batch_loss=batch_loss, desc="audio teacher",
             evaluate=lambda: evaluate_clips(model, feats, test, device)[0]["top1"])
        train_time = run.train_time
        metrics, _ = evaluate_clips(model, feats, test, device)
        if run.curve:
            run.curve[-1]["test_top1"] = metrics["top1"]
        metrics.update({
            "arch": cfg["arch"], "dataset": job["dataset"], "dataset_label": label(job["dataset"]),
            "classes": train.classes, "sample_rate": train.sample_rate, "num_params": param_count(model),
            "train_clips": len(train), "test_clips": len(test), "epochs": epochs, "steps": epochs * steps,
            "train_time_s": round(train_time, 3), "curve": run.curve, "resumes": run.resumes,
            "provenance": provenance(job, scale=job.get("scale"), seed=seed, device=device, started=started)})
        return run.finalize(metrics, {"model.pt": lambda path: save_model(
            path, model, arch=cfg["arch"], num_classes=train.num_classes, in_chans=1, dataset=job["dataset"],
            classes=train.classes, sample_rate=train.sample_rate)})


def model_l2(model: torch.nn.Module, rate: float) -> torch.Tensor:
    from .model import l2_penalty

    return l2_penalty(model, rate) if rate else torch.zeros(())


def _distill_source(job: dict[str, Any], train_rate: int):
    """(Waves, description) of the distillation data: a clip set, or `dataset:NAME` (the full-data row)."""
    if job.get("clips_path"):
        from .clipset import load_clip_set

        arr, meta = load_clip_set(job["clips_path"])
        if meta["sample_rate"] != train_rate:
            raise ValueError(f"{job['clips_path']}: clips at {meta['sample_rate']} Hz, the target is at {train_rate} Hz")
        return Waves(arr, meta["lengths"]), {"clips": meta["count"], "source": meta["source"],
                                             "source_description": meta["source_description"]}
    name = job["source"].removeprefix("dataset:")
    data = load_audio_dataset(name, "train", job.get("mirror"))
    if job["audio_distill"].get("full_data_subset"):
        data = data.subset(job["audio_distill"]["full_data_subset"])
    return Waves(data.waves), {"clips": len(data), "source": job["source"],
                               "source_description": f"the {label(name)} training clips (full data)"}


def distill_audio(job: dict[str, Any], out_dir: str | os.PathLike) -> dict[str, Any]:
    """KD of the audio teacher at job['teacher_path'] into a fresh student: student.pt and metrics.json."""
    started = time.time()
    cfg, seed = job["audio_distill"], int(job["seed"])
    device = _setup(job)
    with ResumableRun(out_dir, kind="audio distillation", version=STATE_VERSION, outputs=("student.pt",)) as run:
        teacher, tmeta = load_model(job["teacher_path"], device)
        teacher.requires_grad_(False)
        test = load_audio_dataset(job["dataset"], "test", job.get("mirror"))
        if int(tmeta["num_classes"]) != test.num_classes:
            raise ValueError(f"the teacher {job['teacher_path']} has {tmeta['num_classes']} classes, "
                             f"{job['dataset']} has {test.num_classes}")
        rate = int(tmeta.get("sample_rate") or test.sample_rate)
        waves, src = _distill_source(job, rate)
        crop = int(round(cfg["crop_seconds"] * rate))
        torch.manual_seed(seed)
        student = build_model(cfg["student"], test.num_classes, 1).to(device, memory_format=FORMAT)
        teacher = teacher.to(memory_format=FORMAT)
        feats = LogMel(rate).to(device)
        opt = torch.optim.Adam(student.parameters(), lr=cfg["lr"])
        bs = min(cfg["batch_size"], len(waves))
        steps = cfg.get("steps_per_epoch") or max(1, len(waves) // bs)
        epochs = int(cfg["epochs"])
        run.resume(_resume_key(job, "audio_distill"), {"model": student, "optimizer": opt}, {"epoch": 0, "step": 0},
                   gen_state=None, loss_sum=0.0)

        def batch_loss(gen: torch.Generator) -> torch.Tensor:
            idx = torch.randint(len(waves), (bs,), generator=gen)
            x = waves.crops(idx, crop, gen)
            if cfg["mixup"]:  # lambda ~ U(0, 1) per batch, partner = the batch reversed (augprior.augment)
                lam = float(torch.rand((), generator=gen))
                x = lam * x + (1 - lam) * x.flip(0)
            x = feats(x.to(device))
            with torch.no_grad():
                t = teacher(x)
            return distill_loss(student(x), t, loss="kd", temperature=cfg["temperature"])

        _fit(run, student, opt, cfg, seed=seed, epochs=epochs, steps=steps, batch_loss=batch_loss,
             desc="audio distill", evaluate=lambda: evaluate_clips(student, feats, test, device)[0]["top1"])
        train_time = run.train_time
        metrics, s_logits = evaluate_clips(student, feats, test, device)
        t_metrics, t_logits = evaluate_clips(teacher, feats, test, device)
        metrics["agreement"] = agreement(s_logits, t_logits)
        if run.curve:
            run.curve[-1]["test_top1"] = metrics["top1"]
        metrics.update({
            "teacher_top1": t_metrics["top1"], "student": cfg["student"], "teacher_arch": tmeta["arch"],
            "dataset": job["dataset"], "dataset_label": label(job["dataset"]), "sample_rate": rate, **src,
            "num_params": param_count(student), "epochs": epochs, "steps": epochs * steps,
            "train_time_s": round(train_time, 3), "curve": run.curve, "resumes": run.resumes,
            "provenance": provenance(job, scale=job.get("scale"), seed=seed, device=device, started=started)})
        return run.finalize(metrics, {"student.pt": lambda path: save_model(
            path, student, arch=cfg["student"], num_classes=test.num_classes, in_chans=1, dataset=job["dataset"],
            classes=test.classes, sample_rate=rate)})
