"""Clips per second of the audio clip-set generator (augprior.audio.clipset), against a simple baseline.

    .venv/bin/python benchmarks/audio_clips.py [--source speech_en] [--num 1000] [--rate 16000] [--workers 2] [--repeats 3]

Baseline: one process, a plain loop over the clips (crop at the seeded offset, the seeded augmentation,
no chunking, no storage). Measured: make_clip_set, the pipeline's writer (chunks, memmap, progress file,
`--workers` processes). Both make the same clips from the same source (checked: identical samples), and
are timed in alternation, round after round, so that both see the same machine load; each figure is the
median over --repeats rounds after a warm-up (the first call compiles librosa's numba kernels). The
source is synthesised once, outside the timing; the pipeline's time includes reading it back from a FLAC
file, writing source.wav and starting its worker processes (which dominate below a few hundred clips). The last line is `speedup <pipeline / baseline>`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from augprior.audio import clipset
from augprior.audio.sources import load_clip


def baseline(source: np.ndarray, num: int, rate: int, seed: int) -> np.ndarray:
    crop = 2 * rate
    out = np.zeros((num, crop), np.float16)
    for i in range(num):
        y, n, _ = clipset.make_clip(source, seed, i, crop, rate)
        out[i, :n] = y
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", default="speech_en")
    ap.add_argument("--num", type=int, default=1000)
    ap.add_argument("--rate", type=int, default=16000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "source.flac"
        import soundfile as sf

        sf.write(wav, load_clip(args.source, args.rate), args.rate)  # synthesised / decoded once
        source = load_clip(str(wav), args.rate)
        baseline(source, 14, args.rate, 0)  # warm-up: numba compilation, imports
        base_t, pipe_t = [], []
        for r in range(args.repeats):
            t0 = time.perf_counter()
            ref = baseline(source, args.num, args.rate, r)
            base_t.append(time.perf_counter() - t0)
            out = Path(tmp) / f"run{r}" / "clips.npy"
            t0 = time.perf_counter()
            clipset.make_clip_set(str(wav), out, num=args.num, sample_rate=args.rate, seed=r, workers=args.workers)
            pipe_t.append(time.perf_counter() - t0)
            if not np.array_equal(ref, clipset.load_clip_set(out)[0]):
                print("pipeline and baseline clips differ", file=sys.stderr)
                return 1
    b, p = statistics.median(base_t), statistics.median(pipe_t)
    print(f"source {args.source}, {args.num} clips of 2 s at {args.rate} Hz, {args.repeats} rounds")
    print(f"baseline (1 process, plain loop): {args.num / b:.1f} clips/s")
    print(f"pipeline (make_clip_set, {args.workers} workers): {args.num / p:.1f} clips/s")
    print(f"speedup {b / p:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
