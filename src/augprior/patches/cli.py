"""`augprior patches`: make a patch set from one image.

    augprior patches --image animals --size 32 --num 50000 --seed 0 --engine fast \
        --out results/patches/animals/p32/patches.npy [--jpeg-quality 75|none] [--vflip] \
        [--md5 M] [--device cpu|cuda] [--workers 2] [--shard-size 5000] [--grid grid.png]
"""

from __future__ import annotations

import argparse
import json
import sys

from .. import data


def _quality(text: str) -> int | None:
    if text.lower() in ("none", "null", "off", "0"):
        return None
    try:
        q = int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"--jpeg-quality must be 1..100 or none, not {text!r}") from err
    if not 1 <= q <= 100:
        raise argparse.ArgumentTypeError(f"--jpeg-quality must be 1..100 or none, not {q}")
    return q


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image", required=True,
                        help="paper name (city, animals, animals_large, bridge, universe, noise), library image "
                             "(skimage:coffee, sklearn:china, matplotlib:grace_hopper ...), file path or URL")
    parser.add_argument("--size", type=int, default=32, help="patch side P in pixels (default 32)")
    parser.add_argument("--num", type=int, required=True, help="number of patches")
    parser.add_argument("--seed", type=int, default=0, help="seed (patch i depends on seed and i only)")
    parser.add_argument("--engine", choices=("reference", "fast"), default="reference",
                        help="reference: per-patch torchvision/PIL as released; fast: batched torch")
    parser.add_argument("--out", required=True,
                        help="FILE.npy (+ FILE.json) or a folder (written as .npy shards + index.json)")
    parser.add_argument("--jpeg-quality", type=_quality, default=75,
                        help="JPEG round trip quality, or 'none' (default 75, as the official patches)")
    parser.add_argument("--vflip", action="store_true", help="random vertical flips (off in the released code)")
    parser.add_argument("--md5", default=None, help="expected md5 of the image file (needed for a URL)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (fast engine)")
    parser.add_argument("--geometry", choices=("single", "two_pass"), default="single",
                        help="fast engine resampling: single (default, one affine grid per patch) or "
                             "two_pass (about half the speed, closer to the reference)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (CPU)")
    parser.add_argument("--batch-size", type=int, default=None, help="patches per chunk")
    parser.add_argument("--shard-size", type=int, default=None, help="patches per shard (implies a shard folder)")
    parser.add_argument("--mirror", default=None, help="offline mirror folder (default $AUGPRIOR_MIRROR)")
    parser.add_argument("--grid", default=None, help="also save a PNG grid of the first 64 patches here")


def run(args: argparse.Namespace) -> int:
    from ..runtime import select_device
    from . import PatchError, PatchSpec, load_patch_set, make_patch_set, save_patch_grid

    try:
        device = str(select_device(args.device))
        spec = PatchSpec(size=args.size, jpeg_quality=args.jpeg_quality, vflip=args.vflip)
        meta = make_patch_set(args.image, args.out, spec, num=args.num, seed=args.seed, engine=args.engine,
                              mirror=args.mirror, md5=args.md5, device=device, batch_size=args.batch_size,
                              workers=args.workers, geometry=args.geometry, shard_size=args.shard_size)
        if args.grid:
            save_patch_grid(load_patch_set(args.out), args.grid)
    except (PatchError, data.DataError, RuntimeError, ValueError) as err:
        print(f"augprior patches: error: {err}", file=sys.stderr)
        return 2
    summary = {k: meta[k] for k in ("count", "size", "engine", "seed", "wall_time_s")}
    summary["source"] = meta["source"]["name"]
    summary["out"] = str(args.out)
    print(json.dumps(summary))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="augprior patches", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
