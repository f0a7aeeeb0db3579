"""Knowledge distillation by function matching (the paper's method; official CIFAR recipe by default).

Every step: one batch of inputs (patches, real images or noise; see augprior.training_inputs) is
augmented once on the device (augprior.augment: flip, pad-crop, ImageNet set, MixUp, CutMix);
the teacher (eval mode, no grad) and the student see that identical batch, one teacher forward
per step; the loss compares the student's output with the teacher's (augprior.losses: KD on
the full / top-k / argmax teacher signal, or L1 / L2 on temperature-scaled logits).

Entry point: `distill(job, out_dir) -> metrics`. The job dict:
  teacher_path   model file written by augprior.checkpoint.save_model (the teacher trainer's model.pt)
  patches_path   patch set (uint8 (N, P, P, 3) .npy); the default input
  input          optional input spec (augprior.training_inputs): patches / dataset / noise_uniform /
                 noise_normal / noise_mix; default {"kind": "patches", "path": patches_path}
  dataset        test set to evaluate on (default: the dataset recorded in the teacher file)
  seed           int; scale (recorded); device auto|cpu|cuda[:N]; precision auto|bf16|fp32;
  mirror         data mirror folder (else $AUGPRIOR_MIRROR); num_threads (torch CPU threads)
  distill        the options of augprior.options.DistillOptions (missing keys take the paper defaults);
                 distill.image_size: side of imagefolder: inputs and test images (default: augment.rrc_size
                 with a random resized crop, else the side the teacher was trained at, recorded in its
                 model file, else its architecture's input size: 32 CIFAR-style, 224 otherwise)

Outputs in out_dir: student.pt (save_model format) and metrics.json, both written atomically and
only once the run has finished (metrics.json last); state.pt while running: the full training
state (model, optimizer, scheduler, global RNG states, position, curve), written atomically at
the end of every epoch and every `checkpoint_every_steps` steps, and at the next step when
SIGTERM / SIGINT arrives (the run then exits with status 143 / 130; augprior.runner). A rerun
resumes from it and ends bit-identical to an uninterrupted run (same machine, threads and
precision; all per-step random draws are pure functions of (seed, epoch, step), see
augprior.training_inputs.derive_seed).

Under torchrun (WORLD_SIZE > 1) the run is data-parallel (augprior.distributed: DDP, each rank its slice
of every global batch, rank 0 writes); metrics.json records world_size and images_per_s_per_device.

metrics.json also says whether the run collapsed: the teacher's top-1 class histogram over every
training input it labelled (`teacher_top1_histogram`) and the student's predicted-class histogram
on the test set (`student_prediction_histogram`); either one with more than half its mass on one
class is a warning (in `warnings`, the log and the table's notes). A run whose first steps predict
an epoch far longer than its scale allows (runtime.EPOCH_TIME_BUDGET_S) warns at the start.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from typing import Any, Callable, Iterator

import torch

from . import augment, distributed, losses, manifest, options, teacher as supervised
from .checkpoint import load_model, save_model
from .evaluate import collapse_warning
from .training_inputs import TAG_AUGMENT, Inputs, build_inputs, describe_spec, generator, input_spec
from .models import build_model, default_input_size, param_count
from .provenance import provenance
from .runner import ResumableRun, StudentEvaluator, check_teacher_dataset, dataset_mismatch_deviation, due
from .runtime import EpochEstimate, autocast, log_warning, num_threads, progress, select_device, use_bf16

STATE_VERSION = 2  # state.pt format (2: augprior.runner's layout; version 1 files are refused)

# Options of job["distill"]: declared (defaults = the paper's CIFAR values, bounds, descriptions) in
# augprior.options.DistillOptions; this dict is derived from it.
DISTILL_DEFAULTS: dict[str, Any] = options.defaults(options.DistillOptions)
# Options that do not change what is trained: a saved state resumes even when they differ.
OPERATIONAL_KEYS = ("eval_every", "eval_subset", "checkpoint_every_steps", "compile", "channels_last", "deterministic",
                    "allow_dataset_mismatch")
OPTIMIZERS = options.choices(options.DistillOptions, "optimizer")
SCHEDULES = options.choices(options.DistillOptions, "lr_schedule")
CACHE_DEVIATION = ("cache_teacher_logits: teacher outputs computed once per un-augmented input and "
                   "mixed like the inputs; the student sees augmented inputs (not function matching)")


def resolve_config(cfg: dict[str, Any] | None) -> dict[str, Any]:
    """DistillOptions' defaults overridden by `cfg`, validated; raises OptionsError (a ValueError) naming
    the bad key (distill.batch_size), its value and what was expected."""
    return options.resolve(options.DistillOptions, cfg, "distill")


def lr_lambda(schedule: str, warmup_steps: int, total_steps: int) -> Callable[[int], float]:
    """LR factor after `step` optimizer steps: linear warm-up, then constant / cosine / linear to 0."""
    if schedule == "paper":
        raise ValueError("lr_schedule 'paper' depends on the student's family: build it with make_scheduler")
    if schedule not in SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {', '.join(SCHEDULES)}, not {schedule!r}")

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        if schedule == "constant":
            return 1.0
        progress_ = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        if schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * progress_))
        return 1.0 - progress_

    return factor


def make_optimizer(model: torch.nn.Module, cfg: dict[str, Any]) -> torch.optim.Optimizer:
    if cfg["optimizer"] == "sgd":  # the teacher's SGD; the paper schedule picks Nesterov per family
        sgd = {k: cfg.get(k, options.DistillOptions.model_fields[k].default) for k in ("momentum", "nesterov")}
        if cfg["lr_schedule"] == "paper":
            sgd["nesterov"] = supervised.paper_nesterov(cfg["student"])
        return supervised.sgd(model, lr=cfg["lr"], weight_decay=cfg["weight_decay"], **sgd)
    cls = torch.optim.AdamW if cfg["optimizer"] == "adamw" else torch.optim.Adam
    return cls(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])


def make_scheduler(opt: torch.optim.Optimizer, cfg: dict[str, Any], steps_per_epoch: int):
    total = cfg["epochs"] * steps_per_epoch
    if cfg["lr_schedule"] == "paper":  # the teacher's step schedule of the student's family (Appendix C.4.2)
        return torch.optim.lr_scheduler.LambdaLR(opt, supervised.lr_factor("paper", cfg["student"], cfg["lr"], total))
    warm = int(round(cfg["warmup_epochs"] * steps_per_epoch))
    return torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(cfg["lr_schedule"], warm, total))


def fold_batchnorm(model: torch.nn.Module) -> tuple[torch.nn.Module, int]:
    """An inference copy of `model` with every BatchNorm that directly follows a convolution folded
    into it (torch.fx; eval-mode BN is an affine map, so this is exact up to float rounding).
    Returns (model, number of folded BN layers); (model, 0) when it cannot be traced."""
    from torch.fx.experimental.optimization import fuse

    bn_types = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)
    before = sum(isinstance(m, bn_types) for m in model.modules())
    try:
        fused = fuse(model.eval())
    except Exception:  # noqa: BLE001 - fx cannot trace data-dependent control flow: keep the model
        return model, 0
    for p in fused.parameters():
        p.requires_grad_(False)
    return fused.eval(), before - sum(isinstance(m, bn_types) for m in fused.modules())


def prepare_pixels(images: torch.Tensor, device: torch.device, channels_last: bool, in_chans: int) -> torch.Tensor:
    """A batch as float32 pixel units on the device ((N, in_chans, H, W)); RGB inputs for a
    1-channel teacher become their luma, 1-channel inputs for an RGB teacher are replicated."""
    x = images.to(device, non_blocking=True)
    x = x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()
    if x.shape[1] != in_chans:
        if in_chans == 1 and x.shape[1] == 3:
            x = augment.rgb_to_grayscale(x)
        elif in_chans == 3 and x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        else:
            raise ValueError(f"inputs have {x.shape[1]} channels, the teacher expects {in_chans}")
    return x.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


LOSS_HINT = "lower distill.lr, or try precision fp32"


class TrainStep:
    """One distillation step on a batch in pixel units: augment, teacher forward (no grad, eval mode),
    student forward/backward, optimizer and scheduler step. Returns the loss (float32, detached).

    With `target_cache` (cached teacher outputs, `cache_teacher_logits`), `idx` picks the cached
    targets of the batch, mixed like the inputs, and the teacher is not run.
    Raises FloatingPointError before the update if the loss is NaN or infinite.
    """

    def __init__(self, teacher: torch.nn.Module, student: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 scheduler, cfg: dict[str, Any], *, device: torch.device, bf16: bool, mean, std,
                 target_cache: torch.Tensor | None = None, compile: bool = False,
                 dist: distributed.Dist = distributed.SINGLE):
        self.teacher, self.student, self.dist = teacher, student, dist
        # data-parallel: the forward/backward runs through DDP (gradients averaged over the ranks)
        forward = torch.nn.parallel.DistributedDataParallel(
            student, device_ids=[device.index] if device.type == "cuda" else None) if dist.enabled else student
        self.teacher_fwd = torch.compile(teacher) if compile else teacher
        self.student_fwd = torch.compile(forward) if compile else forward
        self.optimizer, self.scheduler, self.cfg = optimizer, scheduler, cfg
        self.aug = cfg["augment"]
        self.device, self.bf16, self.mean, self.std = device, bf16, mean, std
        self.target_cache = target_cache
        self.histogram: torch.Tensor | None = None  # the teacher's top-1 class counts over the inputs it labelled

    def targets(self, x: torch.Tensor, lams: list[float], idx: torch.Tensor | None) -> torch.Tensor:
        cfg = self.cfg
        if self.target_cache is not None:
            if idx is None:
                raise ValueError("cached teacher outputs need an indexed input (a fixed image set)")
            cached = self.target_cache[idx.to(self.target_cache.device)].to(self.device)
            return losses.mix_targets(cached, lams)
        with torch.no_grad(), autocast(self.device, self.bf16):
            t_logits = self.teacher_fwd(x)
        return losses.prepare_targets(t_logits, loss=cfg["loss"], signal=cfg["signal"],
                                      temperature=cfg["temperature"], topk=cfg["topk"])

    def __call__(self, pixels: torch.Tensor, gen: torch.Generator, idx: torch.Tensor | None = None) -> torch.Tensor:
        cfg = self.cfg
        x, lams = augment.augment_batch(pixels, self.aug, gen, self.mean, self.std)
        targets = self.targets(x, lams, idx)
        if self.histogram is not None:  # index_add_: no device sync (bincount would wait for the GPU)
            top1 = targets.argmax(1)
            counts = torch.zeros_like(self.histogram) if self.dist.enabled else self.histogram
            counts.index_add_(0, top1.to(self.histogram.device),
                              torch.ones_like(top1, dtype=self.histogram.dtype, device=self.histogram.device))
            if self.dist.enabled:  # every rank holds the histogram over all ranks' inputs
                self.histogram += self.dist.sum_(counts)
        with autocast(self.device, self.bf16):
            s_logits = self.student_fwd(x)
        loss = losses.loss_from_targets(s_logits, targets, loss=cfg["loss"], temperature=cfg["temperature"],
                                        t2_factor=cfg["t2_factor"])
        value = loss.detach()
        if self.dist.enabled:  # the global batch's loss on every rank: a bad loss stops them all here
            value = self.dist.mean_(value.float().clone())
        if not torch.isfinite(value):
            raise FloatingPointError(f"loss is {float(value)}")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        return value


@contextlib.contextmanager
def deterministic_mode(enabled: bool) -> Iterator[None]:
    """torch.use_deterministic_algorithms (and cuDNN determinism) for the duration, then restored."""
    if not enabled:
        yield
        return
    prev = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic,
            torch.backends.cudnn.benchmark)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev[0])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = prev[1], prev[2]


def _load_test(dataset: str, mirror, size: int):
    """The test split; `size` is the side of imagefolder: datasets (others have a fixed size)."""
    from .datasets import load_dataset, takes_size

    if takes_size(dataset):
        return load_dataset(dataset, "test", mirror, size=size)
    return load_dataset(dataset, "test", mirror)


@torch.no_grad()
def _cache_targets(teacher, inputs: Inputs, cfg, device, bf16, channels_last, in_chans, mean, std,
                   out_side: int) -> torch.Tensor:
    """Prepared teacher targets (CPU float32) of every un-augmented input, in index order."""
    rows = []
    n, bs = len(inputs), inputs.batch_size  # type: ignore[arg-type]
    for start in progress(range(0, n, bs), desc="teacher outputs (cache)", leave=False):
        x = prepare_pixels(inputs.load(torch.arange(start, min(n, start + bs))), device, channels_last, in_chans)
        if x.shape[-1] != out_side:  # centre crop / resize to the training side
            x = torch.nn.functional.interpolate(x, size=(out_side, out_side), mode="bicubic", align_corners=False,
                                                antialias=True).clamp_(0, 1)
        with autocast(device, bf16):
            t = teacher(augment.normalize(x, mean, std))
        rows.append(losses.prepare_targets(t, loss=cfg["loss"], signal=cfg["signal"], temperature=cfg["temperature"],
                                           topk=cfg["topk"]).cpu())
    return torch.cat(rows)


def _data_read(job: dict[str, Any], spec: dict[str, Any], dataset: str) -> dict[str, Any]:
    """provenance["data"]: the mirror (and where it came from), the test dataset's md5s / fingerprint, and
    the distillation inputs: a patch set's md5 and source image, or a dataset's md5s / fingerprint."""
    from .provenance import dataset_record, mirror_record, patch_set_record

    out: dict[str, Any] = {**mirror_record(job.get("mirror")), "dataset": dataset_record(dataset)}
    if spec["kind"] == "dataset":
        out["inputs"] = dataset_record(spec.get("name") or dataset)
    elif spec.get("path") is not None:
        out["inputs"] = patch_set_record(spec["path"])
    elif spec.get("on_the_fly") is not None:
        out["inputs"] = {"on_the_fly": describe_spec(spec)["on_the_fly"]}
    return out


def distill(job: dict[str, Any], out_dir: str | os.PathLike) -> dict[str, Any]:
    """Distil the teacher at job["teacher_path"] into a fresh student (see the module docstring).

    Writes out_dir/student.pt and out_dir/metrics.json; resumes from out_dir/state.pt. On SIGTERM /
    SIGINT it checkpoints at the next step and raises augprior.runner.Preempted (exit status 143 / 130).
    """
    started = time.time()
    cfg = resolve_config(job.get("distill"))
    device = select_device(job.get("device") or "auto")
    bf16 = use_bf16(device, job.get("precision") or "auto")
    channels_last = cfg["channels_last"] if cfg["channels_last"] is not None else (bf16 or device.type == "cuda")
    with distributed.context(device) as dist:
        device = dist.device(device)
        agree = (lambda stop: dist.any(stop, device)) if dist.enabled else None
        with deterministic_mode(cfg["deterministic"]), num_threads(job.get("num_threads")), \
                ResumableRun(out_dir, kind="distillation", version=STATE_VERSION, outputs=("student.pt",),
                             writer=dist.main, agree=agree) as run:
            return _distill(run, job, cfg, device=device, bf16=bf16, channels_last=channels_last, started=started,
                            dist=dist)


def _distill(run: ResumableRun, job, cfg, *, device: torch.device, bf16: bool, channels_last: bool,
             started: float, dist: distributed.Dist = distributed.SINGLE) -> dict[str, Any]:
    seed = int(job["seed"])
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    teacher, tmeta = load_model(job["teacher_path"], device)
    teacher = teacher.to(memory_format=fmt).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    num_classes, in_chans = int(tmeta["num_classes"]), int(tmeta["in_chans"])
    dataset = job.get("dataset") or tmeta.get("dataset")
    if not dataset:
        raise ValueError("job['dataset'] is missing and the teacher file records no dataset")
    if "mean" in tmeta and "std" in tmeta:
        mean, std = tuple(tmeta["mean"]), tuple(tmeta["std"])
    else:
        from .datasets import normalization

        mean, std = normalization(dataset)

    aug, bs = cfg["augment"], cfg["batch_size"]
    spec = input_spec(job)
    # imagefolder: images (test set and real-data inputs) at the side the teacher was trained at
    side = int(cfg.get("image_size") or job.get("image_size")
               or (aug["rrc_size"] if aug["random_resized_crop"] and aug["rrc_size"] else None)
               or tmeta.get("image_size") or default_input_size(tmeta.get("arch", cfg["student"])))
    if spec["kind"] == "dataset" and not spec.get("size") and str(spec.get("name") or dataset).startswith("imagefolder:"):
        spec["size"] = side
    test = _load_test(dataset, job.get("mirror"), side)
    if cfg["eval_subset"]:
        test = test.subset(cfg["eval_subset"])
    test_side = int(test.load_batch([0]).shape[-1])
    mismatch = check_teacher_dataset(job["teacher_path"], tmeta, dataset, test.num_classes,
                                     allow=bool(cfg.get("allow_dataset_mismatch")),
                                     option="distill.allow_dataset_mismatch")
    inputs = build_inputs(spec, batch_size=bs, seed=seed, dataset=dataset, mirror=job.get("mirror"),
                          default_shape=(in_chans, test_side, test_side), device=device).to(device)
    inputs = inputs.with_steps_per_epoch(cfg.get("steps_per_epoch"))
    if dist.enabled:
        inputs = inputs.shard(dist.rank, dist.world)
    steps = inputs.steps_per_epoch
    epochs = cfg["epochs"]
    train_side = augment.output_size(aug, int(inputs.shape[-1]))
    if cfg["cache_teacher_logits"] and not inputs.indexed:
        raise ValueError(f"distill.cache_teacher_logits needs a fixed input set (a patch file or a dataset); "
                         f"input kind {spec['kind']!r} draws fresh images every step")

    # the teacher that makes the training targets; the loaded one is kept for the reported test metrics
    target_teacher, folded = teacher, 0
    if cfg["fold_teacher_bn"]:
        target_teacher, folded = fold_batchnorm(teacher)
        target_teacher = target_teacher.to(memory_format=fmt)

    torch.manual_seed(seed)
    student = build_model(cfg["student"], num_classes, in_chans).to(device, memory_format=fmt).train()
    opt = make_optimizer(student, cfg)
    sched = make_scheduler(opt, cfg, steps)
    target_cache = None
    if cfg["cache_teacher_logits"]:
        target_cache = _cache_targets(target_teacher, inputs, cfg, device, bf16, channels_last, in_chans, mean, std,
                                      train_side)
    step_fn = TrainStep(target_teacher, student, opt, sched, cfg, device=device, bf16=bf16, mean=mean, std=std,
                        target_cache=target_cache, compile=cfg["compile"], dist=dist)

    input_desc = inputs.describe()
    teacher_side = tmeta.get("image_size") or default_input_size(tmeta.get("arch", cfg["student"]))
    if train_side > 2 * teacher_side:
        log_warning(f"the student trains on {train_side}-px inputs, the teacher was trained at {teacher_side} px: "
                    "every step costs far more than needed; set distill.image_size (--image-size) or resize the inputs")
    run.resume({"seed": seed, "dataset": dataset, "input": input_desc, "teacher_md5": manifest.md5sum(job["teacher_path"]),
                "distill": {k: v for k, v in cfg.items() if k not in OPERATIONAL_KEYS},
                **({"world_size": dist.world} if dist.enabled else {})},
               {"model": student, "optimizer": opt, "scheduler": sched}, {"epoch": 0, "step": 0}, loss_sum=0.0,
               teacher_histogram=torch.zeros(num_classes, dtype=torch.long), time_warning=None)
    step_fn.histogram = run.extras["teacher_histogram"] = run.extras["teacher_histogram"].to(device)
    score = StudentEvaluator(teacher, test, mean, std, device, bf16, channels_last)
    start_epoch, start_step, loss_sum = run.position["epoch"], run.position["step"], run.extras["loss_sum"]
    every = cfg["checkpoint_every_steps"]
    timer = EpochEstimate("distillation", job.get("scale"), steps, epochs, device,
                          f"inputs are {train_side} px, batch {bs}, student {cfg['student']}")

    def where(epoch: int, step: int) -> str:
        return f"epoch {epoch + 1}, step {step + 1}/{steps}"

    if cfg.get("eval_at_start") and not run.curve:  # a fresh run (a resumed one has the point already)
        with run.untimed():
            ev = score(student)
        run.add_point({"epoch": 0, "step": 0, "test_top1": ev["top1"], "test_top5": ev["top5"],
                       "agreement": ev["agreement"]}, "student at initialisation")
    for epoch in range(start_epoch, epochs):
        student.train()
        epoch_t0 = time.time()
        first = start_step if epoch == start_epoch else 0
        if first == 0:
            loss_sum = 0.0
        for step in progress(range(first, steps), desc=f"distill epoch {epoch + 1}/{epochs}", leave=False,
                             initial=first, total=steps):
            images, idx = inputs.batch(epoch, step)
            pixels = prepare_pixels(images, device, channels_last, in_chans)
            try:
                # each rank augments its slice from its own stream (augprior.distributed)
                keys = (epoch, step, dist.rank) if dist.enabled else (epoch, step)
                loss = step_fn(pixels, generator(seed, TAG_AUGMENT, *keys), idx)
            except FloatingPointError as err:  # NaN / inf, raised before the update
                raise run.loss_failure(str(err), where(epoch, step), LOSS_HINT) from None
            loss_sum += run.check_loss(loss, where(epoch, step), LOSS_HINT)  # divergence
            if timer.tick(last=epoch == epochs - 1 and step + 1 == steps):  # the first steps predict the epoch
                run.extras["time_warning"] = timer.warning
            if step + 1 < steps:
                run.boundary({"epoch": epoch, "step": step + 1}, save=due(every, step + 1, steps), loss_sum=loss_sum)
        dt = time.time() - epoch_t0
        point = {"epoch": epoch + 1, "step": (epoch + 1) * steps, "train_loss": loss_sum / steps,
                 "lr": sched.get_last_lr()[0], "epoch_time_s": round(dt, 3),
                 "samples_per_s": round((steps - first) * bs / dt, 1) if dt > 0 else None}
        if due(cfg["eval_every"], epoch + 1, epochs):
            with run.untimed():
                ev = score(student)
            point.update(test_top1=ev["top1"], test_top5=ev["top5"], agreement=ev["agreement"])
        run.add_point(point, f"distill epoch {epoch + 1}/{epochs}")
        run.boundary({"epoch": epoch + 1, "step": 0}, save=True, loss_sum=loss_sum)
    train_time = run.train_time

    last = score(student)
    curve = run.curve
    if curve:
        curve[-1].update(test_top1=last["top1"], test_top5=last["top5"], agreement=last["agreement"])
    evaluated = [p for p in curve if p.get("test_top1") is not None]
    best = max(evaluated, key=lambda p: p["test_top1"]) if evaluated else None
    teacher_acc = score.teacher_metrics()
    teacher_hist = run.extras["teacher_histogram"].cpu().tolist()
    warnings = [w for w in (run.extras["time_warning"],
                            collapse_warning(teacher_hist, "the teacher's top-1 on the distillation inputs put",
                                             test.classes),
                            collapse_warning(last["prediction_histogram"], "the student's predictions on the test set put",
                                             test.classes)) if w]
    for w in warnings[1 if run.extras["time_warning"] else 0:]:
        log_warning(w)
    deviations = [CACHE_DEVIATION] if cfg["cache_teacher_logits"] else []
    if mismatch:
        deviations.append(dataset_mismatch_deviation(mismatch))
    metrics: dict[str, Any] = {
        **last,  # the student at the end of training: what the tables use
        "last": {"epoch": epochs, "top1": last["top1"], "top5": last["top5"], "agreement": last["agreement"]},
        "best": ({"epoch": best["epoch"], "top1": best["test_top1"], "top5": best["test_top5"],
                  "agreement": best["agreement"]} if best else None),
        "teacher_top1": teacher_acc["top1"], "teacher_top5": teacher_acc["top5"],
        "teacher_per_class_top1": teacher_acc["per_class_top1"],
        "per_class_top1_by_name": dict(zip(test.classes, last["per_class_top1"])),
        "classes": list(test.classes), "dataset": dataset, "student": cfg["student"],
        "teacher_arch": tmeta.get("arch"), "num_params": param_count(student),
        "epochs": epochs, "steps": epochs * steps, "steps_per_epoch": steps, "batch_size": bs,
        "train_samples": epochs * steps * bs, "train_time_s": round(train_time, 3),
        "train_samples_per_s": round(epochs * steps * bs / train_time, 1) if train_time > 0 else None,
        "world_size": dist.world, "batch_size_per_device": bs // dist.world,
        "images_per_s_per_device": (round(epochs * steps * bs / train_time / dist.world, 1)
                                    if train_time > 0 else None),
        **({"distributed": dist.describe()} if dist.enabled else {}),
        "input": input_desc, "train_side": train_side, "test_side": test_side,
        "bf16": bf16, "channels_last": channels_last, "compiled": cfg["compile"], "teacher_bn_folded": folded,
        "deterministic": cfg["deterministic"], "function_matching": not cfg["cache_teacher_logits"],
        "deviations": deviations, **({"dataset_mismatch": mismatch} if mismatch else {}),
        "teacher_top1_histogram": teacher_hist, "student_prediction_histogram": last["prediction_histogram"],
        "warnings": warnings,
        "config": cfg, "curve": curve, "resumes": run.resumes,
        "provenance": {**provenance({**{k: v for k, v in job.items() if k != "input"}, "input": describe_spec(spec),
                                     "distill": cfg}, scale=job.get("scale"), seed=seed, device=device,
                                    started=started),
                       "data": _data_read(job, spec, dataset)},
    }
    if dist.main:
        scores = ("(no labels)" if last["top1"] is None else
                  f"top-1 {last['top1']:.2f}% (teacher {teacher_acc['top1']:.2f}%)")
        print(f"distillation finished: student {scores} on {last['n']} test images of {dataset}, "
              f"agreement with the teacher {last['agreement']:.2f}%"
              + (f"; {len(warnings)} warning(s) in metrics.json" if warnings else ""), flush=True)
    return run.finalize(metrics, {"student.pt": lambda path: save_model(
        path, student, arch=cfg["student"], num_classes=num_classes, in_chans=in_chans, dataset=dataset,
        mean=list(mean), std=list(std), classes=tmeta.get("classes"))})
