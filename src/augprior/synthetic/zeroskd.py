"""Zero-shot knowledge transfer with an adversarial generator ("ZeroSKD", Table 2; Micaelli &
Storkey, NeurIPS 2019, "Zero-shot Knowledge Transfer via Adversarial Belief Matching").

No real or patch images: a generator G maps noise z ~ N(0, I) to images, trained to make the
student disagree with the teacher; the student is trained to agree with the teacher on G's images.
As the authors' public code (polo5/ZeroShotKnowledgeTransfer, CIFAR-10 script) does, per iteration:
  1. z: a fresh batch (batch_size x z_dim) of N(0, 1).
  2. n_g generator steps on x = G(z): loss_G = -KL(p_T || p_S), Adam (lr_g), gradient norm
     clipped to 5; student and G in train mode (batch-norm batch statistics), teacher in eval mode.
  3. n_s student steps on the same x = G(z) (G fixed meanwhile; teacher outputs computed once):
     loss_S = KL(p_T || p_S) + beta * sum_g mean((a_S^g - a_T^g)^2), Adam (lr_s), gradient norm
     clipped to 5. a^g: the spatial attention map of group g's output (the 3 groups of a WRN /
     CIFAR ResNet; Zagoruyko & Komodakis' attention transfer): mean over channels of the squared
     activations, flattened and L2-normalised per image.
  4. both learning rates follow cosine annealing over `iterations` (stepped once per iteration).
p = softmax(logits / T) with T = `temperature` (1 in the paper). The KL is averaged as the
official code's `F.kl_div(..., reduction="mean")` of its PyTorch version: over batch AND classes
(= the per-image KL / num_classes; `kl_reduction="elementwise"`); beta = 250 is calibrated to that
scale. `kl_reduction="batchmean"` gives the per-image KL instead.
Paper / code defaults (CIFAR-10): 80K iterations, batch 128, n_g = 1, n_s = 10, z_dim 100,
lr_g 1e-3, lr_s 2e-3, beta 250, T 1. Teacher WRN-40-2 -> student WRN-40-1 is one of the paper's pairs.

Generator (the code's CIFAR generator): z -> Linear(z_dim, 128 * (S/4)^2) -> (128, S/4, S/4)
-> BN -> [nearest 2x upsample -> 3x3 conv 128 -> BN -> LeakyReLU 0.2] -> [upsample -> conv 64 ->
BN -> LeakyReLU] -> 3x3 conv to the image channels -> BN (affine). Its output goes to the
networks as it is (it lives in their normalised input space).

Entry point `zeroskd(job, out_dir, test_set=None) -> metrics`. The job dict:
  teacher_path   model file written by augprior.checkpoint.save_model (e.g. the teacher trainer's model.pt)
  dataset        test set for the final evaluation (default: the one recorded in the teacher file);
                 `test_set=` (anything augprior.evaluate.predict_dataset takes, with .labels and
                 .num_classes) replaces it, e.g. in tests
  seed, scale, device (auto|cpu|cuda[:N]), precision (auto|bf16|fp32), mirror, num_threads
  zeroskd        options of augprior.options.ZeroSKDOptions (missing keys take the paper's values)
Outputs in out_dir, all written atomically: student.pt (save_model format), generator.pt (its
state dict and config) and metrics.json (written last: the completion marker). state.pt holds the
full training state every `checkpoint_every` iterations, and after the current iteration when
SIGTERM / SIGINT arrives (exit status 143 / 130; augprior.runner); a rerun resumes from it and
ends identical to an uninterrupted run (z of iteration i is a pure function of (seed, i)).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
import types
from typing import Any, Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import manifest, options
from ..checkpoint import load_model, save_model, save_state
from ..models import build_model, param_count
from ..evaluate import collapse_warning
from ..provenance import dataset_record, mirror_record, provenance
from ..runner import ResumableRun, StudentEvaluator, check_teacher_dataset, dataset_mismatch_deviation, due
from ..runtime import autocast, log_warning, num_threads, progress, select_device, use_bf16

STATE_VERSION = 2  # state.pt format (2: augprior.runner's layout; version 1 files are refused)
TAG_Z = 0x25D  # stream of the per-iteration noise batches

# options of job["zeroskd"]: declared (paper defaults, bounds, descriptions) in augprior.options.ZeroSKDOptions
ZEROSKD_DEFAULTS: dict[str, Any] = options.defaults(options.ZeroSKDOptions)
# options that do not change what is trained: a saved state resumes even when they differ
OPERATIONAL_KEYS = ("log_every", "eval_every", "eval_subset", "checkpoint_every", "allow_dataset_mismatch")
KL_REDUCTIONS = options.choices(options.ZeroSKDOptions, "kl_reduction")
SCHEDULES = options.choices(options.ZeroSKDOptions, "lr_schedule")


def resolve_config(cfg: dict[str, Any] | None) -> dict[str, Any]:
    """ZeroSKDOptions' defaults overridden by `cfg`, validated; raises OptionsError (a ValueError) naming
    the bad key (zeroskd.n_s), its value and what was expected."""
    return options.resolve(options.ZeroSKDOptions, cfg, "zeroskd")


# ----------------------------------------------------------------------------- the networks

class Generator(nn.Module):
    """The zero-shot KT generator (CIFAR version of the official code), for img_size divisible by 4."""

    def __init__(self, z_dim: int = 100, img_size: int = 32, channels: int = 3):
        super().__init__()
        if img_size % 4:
            raise ValueError(f"generator image size must be divisible by 4, got {img_size}")
        s = img_size // 4
        self.z_dim, self.img_size, self.channels = z_dim, img_size, channels
        self.fc = nn.Linear(z_dim, 128 * s * s)
        self.body = nn.Sequential(
            nn.BatchNorm2d(128),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(128, 128, 3, 1, 1), nn.BatchNorm2d(128), nn.LeakyReLU(0.2, inplace=True),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(128, 64, 3, 1, 1), nn.BatchNorm2d(64), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(64, channels, 3, 1, 1),
            nn.BatchNorm2d(channels, affine=True),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        s = self.img_size // 4
        return self.body(self.fc(z).view(-1, 128, s, s))


def attention_groups(model: nn.Module) -> list[nn.Module]:
    """The last block of each group of a WRN / CIFAR ResNet (`model.blocks`, an nn.Sequential of
    blocks with a `conv1`): a group starts where a block changes the stride or the width."""
    blocks = getattr(model, "blocks", None)
    if not isinstance(blocks, nn.Sequential) or not all(hasattr(b, "conv1") for b in blocks):
        raise ValueError(f"attention transfer needs a WRN / CIFAR ResNet with .blocks (got {type(model).__name__}); "
                         "set zeroskd.beta to 0 for other architectures")
    ends = []
    for i, block in enumerate(blocks):
        conv = block.conv1
        if i > 0 and (tuple(conv.stride) != (1, 1) or conv.in_channels != conv.out_channels):
            ends.append(blocks[i - 1])
    ends.append(blocks[-1])
    return ends


class FeatureTap:
    """Forward hooks that collect the outputs of `modules` during forward passes while `active`."""

    def __init__(self, modules: list[nn.Module]):
        self.outputs: list[torch.Tensor] = []
        self.active = False
        self._handles = [m.register_forward_hook(self._hook) for m in modules]

    def _hook(self, _module, _inputs, output) -> None:
        if self.active:
            self.outputs.append(output)

    def take(self) -> list[torch.Tensor]:
        out, self.outputs = self.outputs, []
        return out

    def remove(self) -> None:
        for h in self._handles:
            h.remove()


def attention_map(x: torch.Tensor) -> torch.Tensor:
    """Spatial attention (B, H*W): channel mean of squared activations, L2-normalised per image."""
    return F.normalize(x.float().pow(2).mean(1).flatten(1), dim=1)


def attention_loss(student_feats: list[torch.Tensor], teacher_feats: list[torch.Tensor]) -> torch.Tensor:
    """Sum over groups of mean((a_S - a_T)^2)."""
    if len(student_feats) != len(teacher_feats):
        raise ValueError(f"student has {len(student_feats)} attention groups, teacher {len(teacher_feats)}")
    total = torch.zeros((), device=student_feats[0].device)
    for s, t in zip(student_feats, teacher_feats):
        if s.shape[-2:] != t.shape[-2:]:
            raise ValueError(f"attention maps differ in size: student {tuple(s.shape[-2:])}, teacher "
                             f"{tuple(t.shape[-2:])}; use a student of the teacher's family or beta = 0")
        total = total + (attention_map(s) - attention_map(t)).pow(2).mean()
    return total


def kl_divergence(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float,
                  reduction: str = "elementwise") -> torch.Tensor:
    """KL(softmax(t / T) || softmax(s / T)) in float32, averaged as `reduction` says (module docstring)."""
    log_p = F.log_softmax(student_logits.float() / temperature, dim=1)
    q = F.softmax(teacher_logits.float() / temperature, dim=1)
    kl = F.kl_div(log_p, q, reduction="sum") / student_logits.shape[0]
    return kl / student_logits.shape[1] if reduction == "elementwise" else kl


# ----------------------------------------------------------------------------- one iteration

LOSS_HINT = "lower zeroskd.lr_g / lr_s, or try precision fp32"


class ZeroShotStep:
    """One outer iteration: n_g generator steps, then n_s student steps on the same z.

    Returns a dict of float statistics: gen_kl (KL at the generator's first step, i.e. the
    student's disagreement with the teacher on fresh generated images), gen_agreement (top-1
    agreement there, in %), student_kl_first / student_kl_last (KL at the first / last student
    step), at_loss (attention term at the last student step, before beta) and student_loss.
    Raises FloatingPointError on a NaN or infinite loss, before the update.
    """

    def __init__(self, teacher: nn.Module, student: nn.Module, gen: Generator, opt_g, opt_s, cfg: dict[str, Any],
                 *, device: torch.device, bf16: bool):
        self.teacher, self.student, self.gen = teacher, student, gen
        self.opt_g, self.opt_s, self.cfg = opt_g, opt_s, cfg
        self.device, self.bf16 = device, bf16
        self.use_at = cfg["beta"] > 0
        self.t_tap = FeatureTap(attention_groups(teacher)) if self.use_at else None
        self.s_tap = FeatureTap(attention_groups(student)) if self.use_at else None

    def _kl(self, s: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return kl_divergence(s, t, self.cfg["temperature"], self.cfg["kl_reduction"])

    def _clip(self, module: nn.Module) -> None:
        if self.cfg["grad_clip"]:
            torch.nn.utils.clip_grad_norm_(module.parameters(), self.cfg["grad_clip"])

    @staticmethod
    def _check(loss: torch.Tensor, what: str) -> None:
        if not torch.isfinite(loss):
            raise FloatingPointError(f"{what} loss is {float(loss.detach())}")

    @contextlib.contextmanager
    def _tapping(self) -> Iterator[None]:
        """Record the attention groups' outputs for the duration (not during evaluation)."""
        taps = [t for t in (self.t_tap, self.s_tap) if t is not None]
        for tap in taps:
            tap.active, tap.outputs = True, []
        try:
            yield
        finally:
            for tap in taps:
                tap.active, tap.outputs = False, []

    def generator_step(self, z: torch.Tensor) -> tuple[float, float]:
        """One step maximising KL(teacher || student) on G(z); returns (KL before the step, agreement %)."""
        with self._tapping():
            return self._generator_step(z)

    def _generator_step(self, z: torch.Tensor) -> tuple[float, float]:
        x = self.gen(z)
        with autocast(self.device, self.bf16):
            s = self.student(x)
            t = self.teacher(x)
        if self.use_at:  # the generator's loss does not use the attention maps
            self.s_tap.take()
            self.t_tap.take()
        kl = self._kl(s, t)
        loss = -kl
        self._check(loss, "generator")
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward(inputs=list(self.gen.parameters()))  # no gradients for the student here
        self._clip(self.gen)
        self.opt_g.step()
        agree = float((s.argmax(1) == t.argmax(1)).float().mean() * 100)
        return float(kl.detach()), agree

    def student_steps(self, z: torch.Tensor) -> dict[str, float]:
        """n_s steps minimising KL + beta * attention loss on G(z) (G fixed)."""
        with self._tapping():
            return self._student_steps(z)

    def _student_steps(self, z: torch.Tensor) -> dict[str, float]:
        cfg = self.cfg
        with torch.no_grad():
            x = self.gen(z)
            with autocast(self.device, self.bf16):
                t_logits = self.teacher(x)
            t_feats = self.t_tap.take() if self.use_at else []
        out: dict[str, float] = {}
        for i in range(cfg["n_s"]):
            with autocast(self.device, self.bf16):
                s_logits = self.student(x)
            kl = self._kl(s_logits, t_logits)
            at = attention_loss(self.s_tap.take(), t_feats) if self.use_at else torch.zeros((), device=kl.device)
            loss = kl + cfg["beta"] * at
            self._check(loss, "student")
            self.opt_s.zero_grad(set_to_none=True)
            loss.backward()
            self._clip(self.student)
            self.opt_s.step()
            if i == 0:
                out["student_kl_first"] = float(kl.detach())
        out.update(student_kl_last=float(kl.detach()), at_loss=float(at.detach()), student_loss=float(loss.detach()))
        return out

    def __call__(self, z: torch.Tensor) -> dict[str, float]:
        self.gen.train()
        self.student.train()
        stats: dict[str, float] = {}
        for j in range(self.cfg["n_g"]):
            kl, agree = self.generator_step(z)
            if j == 0:
                stats.update(gen_kl=kl, gen_agreement=agree)
        stats.update(self.student_steps(z))
        return stats

    def close(self) -> None:
        for tap in (self.t_tap, self.s_tap):
            if tap is not None:
                tap.remove()


# ----------------------------------------------------------------------------- the run

def noise_batch(seed: int, iteration: int, batch_size: int, z_dim: int) -> torch.Tensor:
    """z of an iteration: a pure function of (seed, iteration) (drawn on the CPU)."""
    from ..training_inputs import generator

    return torch.randn(batch_size, z_dim, generator=generator(seed, TAG_Z, iteration))


def _cosine(total: int):
    return lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))


def zeroskd(job: dict[str, Any], out_dir: str | os.PathLike, *, test_set=None) -> dict[str, Any]:
    """Train a student from the teacher at job["teacher_path"] with an adversarial generator only
    (see the module docstring). Writes out_dir/student.pt, generator.pt, metrics.json. On SIGTERM /
    SIGINT it checkpoints after the current iteration and raises augprior.runner.Preempted."""
    started = time.time()
    cfg = resolve_config(job.get("zeroskd"))
    device = select_device(job.get("device") or "auto")
    bf16 = use_bf16(device, job.get("precision") or "auto")
    with num_threads(job.get("num_threads")), \
            ResumableRun(out_dir, kind="ZeroSKD", version=STATE_VERSION, outputs=("student.pt", "generator.pt")) as run:
        return _run(run, job, cfg, device=device, bf16=bf16, started=started, test_set=test_set)


def _run(run: ResumableRun, job, cfg, *, device: torch.device, bf16: bool, started: float,
         test_set) -> dict[str, Any]:
    seed = int(job["seed"])
    teacher, tmeta = load_model(job["teacher_path"], device)
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    num_classes, in_chans = int(tmeta["num_classes"]), int(tmeta["in_chans"])
    dataset = job.get("dataset") or tmeta.get("dataset")
    if "mean" in tmeta and "std" in tmeta:
        mean, std = tuple(tmeta["mean"]), tuple(tmeta["std"])
    else:
        from ..datasets import normalization

        mean, std = normalization(dataset)
    if test_set is None:
        if not dataset:
            raise ValueError("job['dataset'] is missing and the teacher file records no dataset")
        from ..datasets import load_dataset

        test_set = load_dataset(dataset, "test", job.get("mirror"))
    mismatch = check_teacher_dataset(job["teacher_path"], tmeta, dataset or tmeta.get("dataset") or "", test_set.num_classes,
                                     allow=bool(cfg.get("allow_dataset_mismatch")),
                                     option="zeroskd.allow_dataset_mismatch")
    if cfg["eval_subset"]:
        test_set = test_set.subset(cfg["eval_subset"])
    side = int(test_set.load_batch([0]).shape[-1]) if hasattr(test_set, "load_batch") else int(test_set.images.shape[-1])

    channels_last = bf16 or device.type == "cuda"  # measured faster there (as augprior.distill)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    teacher = teacher.to(memory_format=fmt)
    torch.manual_seed(seed)
    student = build_model(cfg["student"], num_classes, in_chans).to(device, memory_format=fmt).train()
    gen = Generator(cfg["z_dim"], side, in_chans).to(device, memory_format=fmt).train()
    opt_s = torch.optim.Adam(student.parameters(), lr=cfg["lr_s"])
    opt_g = torch.optim.Adam(gen.parameters(), lr=cfg["lr_g"])
    total = cfg["iterations"]
    lam = _cosine(total) if cfg["lr_schedule"] == "cosine" else (lambda step: 1.0)
    sched_s = torch.optim.lr_scheduler.LambdaLR(opt_s, lam)
    sched_g = torch.optim.lr_scheduler.LambdaLR(opt_g, lam)
    step_fn = ZeroShotStep(teacher, student, gen, opt_g, opt_s, cfg, device=device, bf16=bf16)

    run.resume({"seed": seed, "teacher_md5": manifest.md5sum(job["teacher_path"]), "side": side,
                "zeroskd": {k: v for k, v in cfg.items() if k not in OPERATIONAL_KEYS}},
               {"student": student, "generator": gen, "opt_s": opt_s, "opt_g": opt_g, "sched_s": sched_s,
                "sched_g": sched_g}, {"iteration": 0}, window=[])
    start, window = run.position["iteration"], run.extras["window"]
    score = StudentEvaluator(teacher, test_set, mean, std, device, bf16, channels_last)
    log_every = cfg["log_every"] or max(1, total // 100)
    try:
        for it in progress(range(start, total), desc="zeroskd", initial=start, total=total):
            z = noise_batch(seed, it, cfg["batch_size"], cfg["z_dim"]).to(device)
            try:
                stats = step_fn(z)
            except FloatingPointError as err:  # NaN / inf, raised before the update
                raise run.loss_failure(str(err), f"iteration {it + 1}/{total}", LOSS_HINT) from None
            if "student_loss" in stats:  # divergence
                run.check_loss(stats["student_loss"], f"iteration {it + 1}/{total}", LOSS_HINT)
            sched_s.step()
            sched_g.step()
            window.append(stats)
            done = it + 1
            if done % log_every == 0 or done == total:
                point = {"iteration": done, "lr_s": sched_s.get_last_lr()[0], "lr_g": sched_g.get_last_lr()[0],
                         **{k: sum(s[k] for s in window if k in s) / max(1, sum(k in s for s in window))
                            for k in window[0]}}
                window = []
                if due(cfg["eval_every"], done, total):
                    with run.untimed():
                        ev = score(student)
                    point.update(test_top1=ev["top1"], test_top5=ev["top5"], agreement=ev["agreement"])
                run.add_point(point)
            if done < total:
                run.boundary({"iteration": done}, save=due(cfg["checkpoint_every"], done, total), window=window)
        train_time = run.train_time
    finally:
        step_fn.close()

    last = score(student)
    curve = run.curve
    if curve:
        curve[-1].update(test_top1=last["top1"], test_top5=last["top5"], agreement=last["agreement"])
    teacher_acc = score.teacher_metrics()
    ran = total - start
    metrics: dict[str, Any] = {
        **last,
        "teacher_top1": teacher_acc["top1"], "teacher_top5": teacher_acc["top5"],
        "teacher_per_class_top1": teacher_acc["per_class_top1"],
        "method": "zeroskd", "classes": tmeta.get("classes"), "dataset": dataset, "student": cfg["student"],
        "teacher_arch": tmeta.get("arch"), "num_params": param_count(student), "generator_params": param_count(gen),
        "iterations": total, "batch_size": cfg["batch_size"], "image_side": side,
        "generated_images": total * cfg["batch_size"],
        "train_time_s": round(train_time, 3),
        "iterations_per_s": round(ran / train_time, 4) if train_time > 0 and ran > 0 else None,
        "bf16": bf16, "channels_last": channels_last,
        **({"dataset_mismatch": mismatch, "deviations": [dataset_mismatch_deviation(mismatch)]} if mismatch else {}),
        "config": cfg, "curve": curve, "resumes": run.resumes,
        "provenance": provenance({**job, "zeroskd": cfg}, scale=job.get("scale"), seed=seed, device=device,
                                 started=started),
    }
    metrics["warnings"] = [w for w in (collapse_warning(last["prediction_histogram"],
                                                        "the student's predictions on the test set put",
                                                        tmeta.get("classes")),) if w]
    for w in metrics["warnings"]:
        log_warning(w)
    metrics["provenance"]["data"] = {**mirror_record(job.get("mirror")), "dataset": dataset_record(dataset)}
    print(f"zeroskd finished: student top-1 {last['top1']:.2f}% on {last['n']} test images of {dataset} "
          f"(teacher {teacher_acc['top1']:.2f}%, agreement {last['agreement']:.2f}%)", flush=True)
    generator_blob = {"state_dict": {k: v.detach().cpu() for k, v in gen.state_dict().items()},
                      "z_dim": cfg["z_dim"], "img_size": side, "channels": in_chans}
    return run.finalize(metrics, {
        "student.pt": lambda path: save_model(path, student, arch=cfg["student"], num_classes=num_classes,
                                              in_chans=in_chans, dataset=dataset, mean=list(mean), std=list(std),
                                              classes=tmeta.get("classes")),
        "generator.pt": lambda path: save_state(path, generator_blob)})


class _CallableModule(types.ModuleType):
    """This module is callable: `from augprior.synthetic import zeroskd; zeroskd(job, out_dir)` runs
    `zeroskd.zeroskd`, while `zeroskd.Generator` etc. stay reachable (no function/module shadowing)."""

    def __call__(self, job: dict[str, Any], out_dir: str | os.PathLike, **kwargs: Any) -> dict[str, Any]:
        return zeroskd(job, out_dir, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
