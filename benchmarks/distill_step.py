"""Samples/s of one full distillation step of the engine (augprior.distill.TrainStep: uint8 patches
-> device floats, flip + pad-crop + normalise + CutMix, teacher forward (eval, no grad), student
forward + KD loss + backward, Adam step), for each setting the laptop scale could use, against
fp32 eager measured in the same run:

  fp32            fp32 eager, NCHW, teacher as loaded (the baseline)
  fast            bf16 autocast + channels_last + the frozen teacher's conv+BN pairs folded
  fast+compile    fast, with torch.compile (inductor) of the teacher forward and the student
  fast bN         fast at batch size N (`--batch-sizes`)
  1x2 / 2x1       how 2 cores are best used: one job with 2 threads vs 2 concurrent jobs with 1
                  thread each (summed samples/s; two processes, started together)

    .venv/bin/python benchmarks/distill_step.py                       # the laptop pairs
    .venv/bin/python benchmarks/distill_step.py --pair wrn40_4:wrn16_4 --no-compile

Modes within a pair are interleaved step by step (fp32, fast, fp32, fast, ...) so that load from
other processes hits all alike; rates are medians over the timed steps. Run it on idle cores.
The last line is `best <setting> <samples/s ratio to fp32 eager, 1 thread>` for the first pair.

Measured 2026-12-01, Intel Xeon with AMX-BF16 / AVX512-BF16, 2 idle cores, torch 2.14.1 (`--steps 6 --warmup 3`),
samples/s and ratio to fp32 eager:
  wrn16_2 -> wrn16_2: fp32 57, fast 177 (3.09x), fast+compile 224 (3.91x), fast b256 198 (3.46x),
                      1x2 440 (7.69x), 2x1 491 (8.57x)
  wrn16_2 -> wrn16_1: fp32 135, fast 481 (3.56x), fast+compile 536 (3.97x), fast b256 487 (3.60x),
                      1x2 467 (3.45x), 2x1 816 (6.04x)
  wrn16_1 -> wrn16_1 (`--no-compile --batch-sizes 128 64`, load 0.8): fp32 184, fast 655 (3.56x),
                      fast b64 484 (2.63x), 1x2 1108 (6.02x), 2x1 934 (5.08x)
torch.compile adds 12-27% per step but is off at laptop scale: not yet measured with its compile time
over a whole run.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import statistics
import subprocess
import time

import torch

from augprior.distill import TrainStep, fold_batchnorm, make_optimizer, make_scheduler, prepare_pixels, resolve_config
from augprior.models import build_model, param_count
from augprior.runtime import cpu_has_bf16, select_device
from augprior.training_inputs import TAG_AUGMENT, generator

LAPTOP_PAIRS = ("wrn16_2:wrn16_2", "wrn16_2:wrn16_1")
MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return platform.processor() or "unknown CPU"


def make_step(pair: str, fast: bool, batch: int, compile: bool, device: torch.device):
    teacher_arch, student_arch = pair.split(":")
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
    step = TrainStep(teacher, student, opt, make_scheduler(opt, cfg, 10_000), cfg, device=device, bf16=fast,
                     mean=MEAN, std=STD, compile=compile)
    patches = torch.randint(0, 256, (batch, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    count = {"i": 0}

    def run() -> float:
        t = time.perf_counter()
        step(prepare_pixels(patches, device, fast, 3), generator(0, TAG_AUGMENT, 0, count["i"]))
        count["i"] += 1
        return time.perf_counter() - t

    return run


def rates(modes: dict[str, tuple], steps: int, warmup: int, device: torch.device) -> dict[str, float]:
    """Median samples/s of each mode (fast, batch, compile), interleaved step by step."""
    runs = {name: make_step(*spec, device=device) for name, spec in modes.items()}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for i in range(warmup + steps):
        for name, run in runs.items():
            dt = run()
            if i >= warmup:
                times[name].append(dt)
    return {name: modes[name][2] / statistics.median(ts) for name, ts in times.items()}


def _worker(pair, batch, steps, warmup, threads, barrier, queue):
    torch.set_num_threads(threads)
    run = make_step(pair, True, batch, False, torch.device("cpu"))
    for _ in range(warmup):
        run()
    barrier.wait()
    t = time.perf_counter()
    for _ in range(steps):
        run()
    queue.put(batch * steps / (time.perf_counter() - t))


def layout_rate(pair: str, batch: int, steps: int, warmup: int, jobs: int, threads: int) -> float:
    """Summed samples/s of `jobs` concurrent processes with `threads` torch threads each (fast mode)."""
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(jobs), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(pair, batch, steps, warmup, threads, barrier, queue)) for _ in range(jobs)]
    for p in procs:
        p.start()
    total = sum(queue.get() for _ in procs)
    for p in procs:
        p.join()
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pair", action="append", help="teacher:student (repeatable; default: the laptop candidates)")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 256], help="the first is the reference")
    ap.add_argument("--steps", type=int, default=8, help="timed steps per mode")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps per mode (oneDNN kernels, compilation)")
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile (it takes a minute per network)")
    ap.add_argument("--no-layout", action="store_true", help="skip the 1 job x 2 threads vs 2 jobs x 1 thread test")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    pairs = args.pair or list(LAPTOP_PAIRS)
    device = select_device(args.device)
    torch.set_num_threads(1)
    print(f"CPU: {cpu_name()}; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before the run; "
          f"bf16 units: {cpu_has_bf16()}; torch {torch.__version__}; device {device}")
    best_line = None
    for pair in pairs:
        b0 = args.batch_sizes[0]
        modes = {"fp32": (pair, False, b0, False), "fast": (pair, True, b0, False)}
        if not args.no_compile:
            modes["fast+compile"] = (pair, True, b0, True)
        for b in args.batch_sizes[1:]:
            modes[f"fast b{b}"] = (pair, True, b, False)
        r = rates(modes, args.steps, args.warmup, device)
        if not args.no_layout and device.type == "cpu":
            r["fast 1x2 (sum)"] = layout_rate(pair, b0, args.steps, args.warmup, 1, 2)
            r["fast 2x1 (sum)"] = layout_rate(pair, b0, args.steps, args.warmup, 2, 1)
        t, s = pair.split(":")
        print(f"\n{t} -> {s} ({param_count(build_model(t, 10)) / 1e6:.2f}M -> {param_count(build_model(s, 10)) / 1e6:.2f}M "
              f"params), batch {b0} unless named, 1 thread unless named")
        for name, rate in r.items():
            print(f"  {name:16s} {rate:8.1f} samples/s  {rate / r['fp32']:5.2f}x fp32 eager")
        if best_line is None:
            one_thread = {k: v for k, v in r.items() if "(sum)" not in k}
            name = max(one_thread, key=one_thread.get)
            best_line = f"best {name.replace(' ', '_')} {one_thread[name] / r['fp32']:.2f}"
    print(best_line)


if __name__ == "__main__":
    main()
