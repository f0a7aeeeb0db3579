"""Video engines (Table 6): the X3D teacher's evaluation, and single-image video distillation.

`video_teacher(job, out_dir)`: the teacher, from pytorchvideo's Kinetics-400 weights (source "hub") or a
user checkpoint (source "checkpoint:PATH": our model.pt, a state dict, or the official Lightning checkpoint
whose keys start with "model."), evaluated on the target test set; writes model.pt and metrics.json.
"finetune:hub" (or "finetune:checkpoint:PATH" of a Kinetics model) first fine-tunes it on the target's
training split with a new head (the paper's UCF-101 teacher; its recipe is not given: video.finetune): one
random clip per video and epoch (frames x stride at the nominal fps), the training transform below
without AugMix and CutMix, cross-entropy.

`video_distill(job, out_dir)`: the official recipe (video/distiller.py). Every step one batch of fake
clips (augprior.video.fakevideo) goes through the official training transform, per clip on the CPU in
loader workers: 4 consecutive frames at a random start (a random 4/12-s window of the 12-fps clip,
UniformTemporalSubsample(4)), AugMix (pytorchvideo), /255, normalise (mean 0.45, std 0.225), a random
shorter side in [183, 229] (bilinear), a random 160 x 160 crop, a horizontal flip with p = 0.5; then
CutMix on the batch (lam ~ Beta(1, 1), a random partner, the same box on every frame). Teacher (eval,
no grad) and student see the same batch; the loss is KD at T = 5 (augprior.losses, batchmean, no T^2);
AdamW lr 1e-3, no weight decay, linear warm-up for 5 epochs then cosine (per step; the official
pl_bolts scheduler steps per epoch and starts at lr 0), 400 epochs at batch 256 (128 per GPU on two).
Deviation: the official cutmix indexes dims 2, 3 of (B, C, T, H, W), i.e. time and height; here the box
is spatial (height and width) over all frames, as CutMix is meant.

Evaluation (both engines): 10 temporal clips per test video (augprior.video.datasets.test_clips), shorter
side 183, centre crop 160, softmax averaged over the clips; top-1 / top-5 per video.

Both run in augprior.runner.ResumableRun (state.pt, exact resume: every random draw is a function of
(seed, epoch, step) or (seed, epoch, clip), whatever the worker count; SIGTERM checkpoints and exits 143).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import losses, manifest, options
from ..checkpoint import load_model, save_model
from ..models import CheckpointError, build_model, load_checkpoint_into, param_count
from ..models.x3d import x3d_config
from ..provenance import provenance
from ..runner import ResumableRun, due
from ..runtime import autocast, num_threads, progress, select_device, use_bf16
from ..training_inputs import derive_seed, generator
from .datasets import LABELS, NOMINAL_FPS, VideoDataset, decode_video, load_video_dataset, resize_center_crop, test_clips
from .fakevideo import FakeVideos, FakeVideoSpec, load_fakevideos, load_image

STATE_VERSION = 1
MEAN, STD = (0.45, 0.45, 0.45), (0.225, 0.225, 0.225)
TAG_CLIP, TAG_ORDER, TAG_CUTMIX = 11, 12, 13
LOSS_HINT = "lower video.lr, or try precision fp32"
OPERATIONAL_KEYS = ("eval_every", "eval_subset", "checkpoint_every_steps", "workers", "test_batch_size")


def enable_augmix():
    """pytorchvideo 0.1.5's AugMix imports torchvision.transforms.functional_tensor, which torchvision
    renamed to _functional_tensor (same functions); alias it, then import AugMix."""
    import torchvision.transforms

    if "torchvision.transforms.functional_tensor" not in sys.modules:
        from torchvision.transforms import _functional_tensor

        sys.modules["torchvision.transforms.functional_tensor"] = _functional_tensor
    from pytorchvideo.transforms import AugMix

    del torchvision
    return AugMix


def resolve_config(cfg: dict[str, Any] | None) -> dict[str, Any]:
    return options.resolve(options.VideoOptions, cfg, "video")


def data_root(job: dict[str, Any]) -> Path:
    """The dataset folder: job["data_root"], else <mirror>/data/<dataset>."""
    if job.get("data_root"):
        return Path(job["data_root"]).expanduser()
    mirror = manifest.mirror_dir(job.get("mirror"))
    name = job["dataset"]
    if mirror is None:
        raise manifest.DataError(f"{LABELS.get(name, name)}: no folder given (table6.roots.{name}) and no mirror "
                                 f"(export {manifest.MIRROR_ENV}=/path/to/mirror, holding data/{name}/)")
    return mirror / "data" / name


def clip_seconds(dataset: str, frames: int, stride: int) -> float:
    return frames * stride / NOMINAL_FPS[dataset]


# ---------------------------------------------------------------------------- evaluation

class _TestClips(torch.utils.data.Dataset):
    def __init__(self, data: VideoDataset, frames: int, crop: int, cfg: dict[str, Any]):
        self.data, self.frames, self.crop, self.cfg = data, frames, crop, cfg
        self.seconds = clip_seconds(data.name, frames, cfg["test_stride"])

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int):
        frames, times = decode_video(self.data.paths[i], self.cfg["test_short_side"])
        clips = test_clips(frames, times, clips=self.cfg["test_clips"], frames_per_clip=self.frames,
                           clip_seconds=self.seconds)
        x = resize_center_crop(torch.from_numpy(clips), self.cfg["test_short_side"], self.crop)
        return normalize(x), int(self.data.labels[i])


def normalize(x: torch.Tensor) -> torch.Tensor:
    """(..., 3, T, H, W) in [0, 1] -> normalised with the Kinetics statistics of the official code."""
    shape = (3, 1, 1, 1)
    return (x - torch.tensor(MEAN, dtype=x.dtype, device=x.device).view(shape)) / \
        torch.tensor(STD, dtype=x.dtype, device=x.device).view(shape)


@torch.no_grad()
def predict_videos(model: torch.nn.Module, data: VideoDataset, cfg: dict[str, Any], device: torch.device,
                   bf16: bool, frames: int, crop: int) -> torch.Tensor:
    """Per-video class probabilities (float32, CPU): softmax averaged over the test clips."""
    was = model.training
    model.eval()
    loader = torch.utils.data.DataLoader(_TestClips(data, frames, crop, cfg), batch_size=cfg["test_batch_size"],
                                         num_workers=cfg["workers"], shuffle=False)
    out = []
    for x, _ in progress(loader, desc="video test", leave=False):
        b, c = x.shape[:2]
        x = x.flatten(0, 1).to(device, non_blocking=True)
        with autocast(device, bf16):
            logits = model(x).float()
        out.append(logits.softmax(1).view(b, c, -1).mean(1).cpu())
    model.train(was)
    return torch.cat(out)


def video_metrics(probs: torch.Tensor, labels: torch.Tensor, reference: torch.Tensor | None = None) -> dict:
    from ..evaluate import accuracy_metrics

    out = accuracy_metrics(probs, labels, probs.shape[1])
    if reference is not None:
        out["agreement"] = float((probs.argmax(1) == reference.argmax(1)).float().mean() * 100)
    return out


def _test_set(job: dict[str, Any], cfg: dict[str, Any]) -> VideoDataset:
    data = load_video_dataset(job["dataset"], data_root(job), "test")
    return data.subset(cfg["eval_subset"]) if cfg["eval_subset"] else data


def _test_desc(data: VideoDataset) -> dict[str, Any]:
    return {"dataset": data.name, "split": data.split, "videos": len(data), "missing_on_disk": data.missing,
            "root": data.root, **data.extra}


# ---------------------------------------------------------------------------- the teacher

def load_teacher(source: str, arch: str, num_classes: int) -> torch.nn.Module:
    """The teacher network from `source`: "hub" (Kinetics-400 weights) or "checkpoint:PATH"."""
    if source == "hub":
        if num_classes != 400:
            raise ValueError(f"the pytorchvideo hub X3D-XS is a Kinetics-400 model (400 classes); this dataset has "
                             f"{num_classes}: give a fine-tuned checkpoint (checkpoint:PATH) instead")
        return build_model(arch, 400, pretrained=True)
    if source.startswith("checkpoint:"):
        path = Path(source.removeprefix("checkpoint:")).expanduser()
        try:
            model, meta = load_model(path)
        except CheckpointError:  # not our model file: a state dict (or Lightning checkpoint) for `arch`
            return load_checkpoint_into(build_model(arch, num_classes), path)
        if int(meta["num_classes"]) != num_classes:
            raise ValueError(f"teacher checkpoint {path} has {meta['num_classes']} classes, {num_classes} expected")
        return model
    raise ValueError(f"video teacher source must be 'hub' or 'checkpoint:PATH', not {source!r}")


def video_teacher(job: dict[str, Any], out_dir: str | os.PathLike) -> dict[str, Any]:
    """The teacher of job["source"] (hub | checkpoint:PATH | finetune:hub | finetune:checkpoint:PATH, the
    last two fine-tuned on the target's training split with video.finetune), evaluated on the test split."""
    started = time.time()
    cfg = resolve_config(job.get("video"))
    device = select_device(job.get("device") or "auto")
    bf16 = use_bf16(device, job.get("precision") or "auto")
    with num_threads(job.get("num_threads")), \
            ResumableRun(out_dir, kind="video teacher", version=STATE_VERSION, outputs=("model.pt",)) as run:
        test = _test_set(job, cfg)
        arch, source, seed = cfg["teacher"], job["source"], int(job.get("seed") or 0)
        xc = x3d_config(arch)
        finetune = source.startswith("finetune:")
        extra: dict[str, Any] = {}
        if finetune:
            torch.manual_seed(seed)
            model = load_teacher(source.removeprefix("finetune:"), arch, 400)
            head = model.blocks[-1].proj
            model.blocks[-1].proj = torch.nn.Linear(head.in_features, test.num_classes)
            model = model.to(device)
            extra = _finetune(run, model, job, cfg, test, device, bf16, seed, xc)
        else:
            model = load_teacher(source, arch, test.num_classes).to(device).eval()
            run.resume({"source": source, "dataset": job["dataset"]}, {}, {"done": 0})
        with run.untimed():
            probs = predict_videos(model, test, cfg, device, bf16, xc["frames"], xc["crop"])
        ev = video_metrics(probs, test.labels)
        metrics = {**ev, "dataset": job["dataset"], "arch": arch, "source": source,
                   "num_params": param_count(model), "test": _test_desc(test), "classes": test.classes,
                   "eval": {k: cfg[k] for k in ("test_clips", "test_short_side", "test_stride")}, **extra,
                   "provenance": provenance({**job, "video": cfg}, scale=job.get("scale"), seed=seed,
                                            device=device, started=started)}
        return run.finalize(metrics, {"model.pt": lambda p: save_model(
            p, model, arch=arch, num_classes=test.num_classes, in_chans=3, dataset=job["dataset"], mean=list(MEAN),
            std=list(STD), classes=test.classes)})


def _finetune(run: ResumableRun, model, job, cfg, test: VideoDataset, device, bf16, seed: int, xc) -> dict:
    """Supervised fine-tuning on the training split (cross-entropy; one random clip per video and epoch)."""
    from ..distill import make_optimizer, make_scheduler

    ft = cfg["finetune"]
    train = load_video_dataset(job["dataset"], data_root(job), "train")
    if train.classes != test.classes:
        raise manifest.DataError(f"{job['dataset']}: the training and test splits name different classes")
    bs = ft["batch_size"]
    steps = len(train) // bs
    if steps < 1:
        raise ValueError(f"video.finetune.batch_size {bs} is larger than the {len(train)} training videos")
    clips = RealTrainClips(train, seed, xc["frames"], xc["crop"], cfg)
    opt = make_optimizer(model, ft)
    sched = make_scheduler(opt, ft, steps)
    run.resume({"source": job["source"], "dataset": job["dataset"], "seed": seed, "finetune": ft,
                "train": {"short_side": cfg["short_side"], "hflip": cfg["hflip"], "stride": cfg["test_stride"]}},
               {"model": model, "optimizer": opt, "scheduler": sched}, {"epoch": 0, "step": 0}, loss_sum=0.0)

    def step_fn(batch, epoch: int, step: int) -> torch.Tensor:
        x, y = batch
        with autocast(device, bf16):
            logits = model(x.to(device, non_blocking=True))
        return torch.nn.functional.cross_entropy(logits.float(), y.to(device), label_smoothing=ft["label_smoothing"])

    def loader(epoch: int, first: int):
        return torch.utils.data.DataLoader(clips, batch_sampler=_EpochBatches(len(train), bs, seed, epoch, first),
                                           num_workers=cfg["workers"], pin_memory=device.type == "cuda")

    def score() -> dict[str, Any]:
        return video_metrics(predict_videos(model, test, cfg, device, bf16, xc["frames"], xc["crop"]), test.labels)

    train_loop(run, model, opt, sched, loader, step_fn, score, epochs=ft["epochs"], steps=steps, batch_size=bs,
               eval_every=cfg["eval_every"], checkpoint_every=cfg["checkpoint_every_steps"], label="video fine-tune")
    model.eval()
    return {"finetune": {**ft, "steps": ft["epochs"] * steps, "train_videos": len(train),
                         "train_time_s": round(run.train_time, 3)}, "curve": run.curve, "resumes": run.resumes}


# ---------------------------------------------------------------------------- distillation

def train_loop(run: ResumableRun, model, opt, sched, loader, step_fn, score, *, epochs: int, steps: int,
               batch_size: int, eval_every: int, checkpoint_every: int, label: str) -> None:
    """The epochs of a video engine from the run's position: `loader(epoch, first_step)` yields the
    batches of an epoch from that step on, `step_fn(batch, epoch, step)` returns the loss, this does the
    update, the loss checks, boundaries (state.pt), the curve and periodic `score()` evaluations."""
    start_epoch, start_step, loss_sum = run.position["epoch"], run.position["step"], run.extras["loss_sum"]
    for epoch in range(start_epoch, epochs):
        model.train()
        t0 = time.time()
        first = start_step if epoch == start_epoch else 0
        if first == 0:
            loss_sum = 0.0
        for step, batch in enumerate(progress(loader(epoch, first), desc=f"{label} epoch {epoch + 1}/{epochs}",
                                              leave=False, initial=first, total=steps), start=first):
            where = f"epoch {epoch + 1}, step {step + 1}/{steps}"
            loss = step_fn(batch, epoch, step)
            if not torch.isfinite(loss.detach()):
                raise run.loss_failure(f"loss is {float(loss)}", where, LOSS_HINT)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += run.check_loss(loss.detach(), where, LOSS_HINT)
            if step + 1 < steps:
                run.boundary({"epoch": epoch, "step": step + 1}, save=due(checkpoint_every, step + 1, steps),
                             loss_sum=loss_sum)
        dt = time.time() - t0
        point = {"epoch": epoch + 1, "step": (epoch + 1) * steps, "train_loss": loss_sum / steps,
                 "lr": sched.get_last_lr()[0], "epoch_time_s": round(dt, 3),
                 "clips_per_s": round((steps - first) * batch_size / dt, 1) if dt > 0 else None}
        if due(eval_every, epoch + 1, epochs):
            with run.untimed():
                ev = score()
            point.update(test_top1=ev["top1"], test_top5=ev["top5"], agreement=ev.get("agreement"))
        run.add_point(point, f"{label} epoch {epoch + 1}/{epochs}")
        run.boundary({"epoch": epoch + 1, "step": 0}, save=True, loss_sum=loss_sum)


def train_transform(clip: torch.Tensor, augmix, crop: int, cfg: dict[str, Any]) -> torch.Tensor:
    """uint8 (T, H, W, 3) -> normalised float (3, T, crop, crop): AugMix (if given), a random shorter side in
    cfg["short_side"], a random crop, a flip with p = 0.5 (if cfg["hflip"]); draws from torch's global RNG."""
    lo, hi = cfg["short_side"]
    x = clip.permute(0, 3, 1, 2)  # (T, C, H, W) uint8
    if augmix is not None:
        x = augmix(x)
    x = normalize(x.permute(1, 0, 2, 3).float().div_(255))  # (C, T, H, W)
    size = int(torch.randint(lo, hi + 1, (1,)))
    h, w = x.shape[-2:]
    nh, nw = (size, int(w * size / h)) if h <= w else (int(h * size / w), size)
    x = torch.nn.functional.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False)
    if nh < crop or nw < crop:
        raise ValueError(f"video.short_side {lo} is smaller than the crop {crop}")
    top = int(torch.randint(0, nh - crop + 1, (1,)))
    left = int(torch.randint(0, nw - crop + 1, (1,)))
    x = x[..., top:top + crop, left:left + crop]
    if cfg["hflip"] and float(torch.rand(1)) < 0.5:
        x = x.flip(-1)
    return x.contiguous()


class RealTrainClips(torch.utils.data.Dataset):
    """One random clip of training video `i` in epoch `e` (fine-tuning): a window of frames x test_stride
    frames at the nominal fps at a random start, subsampled to `frames`, then train_transform without AugMix."""

    def __init__(self, data: VideoDataset, seed: int, frames: int, crop: int, cfg: dict[str, Any]):
        self.data, self.seed, self.frames, self.crop, self.cfg = data, seed, frames, crop, cfg
        self.seconds = clip_seconds(data.name, frames, cfg["test_stride"])

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, int]:
        from .datasets import uniform_subsample

        epoch, i = key
        frames, times = decode_video(self.data.paths[i])
        t = times - times[0]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derive_seed(self.seed, TAG_CLIP, epoch, i))
            start = float(torch.rand(1)) * max(float(t[-1]) - self.seconds, 0.0)
            inside = np.nonzero((t >= start - 1e-6) & (t < start + self.seconds - 1e-6))[0]
            clip = torch.from_numpy(frames[inside[uniform_subsample(len(inside), self.frames)]])
            x = train_transform(clip, None, self.crop, self.cfg)
        return x, int(self.data.labels[i])


class TrainClips(torch.utils.data.Dataset):
    """Fake clip `i` of epoch `e` through the official training transform (module docstring); items are
    keyed (epoch, i) and every draw is seeded by (seed, epoch, i)."""

    def __init__(self, source, seed: int, frames: int, crop: int, cfg: dict[str, Any]):
        self.source, self.seed, self.frames, self.crop, self.cfg = source, seed, frames, crop, cfg
        self.augmix = enable_augmix()() if cfg["augmix"] else None

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, key: tuple[int, int]) -> torch.Tensor:
        epoch, i = key
        clip = torch.from_numpy(np.ascontiguousarray(self.source[i]))  # uint8 (T, S, S, 3)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derive_seed(self.seed, TAG_CLIP, epoch, i))
            n = clip.shape[0]
            if n >= self.frames:
                start = int(torch.randint(0, n - self.frames + 1, (1,)))
                clip = clip[start:start + self.frames]
            else:
                clip = clip[np.linspace(0, n - 1, self.frames).astype(np.int64)]
            x = train_transform(clip, self.augmix, self.crop, self.cfg)
        return x.contiguous()


def cutmix(x: torch.Tensor, gen: torch.Generator, beta: float) -> torch.Tensor:
    """CutMix of a clip batch (B, C, T, H, W) with a random partner: one box on every frame."""
    u = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=gen)))
    lam = float(u.beta(beta, beta))
    perm = torch.randperm(x.shape[0], generator=gen).to(x.device)
    h, w = x.shape[-2:]
    cut = np.sqrt(1.0 - lam)
    ch, cw = int(h * cut), int(w * cut)
    cy, cx = int(u.integers(h)), int(u.integers(w))
    y1, y2 = np.clip(cy - ch // 2, 0, h), np.clip(cy + ch // 2, 0, h)
    x1, x2 = np.clip(cx - cw // 2, 0, w), np.clip(cx + cw // 2, 0, w)
    x = x.clone()
    x[..., y1:y2, x1:x2] = x[perm][..., y1:y2, x1:x2]
    return x


class _EpochBatches(torch.utils.data.Sampler):
    """Batches of (epoch, clip) keys of one epoch from step `first` on (a seeded permutation per epoch)."""

    def __init__(self, n: int, batch_size: int, seed: int, epoch: int, first: int):
        self.n, self.bs, self.seed, self.epoch, self.first = n, batch_size, seed, epoch, first

    def __len__(self) -> int:
        return self.n // self.bs - self.first

    def __iter__(self):
        order = torch.randperm(self.n, generator=generator(self.seed, TAG_ORDER, self.epoch)).tolist()
        for s in range(self.first, self.n // self.bs):
            yield [(self.epoch, i) for i in order[s * self.bs:(s + 1) * self.bs]]


def fake_source(job: dict[str, Any], cfg: dict[str, Any]):
    """The fake clips: the stored set at job["fakevideos_path"], else rendered on the fly."""
    fake = cfg["fake"]
    if job.get("fakevideos_path"):
        arr, meta = load_fakevideos(job["fakevideos_path"])
        return arr, {"kind": "fakevideos", "path": job["fakevideos_path"], "num": meta["num"], **meta["spec"],
                     "image": meta.get("image"), "image_md5": meta.get("image_md5")}
    spec = FakeVideoSpec(frames=fake["frames"], size=fake["size"], initcrop=fake["initcrop"],
                         scale=tuple(fake["scale"]), seed=fake["seed"])
    pil, src = load_image(fake["image"], job.get("mirror"))
    clips = FakeVideos(pil, spec, fake["num"], src)
    return clips, clips.describe()


def video_distill(job: dict[str, Any], out_dir: str | os.PathLike) -> dict[str, Any]:
    started = time.time()
    cfg = resolve_config(job.get("video"))
    device = select_device(job.get("device") or "auto")
    bf16 = use_bf16(device, job.get("precision") or "auto")
    with num_threads(job.get("num_threads")), \
            ResumableRun(out_dir, kind="video distillation", version=STATE_VERSION, outputs=("student.pt",)) as run:
        return _distill(run, job, cfg, device, bf16, started)


def _distill(run: ResumableRun, job, cfg, device, bf16, started) -> dict[str, Any]:
    from ..distill import make_optimizer, make_scheduler

    seed = int(job["seed"])
    teacher, tmeta = load_model(job["teacher_path"], device)
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    num_classes = int(tmeta["num_classes"])
    tx, sx = x3d_config(tmeta["arch"]), x3d_config(cfg["student"])
    if (tx["frames"], tx["crop"]) != (sx["frames"], sx["crop"]):
        raise ValueError(f"teacher {tmeta['arch']} takes {tx['frames']} x {tx['crop']} px clips, student "
                         f"{cfg['student']} {sx['frames']} x {sx['crop']} px: they must see the same clips")
    frames, crop = tx["frames"], tx["crop"]
    test = _test_set(job, cfg)
    if test.num_classes != num_classes:
        raise ValueError(f"the teacher {job['teacher_path']} has {num_classes} classes, {job['dataset']} has "
                         f"{test.num_classes}")
    source, input_desc = fake_source(job, cfg)
    bs = cfg["batch_size"]
    steps = len(source) // bs
    if steps < 1:
        raise ValueError(f"video.batch_size {bs} is larger than the {len(source)} fake clips")
    clips = TrainClips(source, seed, frames, crop, cfg)

    torch.manual_seed(seed)
    student = build_model(cfg["student"], num_classes).to(device).train()
    opt = make_optimizer(student, cfg)
    sched = make_scheduler(opt, cfg, steps)
    run.resume({"seed": seed, "dataset": job["dataset"], "input": input_desc,
                "teacher_md5": manifest.md5sum(job["teacher_path"]),
                "video": {k: v for k, v in cfg.items() if k not in OPERATIONAL_KEYS}},
               {"model": student, "optimizer": opt, "scheduler": sched}, {"epoch": 0, "step": 0}, loss_sum=0.0)
    teacher_probs: list[torch.Tensor] = []

    def score() -> dict[str, Any]:
        if not teacher_probs:
            teacher_probs.append(predict_videos(teacher, test, cfg, device, bf16, frames, crop))
        return video_metrics(predict_videos(student, test, cfg, device, bf16, frames, crop), test.labels,
                             teacher_probs[0])

    def step_fn(x: torch.Tensor, epoch: int, step: int) -> torch.Tensor:
        x = x.to(device, non_blocking=True)
        if cfg["cutmix"]:
            x = cutmix(x, generator(seed, TAG_CUTMIX, epoch, step), cfg["cutmix_beta"])
        with torch.no_grad(), autocast(device, bf16):
            t_logits = teacher(x)
        target = losses.prepare_targets(t_logits, loss="kd", signal="full", temperature=cfg["temperature"])
        with autocast(device, bf16):
            s_logits = student(x)
        return losses.loss_from_targets(s_logits, target, loss="kd", temperature=cfg["temperature"])

    def loader(epoch: int, first: int):
        return torch.utils.data.DataLoader(clips, batch_sampler=_EpochBatches(len(source), bs, seed, epoch, first),
                                           num_workers=cfg["workers"], pin_memory=device.type == "cuda")

    train_loop(run, student, opt, sched, loader, step_fn, score, epochs=cfg["epochs"], steps=steps, batch_size=bs,
               eval_every=cfg["eval_every"], checkpoint_every=cfg["checkpoint_every_steps"], label="video distill")
    train_time = run.train_time
    with run.untimed():
        last = score()
    teacher_acc = video_metrics(teacher_probs[0], test.labels)
    if run.curve:
        run.curve[-1].update(test_top1=last["top1"], test_top5=last["top5"], agreement=last["agreement"])
    metrics = {
        **last, "teacher_top1": teacher_acc["top1"], "teacher_top5": teacher_acc["top5"],
        "dataset": job["dataset"], "student": cfg["student"], "teacher_arch": tmeta["arch"],
        "num_params": param_count(student), "teacher_num_params": param_count(teacher),
        "epochs": cfg["epochs"], "steps": cfg["epochs"] * steps, "steps_per_epoch": steps, "batch_size": bs,
        "train_time_s": round(train_time, 3), "input": input_desc, "test": _test_desc(test),
        "classes": test.classes, "frames": frames, "crop": crop, "bf16": bf16,
        "deviations": ["cutmix box over height and width (the official code's indexing cuts time x height)",
                       "fake clips kept as uint8 frames (the official script stores H.264 mp4s at 15 fps)",
                       "learning rate stepped per step (official: per epoch, from 0 in the first epoch)"],
        "config": cfg, "curve": run.curve, "resumes": run.resumes,
        "provenance": provenance({**job, "video": cfg}, scale=job.get("scale"), seed=seed, device=device,
                                 started=started),
    }
    return run.finalize(metrics, {"student.pt": lambda p: save_model(
        p, student, arch=cfg["student"], num_classes=num_classes, in_chans=3, dataset=job["dataset"],
        mean=list(MEAN), std=list(STD), classes=test.classes)})
