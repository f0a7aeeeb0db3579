"""Images/s of one supervised training step (forward, cross-entropy, backward, SGD step) on this
machine: fp32 eager (NCHW) vs the fast path (bf16 autocast + channels_last), for WRN-16-4 and
ResNet-56 at 32 px.

    .venv/bin/python benchmarks/train_step.py [--batch-size 128] [--steps 4] [--warmup 2]

Modes are interleaved step by step (A, B, A, B, ...) so that load from other processes hits
both alike; the numbers are medians over the timed steps. The last line is
`speedup <fast/fp32 images/s for WRN-16-4>`.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from augprior.models import build_model
from augprior.runtime import autocast, cpu_has_bf16, select_device

MODES = {"fp32": dict(bf16=False, channels_last=False), "fast": dict(bf16=True, channels_last=True)}


def make_step(name: str, mode: str, batch: int, device: torch.device):
    torch.manual_seed(0)
    cfg = MODES[mode]
    fmt = torch.channels_last if cfg["channels_last"] else torch.contiguous_format
    model = build_model(name, 10).to(device, memory_format=fmt).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x = torch.randn(batch, 3, 32, 32, device=device).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (batch,), device=device)

    def step() -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        with autocast(device, cfg["bf16"]):
            loss = F.cross_entropy(model(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t

    return step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["wrn16_4", "resnet56"])
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--steps", type=int, default=4, help="timed steps per mode")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps per mode (oneDNN kernel creation)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    device = select_device(args.device)
    print(f"device {device}, threads {torch.get_num_threads()}, torch {torch.__version__}, "
          f"cpu bf16 units: {cpu_has_bf16()}, batch {args.batch_size}")
    results: dict[str, dict[str, float]] = {}
    for name in args.models:
        steps = {mode: make_step(name, mode, args.batch_size, device) for mode in MODES}
        times: dict[str, list[float]] = {mode: [] for mode in MODES}
        for i in range(args.warmup + args.steps):
            for mode, step in steps.items():
                dt = step()
                if i >= args.warmup:
                    times[mode].append(dt)
        results[name] = {mode: args.batch_size / statistics.median(ts) for mode, ts in times.items()}
        for mode, ts in times.items():
            print(f"{name:10s} {mode:5s} {results[name][mode]:8.1f} img/s  "
                  f"(median {statistics.median(ts) * 1e3:.0f} ms/step, min {min(ts) * 1e3:.0f}, max {max(ts) * 1e3:.0f})")
        print(f"{name:10s} fast/fp32 {results[name]['fast'] / results[name]['fp32']:.2f}x")
    ref = args.models[0]
    print(f"speedup {results[ref]['fast'] / results[ref]['fp32']:.2f}")


if __name__ == "__main__":
    main()
