"""Samples/s of one full distillation step of the engine (augprior.distill.TrainStep: uint8 patches
-> device floats, flip + pad-crop + normalise + CutMix, teacher forward (eval, no grad), student
forward + KD loss + backward, Adam step) for the paper's CIFAR pairs WRN-40-4 -> WRN-16-4 and
ResNet-56 -> ResNet-20: fp32 eager (NCHW, teacher as loaded) vs the engine's fast path (bf16
autocast + channels_last + the frozen teacher's conv+BN pairs folded; `--compile` adds
torch.compile of both networks).

    .venv/bin/python benchmarks/distill_step.py [--batch-size 128] [--steps 5] [--warmup 2] [--threads 1]

One torch thread by default: on a shared machine, OpenMP threads on every core stall whenever
another process takes one of the cores (measured here: 2-thread steps 3-10x slower under load),
so per-core rates are what can be measured reliably; `--threads 0` uses torch's default.

Modes are interleaved step by step (fp32, fast, fp32, fast, ...) so that load from other
processes hits both alike; rates are medians over the timed steps. Also printed: the projected
wall time of a paper-length run (1000 epochs over 50,000 patches) at the measured rates.
The last line is `speedup <fast/fp32 samples/s for WRN-40-4 -> WRN-16-4>`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from augprior.distill import TrainStep, fold_batchnorm, make_optimizer, make_scheduler, prepare_pixels, resolve_config
from augprior.training_inputs import TAG_AUGMENT, generator
from augprior.models import build_model, param_count
from augprior.runtime import cpu_has_bf16, select_device

PAIRS = {"wrn": ("wrn40_4", "wrn16_4"), "resnet": ("resnet56", "resnet20")}
MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def make_step(teacher_arch: str, student_arch: str, mode: str, batch: int, device: torch.device,
              compile: bool):
    fast = mode == "fast"
    fmt = torch.channels_last if fast else torch.contiguous_format
    torch.manual_seed(0)
    teacher = build_model(teacher_arch, 10).to(device, memory_format=fmt).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    if fast:
        teacher = fold_batchnorm(teacher)[0].to(memory_format=fmt)
    student = build_model(student_arch, 10).to(device, memory_format=fmt).train()
    cfg = resolve_config({"student": student_arch, "batch_size": batch})  # paper: Adam 1e-3, T=8, flip+crop+CutMix
    opt = make_optimizer(student, cfg)
    step = TrainStep(teacher, student, opt, make_scheduler(opt, cfg, 1000), cfg, device=device, bf16=fast,
                     mean=MEAN, std=STD, compile=compile and fast)
    patches = torch.randint(0, 256, (batch, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    count = {"i": 0}

    def run() -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        pixels = prepare_pixels(patches, device, fast, 3)
        step(pixels, generator(0, TAG_AUGMENT, 0, count["i"]))
        if device.type == "cuda":
            torch.cuda.synchronize()
        count["i"] += 1
        return time.perf_counter() - t

    return run, param_count(teacher), param_count(student)


def hours(samples: float, rate: float) -> str:
    h = samples / rate / 3600
    return f"{h:,.0f} h ({h / 24:.1f} days)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", nargs="+", choices=list(PAIRS), default=list(PAIRS))
    ap.add_argument("--batch-size", type=int, default=128, help="paper: 512 (per-sample rates barely change)")
    ap.add_argument("--steps", type=int, default=5, help="timed steps per mode")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps per mode (oneDNN kernel creation)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1; 0 = torch's default)")
    ap.add_argument("--compile", action="store_true", help="torch.compile both networks in the fast mode")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = select_device(args.device)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average {load:.1f} on {os.cpu_count()} cores before the run (other processes distort the rates)")
    print(f"device {device}, threads {torch.get_num_threads()}, torch {torch.__version__}, cpu bf16 units: "
          f"{cpu_has_bf16()}, batch {args.batch_size}, fast = bf16 autocast + channels_last + folded teacher BN"
          f"{' + torch.compile' if args.compile else ''}")
    paper_samples = 1000 * 50_000
    results: dict[str, dict[str, float]] = {}
    for key in args.pairs:
        t_arch, s_arch = PAIRS[key]
        steps = {}
        for mode in ("fp32", "fast"):
            steps[mode], n_t, n_s = make_step(t_arch, s_arch, mode, args.batch_size, device, args.compile)
        times: dict[str, list[float]] = {mode: [] for mode in steps}
        for i in range(args.warmup + args.steps):
            for mode, run in steps.items():
                dt = run()
                if i >= args.warmup:
                    times[mode].append(dt)
        name = f"{t_arch}->{s_arch}"
        results[key] = {mode: args.batch_size / statistics.median(ts) for mode, ts in times.items()}
        for mode, ts in times.items():
            print(f"{name:18s} {mode:5s} {results[key][mode]:8.1f} samples/s  (median {statistics.median(ts) * 1e3:.0f} "
                  f"ms/step, min {min(ts) * 1e3:.0f}, max {max(ts) * 1e3:.0f}; params {n_t / 1e6:.2f}M -> {n_s / 1e6:.2f}M)")
        print(f"{name:18s} fast/fp32 {results[key]['fast'] / results[key]['fp32']:.2f}x; projected 1000 epochs x 50K "
              f"patches: fp32 {hours(paper_samples, results[key]['fp32'])}, fast {hours(paper_samples, results[key]['fast'])}")
    ref = "wrn" if "wrn" in results else next(iter(results))
    print(f"speedup {results[ref]['fast'] / results[ref]['fp32']:.2f}")


if __name__ == "__main__":
    main()
