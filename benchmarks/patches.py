"""Patches per second of the reference and the fast engine, at 32 px and 224 px, on the CPU.

    AUGPRIOR_MIRROR=../shared .venv/bin/python benchmarks/patches.py [--image city] [--repeats 5]

Both engines make complete patches (parameter sampling, geometry, colour jitter p=0.5, JPEG
q75) of the same image (city, 2560x1920, the paper's ImageNet-scale image, from the mirror;
skimage:retina without a mirror). Equal resources: the reference engine runs in one process
(a per-patch PIL loop: one core), the fast engine with one torch thread. The engines are
timed in alternation, round after round, so that both see the same machine load (this CPU
is shared); each figure is the median over --repeats rounds after a warm-up, and the speedup
is the median of the per-round ratios. The fast engine's default geometry is also timed with
all torch threads. Building the fast engine's pyramid (once per image) is timed separately.
The last line is `speedup <fast / reference at 32 px>` (fast: default geometry, 1 thread).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

import torch

from augprior.source_images import load_source
from augprior.patches import PatchSpec, sample_params
from augprior.patches import fast, reference


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--image", default=None, help="source image (default: city from the mirror, else skimage:retina)")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    name = args.image
    if name is None:
        m = os.environ.get("AUGPRIOR_MIRROR")
        name = "city" if m and os.path.isfile(os.path.join(m, "images", "ameyoko.jpg")) else "skimage:retina"
    img = load_source(name).pixels
    H, W = img.shape[:2]
    threads = torch.get_num_threads()
    print(f"image {name} {W}x{H}; torch {torch.__version__}, {threads} CPU threads; "
          f"load average {os.getloadavg()[0]:.1f}")
    n = {32: {"reference": 150, "fast": 2500}, 224: {"reference": 16, "fast": 24}}
    speedup = None
    pil = reference.to_pil(img)
    for size in (32, 224):
        spec = PatchSpec(size=size)
        if min(H, W) < spec.min_source_side():
            print(f"{size} px: image too small, skipped")
            continue
        offset = [0]

        def params(k):
            offset[0] += k
            return sample_params(0, H, W, spec, k, start=offset[0] - k)

        runners = {"reference": lambda k: reference.render(pil, params(k), spec)}
        builds = {}
        for geometry in fast.GEOMETRIES:
            t = time.perf_counter()
            r = fast.FastRenderer(img, spec, geometry=geometry)
            builds[geometry] = time.perf_counter() - t
            runners[geometry] = lambda k, r=r: r.render(params(k))
        torch.set_num_threads(1)
        rates: dict[str, list[float]] = {k: [] for k in runners}
        for rnd in range(args.repeats + 1):                 # round 0 is the warm-up
            for key, fn in runners.items():
                k = n[size]["reference" if key == "reference" else "fast"]
                t = time.perf_counter()
                fn(k)
                if rnd:
                    rates[key].append(k / (time.perf_counter() - t))
        ref = statistics.median(rates["reference"])
        print(f"{size:3d} px  reference (1 process)        {ref:9.1f} patches/s")
        for geometry in fast.GEOMETRIES:
            ratio = statistics.median(f / r for f, r in zip(rates[geometry], rates["reference"]))
            print(f"{size:3d} px  fast {geometry:8s} (1 thread)   {statistics.median(rates[geometry]):9.1f} patches/s"
                  f"  = {ratio:5.1f}x reference  (pyramid build {builds[geometry]:.2f} s)")
            if size == 32 and geometry == fast.GEOMETRIES[0]:
                speedup = ratio
        if threads > 1:
            torch.set_num_threads(threads)
            k = n[size]["fast"]
            runners[fast.GEOMETRIES[0]](k // 4)
            ts = []
            for _ in range(max(1, args.repeats // 2)):
                t = time.perf_counter()
                runners[fast.GEOMETRIES[0]](k)
                ts.append(k / (time.perf_counter() - t))
            print(f"{size:3d} px  fast {fast.GEOMETRIES[0]:8s} ({threads} threads)  {statistics.median(ts):9.1f} patches/s")
    if speedup is None:
        return 1
    print(f"speedup {speedup:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
