"""Rates of Table 6's video path at the paper's sizes: fake clips of City rendered per second (the official
generator, 12 frames of 230 px), training clips per second through the official transform (4 frames,
AugMix, short-side scale, 160-px crop, flip), and clips per second of one distillation step
(X3D-XS teacher forward + expanded X3D-XS student forward/backward + AdamW), with the projected time of a
paper-length run (400 epochs over 200K clips) and of the fake-set generation at those rates.

    AUGPRIOR_MIRROR=/path/to/mirror .venv/bin/python benchmarks/video.py [--clips 8] [--batch-size 4] [--steps 3] [--threads 1]

One torch thread by default (per-core rates are what a shared machine measures reliably); medians over the
timed repetitions. The last line is `distill_clips_per_s <rate>`.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from augprior import losses
from augprior.models import build_model
from augprior.runtime import select_device
from augprior.video import fakevideo as fv
from augprior.video.train import TrainClips, cutmix, resolve_config
from augprior.training_inputs import generator


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", type=int, default=8, help="fake clips rendered and transformed")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--steps", type=int, default=3, help="timed distillation steps (after one warm-up step)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = select_device(args.device)
    cfg = resolve_config({})
    img, _ = fv.load_image("city")
    spec = fv.FakeVideoSpec()
    fv.render_clip(img, spec, 0)  # warm-up (first-call costs)
    render = timed(lambda: fv.render_clip(img, spec, 0), args.clips)
    render_rate = 1 / statistics.median(render)
    clips = fv.FakeVideos(img, spec, max(args.clips, args.batch_size))
    store = [clips[k] for k in range(len(clips))]
    train = TrainClips(store, 0, 4, 160, cfg)
    transform = timed(lambda: train[(0, 0)], args.clips)
    transform_rate = 1 / statistics.median(transform)

    teacher = build_model("x3d_xs", 400).to(device).eval()
    student = build_model("x3d_xs_expanded", 400).to(device).train()
    opt = torch.optim.AdamW(student.parameters(), lr=1e-3, weight_decay=0.0)
    batch = torch.stack([train[(0, k)] for k in range(args.batch_size)]).to(device)

    def step():
        x = cutmix(batch, generator(0, 0), 1.0)
        with torch.no_grad():
            target = losses.prepare_targets(teacher(x), loss="kd", signal="full", temperature=5.0)
        loss = losses.loss_from_targets(student(x), target, loss="kd", temperature=5.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    step()
    step_rate = args.batch_size / statistics.median(timed(step, args.steps))
    total = 400 * 200_000
    print(f"device {device}, {torch.get_num_threads()} threads")
    print(f"fake clips (12 x 230 px) rendered: {render_rate:.2f} clips/s per process; 200K clips: "
          f"{200_000 / render_rate / 3600:.1f} process-hours")
    print(f"training transform (AugMix, scale, crop, flip): {transform_rate:.2f} clips/s per process")
    print(f"distillation step, batch {args.batch_size}: {step_rate:.2f} clips/s; 400 epochs x 200K clips: "
          f"{total / step_rate / 86400:.1f} days at this rate")
    print(f"distill_clips_per_s {step_rate:.3f}")


if __name__ == "__main__":
    main()
