"""Patches per second of the reference and the fast engine, at 32 px and 224 px, on the CPU.

    AUGPRIOR_MIRROR=../shared .venv/bin/python benchmarks/patches.py [--image city] [--repeats 3]

Both engines make complete patches (sampling, geometry, colour jitter p=0.5, JPEG q75) from
the same image. Equal resources: the reference engine runs in one process (it is a per-patch
PIL loop, one core), the fast engine with one torch thread; the fast engine's figure with all
torch threads is printed too. Each figure is the median of --repeats timed runs after a
warm-up; building the fast engine's pyramid (once per image) is timed separately.
The last line is `speedup <fast / reference at 32 px>` (fast: default "single" geometry, 1 thread).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np
import torch

from augprior.images import load_source
from augprior.patches import PatchSpec, sample_params
from augprior.patches import fast, reference


def rate(fn, n: int, repeats: int) -> float:
    fn(max(1, n // 10))                      # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn(n)
        times.append(time.perf_counter() - t)
    return n / statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--image", default=None, help="source image (default: city from the mirror, else skimage:retina)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    name = args.image
    if name is None:
        m = os.environ.get("AUGPRIOR_MIRROR")
        name = "city" if m and os.path.isfile(os.path.join(m, "images", "ameyoko.jpg")) else "skimage:retina"
    src = load_source(name)
    img = src.pixels
    H, W = img.shape[:2]
    threads = torch.get_num_threads()
    print(f"image {name} {W}x{H}; cpu threads available to torch: {threads}; torch {torch.__version__}")
    n_ref = {32: 300, 224: 30}
    n_fast = {32: 4000, 224: 40}
    speedup = None
    for size in (32, 224):
        spec = PatchSpec(size=size)
        if size == 224 and min(H, W) < spec.min_source_side():
            print(f"{size} px: image too small, skipped")
            continue
        pil = reference.to_pil(img)
        offset = {"i": 0}

        def run_ref(n):
            p = sample_params(0, H, W, spec, n, start=offset["i"])
            offset["i"] += n
            reference.render(pil, p, spec)

        torch.set_num_threads(1)
        r_ref = rate(run_ref, n_ref[size], args.repeats)
        print(f"{size:3d} px  reference (1 process)            {r_ref:9.1f} patches/s")
        for geometry in fast.GEOMETRIES:
            t = time.perf_counter()
            renderer = fast.FastRenderer(img, spec, geometry=geometry)
            build = time.perf_counter() - t

            def run_fast(n, renderer=renderer):
                p = sample_params(0, H, W, spec, n, start=offset["i"])
                offset["i"] += n
                renderer.render(p)

            for nt in sorted({1, threads}):
                torch.set_num_threads(nt)
                r = rate(run_fast, n_fast[size], args.repeats)
                print(f"{size:3d} px  fast {geometry:8s} ({nt} thread{'s' if nt > 1 else ' '})      {r:9.1f} patches/s"
                      f"  = {r / r_ref:6.1f}x reference  (pyramid build {build:.2f} s)")
                if size == 32 and geometry == "single" and nt == 1:
                    speedup = r / r_ref
        torch.set_num_threads(threads)
    if speedup is None:
        return 1
    print(f"speedup {speedup:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
