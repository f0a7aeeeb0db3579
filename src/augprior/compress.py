"""Compression of a trained model by self-distillation (paper Appendix B.10, Tables 13 and 14).

The teacher is a trained model; the student is a clone of it (same weights) that is compressed while it is
fine-tuned to match the teacher by function matching (augprior.distill's TrainStep: the same augmentation,
loss and temperature) on patches of one image or on the source data:

  prune  magnitude pruning of every conv and linear weight (torch.nn.utils.prune masks, per layer, the
         smallest |w| zeroed), the sparsity rising along TF-MOT's polynomial schedule
         s(t) = s_f (1 - (1 - (t - t_b) / (t_e - t_b))^p) between steps t_b and t_e, masks updated every
         `prune_every` steps (pruned weights stay pruned: their masked magnitude is 0); the masks are made
         permanent before saving and the sparsity is measured on the saved file.
  qat    8-bit quantisation-aware training: torch.ao FX graph mode (prepare_qat_fx with the x86 qconfig
         mapping, which fuses conv+BN(+ReLU), inserts fake quantisation and handles the residual adds and
         functional ReLUs of the project's WRN / ResNet, which eager mode cannot quantise without rewriting
         their forward passes), observers and BN statistics frozen after `qat_freeze_after` of the steps,
         then convert_fx into a real int8 model (quantized::conv2d kernels on the CPU, x86 backend).

Entry point: `compress(job, out_dir) -> metrics`; the job is jobs.compress_job's spec (distill options for
the fine-tuning, compress options for the method). Outputs: student.pt (pruned: augprior.checkpoint's model
file, fp32 with zeros; qat: the int8 model's state dict, rebuilt by `load_compressed`) and metrics.json,
written atomically by augprior.runner's ResumableRun, which also resumes the run from state.pt exactly.
"""

from __future__ import annotations

import contextlib
import copy
import io
import time
import warnings
from typing import Any, Iterator

import torch
import torch.nn as nn
from torch.nn.utils import prune

from . import manifest, options
from .checkpoint import load_model, save_model
from .distill import LOSS_HINT, TrainStep, _load_test, deterministic_mode, make_optimizer, make_scheduler, \
    prepare_pixels, resolve_config
from .evaluate import predict_dataset, student_metrics
from .models import build_model, default_input_size, param_count
from .provenance import provenance
from .runner import ResumableRun, StudentEvaluator, due
from .runtime import num_threads, progress, select_device, use_bf16
from .training_inputs import TAG_AUGMENT, build_inputs, describe_spec, generator, input_spec

STATE_VERSION = 1
PRUNABLE = (nn.Conv2d, nn.Linear)
BACKEND = "x86"
INT8_FORMAT = "torch.ao FX QAT, x86 int8 (augprior.compress.load_compressed)"


def resolve(cfg: dict[str, Any] | None) -> dict[str, Any]:
    return options.resolve(options.CompressOptions, cfg, "compress")


# ----------------------------------------------------------------------------- pruning
def prunable(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, PRUNABLE)]


def schedule(step: int, total: int, cfg: dict[str, Any]) -> float:
    """The target sparsity after `step` of `total` steps (TF-MOT PolynomialDecay from 0)."""
    begin = int(round(cfg["prune_begin"] * total))
    end = max(begin + 1, int(round(cfg["prune_end"] * total)))
    frac = min(1.0, max(0.0, (step - begin) / (end - begin)))
    return float(cfg["sparsity"]) * (1.0 - (1.0 - frac) ** cfg["prune_power"])


def attach_masks(model: nn.Module) -> None:
    """All-ones pruning masks on every conv / linear weight (weight = weight_orig * weight_mask)."""
    for _, m in prunable(model):
        prune.identity(m, "weight")


@torch.no_grad()
def update_masks(model: nn.Module, sparsity: float) -> None:
    """Per layer, zero the mask of the round(sparsity * n) weights of smallest masked magnitude."""
    for _, m in prunable(model):
        w = (m.weight_orig * m.weight_mask).abs().flatten()
        k = int(round(sparsity * w.numel()))
        mask = torch.ones_like(w)
        if k:
            mask[torch.topk(w, k, largest=False).indices] = 0
        m.weight_mask.copy_(mask.view_as(m.weight_mask))


def make_permanent(model: nn.Module) -> None:
    for _, m in prunable(model):
        if prune.is_pruned(m):
            prune.remove(m, "weight")


def measure_sparsity(model: nn.Module) -> dict[str, Any]:
    """Fraction of exact zeros in the conv / linear weights (per layer and overall) and in all parameters."""
    layers = {n: float((m.weight == 0).float().mean()) for n, m in prunable(model)}
    zeros = sum(int((m.weight == 0).sum()) for _, m in prunable(model))
    total = sum(m.weight.numel() for _, m in prunable(model))
    all_zeros = sum(int((p == 0).sum()) for p in model.parameters())
    return {"sparsity": zeros / total, "prunable_weights": total, "zero_weights": zeros,
            "sparsity_all_params": all_zeros / max(1, param_count(model)), "per_layer": layers}


# ----------------------------------------------------------------------------- quantisation
@contextlib.contextmanager
def quant_engine() -> Iterator[None]:
    """The x86 int8 backend, with torch.ao's deprecation warnings of the FX flow silenced."""
    prev = torch.backends.quantized.engine
    torch.backends.quantized.engine = BACKEND
    strict = torch.are_deterministic_algorithms_enabled() and not torch.is_deterministic_algorithms_warn_only_enabled()
    if strict:  # quantized tensors' resize has no "deterministic" flag (the CPU int8 kernels are deterministic)
        torch.use_deterministic_algorithms(True, warn_only=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*torch.ao.quantization.*")
        warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.ao\..*")
        warnings.filterwarnings("ignore", message=".*does not have a deterministic implementation.*")
        try:
            yield
        finally:
            torch.backends.quantized.engine = prev
            if strict:
                torch.use_deterministic_algorithms(True)


def prepare_qat(model: nn.Module, side: int) -> nn.Module:
    """A fake-quantised (QAT) GraphModule of `model` (conv+BN(+ReLU) fused, x86 qconfig)."""
    from torch.ao.quantization import get_default_qat_qconfig_mapping
    from torch.ao.quantization.quantize_fx import prepare_qat_fx

    in_chans = next(m for _, m in prunable(model)).weight.shape[1]
    example = torch.zeros(2, in_chans, side, side, device=next(model.parameters()).device)
    with quant_engine():
        return prepare_qat_fx(model.train(), get_default_qat_qconfig_mapping(BACKEND), (example,))


def freeze_qat(prepared: nn.Module) -> None:
    """Stop updating the quantisation ranges and the BN statistics (idempotent)."""
    import torch.ao.nn.intrinsic.qat as nniqat
    from torch.ao.quantization import disable_observer

    prepared.apply(disable_observer)
    prepared.apply(nniqat.freeze_bn_stats)


def convert_int8(prepared: nn.Module) -> nn.Module:
    """The real int8 model (CPU) of a QAT GraphModule; the QAT model is left unchanged."""
    from torch.ao.quantization.quantize_fx import convert_fx

    with quant_engine():
        return convert_fx(copy.deepcopy(prepared).cpu().eval())


def int8_skeleton(arch: str, num_classes: int, in_chans: int, side: int) -> nn.Module:
    """An int8 model of `arch` whose state dict a saved QAT result loads into."""
    return convert_int8(prepare_qat(build_model(arch, num_classes, in_chans), side))


def int8_weights(model: nn.Module) -> dict[str, int]:
    """How many weight tensors of a converted model are qint8 and how many stayed float."""
    out = {"qint8": 0, "float": 0}
    for m in model.modules():
        w = getattr(m, "weight", None)
        w = w() if callable(w) else w
        if isinstance(w, torch.Tensor) and m is not model:
            out["qint8" if w.dtype == torch.qint8 else "float"] += 1
    return out


def load_compressed(path, device: torch.device | str = "cpu") -> tuple[nn.Module, dict]:
    """(model in eval mode, metadata) of a compress job's student.pt: pruned models like any model file,
    int8 models rebuilt from their architecture and loaded (always on the CPU: int8 kernels are CPU kernels)."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    if blob.get("format") != INT8_FORMAT:
        return load_model(path, device)
    model = int8_skeleton(blob["arch"], blob["num_classes"], blob["in_chans"], int(blob["side"]))
    with quant_engine():
        model.load_state_dict(blob["state_dict"])
    return model.eval(), {k: v for k, v in blob.items() if k != "state_dict"}


def model_bytes(model: nn.Module) -> int:
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return len(buf.getvalue())


# ----------------------------------------------------------------------------- the engine
def compress(job: dict[str, Any], out_dir) -> dict[str, Any]:
    """Compress the teacher at job["teacher_path"] (see the module docstring); resumes from out_dir/state.pt."""
    started = time.time()
    cfg, ccfg = resolve_config(job.get("distill")), resolve(job.get("compress"))
    device = select_device(job.get("device") or "auto")
    qat = ccfg["method"] == "qat"
    bf16 = False if qat else use_bf16(device, job.get("precision") or "auto")  # fake quantisation in fp32
    with deterministic_mode(cfg["deterministic"]), num_threads(job.get("num_threads")), \
            ResumableRun(out_dir, kind="compression", version=STATE_VERSION, outputs=("student.pt",)) as run:
        return _compress(run, job, cfg, ccfg, device, bf16, started)


def _compress(run: ResumableRun, job, cfg, ccfg, device, bf16, started) -> dict[str, Any]:
    seed, qat = int(job["seed"]), ccfg["method"] == "qat"
    teacher, tmeta = load_model(job["teacher_path"], device)
    for p in teacher.parameters():
        p.requires_grad_(False)
    num_classes, in_chans, arch = int(tmeta["num_classes"]), int(tmeta["in_chans"]), tmeta["arch"]
    dataset = job.get("dataset") or tmeta["dataset"]
    if "mean" in tmeta and "std" in tmeta:
        mean, std = tuple(tmeta["mean"]), tuple(tmeta["std"])
    else:
        from .datasets import normalization

        mean, std = normalization(dataset)
    test = _load_test(dataset, job.get("mirror"), default_input_size(arch))
    if cfg["eval_subset"]:
        test = test.subset(cfg["eval_subset"])
    side = int(test.load_batch([0]).shape[-1])
    spec = input_spec(job)
    inputs = build_inputs(spec, batch_size=cfg["batch_size"], seed=seed, dataset=dataset, mirror=job.get("mirror"),
                          default_shape=(in_chans, side, side), device=device).to(device)
    steps, epochs = inputs.steps_per_epoch, cfg["epochs"]
    total = steps * epochs

    torch.manual_seed(seed)
    student = copy.deepcopy(teacher).train()  # the clone: compressed while it learns to match the teacher
    for p in student.parameters():
        p.requires_grad_(True)
    if qat:
        student = prepare_qat(student, side)
    else:
        attach_masks(student)
    opt = make_optimizer(student, cfg)
    sched = make_scheduler(opt, cfg, steps)
    step_fn = TrainStep(teacher, student, opt, sched, cfg, device=device, bf16=bf16, mean=mean, std=std)
    run.resume({"seed": seed, "dataset": dataset, "input": inputs.describe(), "compress": ccfg,
                "teacher_md5": manifest.md5sum(job["teacher_path"]),
                "distill": {k: v for k, v in cfg.items() if k not in ("eval_every", "eval_subset")}},
               {"model": student, "optimizer": opt, "scheduler": sched}, {"epoch": 0, "step": 0}, loss_sum=0.0)
    score = StudentEvaluator(teacher, test, mean, std, device, bf16, False)
    freeze_at = int(round(ccfg["qat_freeze_after"] * total))

    def before_step(g: int) -> None:  # g: global step about to run
        if qat:
            if g >= freeze_at:
                freeze_qat(student)
        elif g % ccfg["prune_every"] == 0 or g == max(1, int(round(ccfg["prune_end"] * total))):
            update_masks(student, schedule(g, total, ccfg))

    start_epoch, start_step, loss_sum = run.position["epoch"], run.position["step"], run.extras["loss_sum"]
    for epoch in range(start_epoch, epochs):
        student.train()
        t0 = time.time()
        first = start_step if epoch == start_epoch else 0
        loss_sum = loss_sum if first else 0.0
        for step in progress(range(first, steps), desc=f"compress epoch {epoch + 1}/{epochs}", leave=False,
                             initial=first, total=steps):
            before_step(epoch * steps + step)
            images, idx = inputs.batch(epoch, step)
            where = f"epoch {epoch + 1}, step {step + 1}/{steps}"
            try:
                loss = step_fn(prepare_pixels(images, device, False, in_chans), generator(seed, TAG_AUGMENT, epoch, step))
            except FloatingPointError as err:
                raise run.loss_failure(str(err), where, LOSS_HINT) from None
            loss_sum += run.check_loss(loss, where, LOSS_HINT)
            if step + 1 < steps:
                run.boundary({"epoch": epoch, "step": step + 1}, save=due(cfg["checkpoint_every_steps"], step + 1, steps),
                             loss_sum=loss_sum)
        point = {"epoch": epoch + 1, "step": (epoch + 1) * steps, "train_loss": loss_sum / steps,
                 "lr": sched.get_last_lr()[0], "epoch_time_s": round(time.time() - t0, 3)}
        if not qat:
            point["sparsity"] = measure_sparsity(student)["sparsity"]
        if due(ccfg["eval_every"], epoch + 1, epochs):
            with run.untimed():
                ev = score(student)
            point.update(test_top1=ev["top1"], agreement=ev["agreement"])
        run.add_point(point, f"compress epoch {epoch + 1}/{epochs}")
        run.boundary({"epoch": epoch + 1, "step": 0}, save=True, loss_sum=loss_sum)
    train_time = run.train_time

    fp32_bytes = model_bytes(teacher)
    common = {"dataset": dataset, "teacher_arch": arch, "student": arch, "method": ccfg["method"],
              "teacher_top1": score.teacher_metrics()["top1"], "fp32_state_bytes": fp32_bytes,
              "epochs": epochs, "steps": total, "batch_size": cfg["batch_size"], "train_time_s": round(train_time, 3),
              "input": inputs.describe(), "classes": list(test.classes), "config": {"distill": cfg, "compress": ccfg},
              "curve": run.curve, "resumes": run.resumes, "backend": None}
    meta = dict(arch=arch, num_classes=num_classes, in_chans=in_chans, dataset=dataset, mean=list(mean),
                std=list(std), classes=tmeta.get("classes"))
    if qat:
        student.eval()
        int8 = convert_int8(student)
        with quant_engine():
            int8_logits = predict_dataset(int8, test, mean, std, torch.device("cpu"), False, channels_last=False)
            fake_logits = predict_dataset(student, test, mean, std, device, False, channels_last=False)
        last = student_metrics(int8_logits, score.teacher_logits, test.labels, test.num_classes)
        fake = student_metrics(fake_logits, score.teacher_logits, test.labels, test.num_classes)
        blob = {**meta, "format": INT8_FORMAT, "side": side, "state_dict": int8.state_dict()}
        buf = io.BytesIO()
        torch.save(blob, buf)
        extra = {"fake_quant_top1": fake["top1"], "int8_vs_fake_quant_agreement":
                 float((int8_logits.argmax(1) == fake_logits.argmax(1)).float().mean() * 100),
                 "int8_vs_fake_quant_max_abs": float((int8_logits - fake_logits.cpu()).abs().max()),
                 "int8_state_bytes": model_bytes(int8), "file_bytes": len(buf.getvalue()),
                 "weight_tensors": int8_weights(int8), "backend": BACKEND}
        writers = {"student.pt": lambda path: _write(path, buf.getvalue())}
    else:
        if abs(schedule(total, total, ccfg) - ccfg["sparsity"]) > 1e-9:
            update_masks(student, ccfg["sparsity"])
        make_permanent(student)
        student.eval()
        last = score(student)
        sp = measure_sparsity(student)
        extra = {"target_sparsity": ccfg["sparsity"], **sp}
        writers = {"student.pt": lambda path: save_model(path, student, **meta, sparsity=sp["sparsity"])}
    metrics = {**last, **common, **extra, "provenance": provenance(
        {**{k: v for k, v in job.items() if k != "input"}, "input": describe_spec(spec)}, scale=job.get("scale"),
        seed=seed, device=device, started=started)}
    return run.finalize(metrics, writers)


def _write(path, data: bytes) -> None:
    from . import fileio

    fileio.write_bytes(path, data)
