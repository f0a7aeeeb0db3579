"""`augprior distill`: distil a teacher into a fresh student (augprior.distill.distill).

Defaults come from params.yaml (its `distill:` section, `seed`, `device`, `precision`,
`num_threads`, `data.mirror`, resolved for `--scale`) when that file exists or `--params` names
one, else from the paper defaults built into augprior.distill. Options given on the command line
win. Writes OUT/student.pt and OUT/metrics.json (with provenance); resumes from OUT/state.pt.

Examples:
  augprior distill --teacher T/model.pt --patches P/patches.npy --out results/x --scale ci
  augprior distill --teacher T/model.pt --input dataset --subset 10000 --out results/y
  augprior distill --teacher T/model.pt --input noise_mix --noise-alpha 0.8 --patches P.npy --out z
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

from .augment import IMAGENET_AUGMENT
from .inputs import KINDS

BOOL = argparse.BooleanOptionalAction

# (flag, distill key, type) for plain options of job["distill"]
_DISTILL_OPTIONS = [
    ("--student", "student", str), ("--epochs", "epochs", int), ("--batch-size", "batch_size", int),
    ("--optimizer", "optimizer", str), ("--lr", "lr", float), ("--lr-schedule", "lr_schedule", str),
    ("--warmup-epochs", "warmup_epochs", float), ("--weight-decay", "weight_decay", float),
    ("--loss", "loss", str), ("--topk", "topk", int), ("--temperature", "temperature", float),
    ("--eval-every", "eval_every", int), ("--checkpoint-every-steps", "checkpoint_every_steps", int),
]
_DISTILL_FLAGS = [("--t2-factor", "t2_factor"), ("--cache-teacher-logits", "cache_teacher_logits"),
                  ("--compile", "compile"), ("--channels-last", "channels_last"),
                  ("--deterministic", "deterministic")]
_AUGMENT_FLAGS = [("--hflip", "hflip"), ("--random-crop", "random_crop"), ("--mixup", "mixup"),
                  ("--cutmix", "cutmix"), ("--random-resized-crop", "random_resized_crop")]
_AUGMENT_OPTIONS = [("--mixup-alpha", "mixup_alpha", float), ("--cutmix-beta", "cutmix_beta", float),
                    ("--crop-padding", "crop_padding", int), ("--rrc-size", "rrc_size", int),
                    ("--color-jitter-p", "color_jitter_p", float), ("--grayscale-p", "grayscale_p", float),
                    ("--solarize-p", "solarize_p", float)]


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = __doc__
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    g = p.add_argument_group("files")
    g.add_argument("--teacher", required=True, type=Path, help="teacher model file (the teacher trainer's model.pt)")
    g.add_argument("--out", required=True, type=Path, help="output folder (student.pt, metrics.json, state.pt)")
    g.add_argument("--params", type=Path, help="params file for the defaults (default: ./params.yaml if present)")
    g.add_argument("--scale", help="scale of params.yaml to resolve: paper | laptop | ci")
    g.add_argument("--mirror", help="offline data mirror folder (default: params data.mirror, then $AUGPRIOR_MIRROR)")
    g = p.add_argument_group("inputs")
    g.add_argument("--input", choices=KINDS, help="what the networks are shown (default: patches)")
    g.add_argument("--patches", type=Path, help="patch set file (uint8 (N, P, P, 3) .npy)")
    g.add_argument("--input-dataset", help="dataset of --input dataset (default: the test dataset)")
    g.add_argument("--subset", type=int, help="--input dataset: use only its first N training images")
    g.add_argument("--noise", choices=["normal", "uniform"], help="--input noise_mix: noise kind (default normal)")
    g.add_argument("--noise-alpha", type=float, help="--input noise_mix: weight of the noise (Table 11: 0.8, 0.5)")
    g.add_argument("--num", type=int, help="images per epoch for fresh inputs (noise; default 50000)")
    g.add_argument("--dataset", help="test dataset (default: the teacher's dataset)")
    g.add_argument("--image-size", type=int, help="side of imagefolder: test images")
    g = p.add_argument_group("distillation")
    for flag, _, typ in _DISTILL_OPTIONS:
        g.add_argument(flag, type=typ)
    g.add_argument("--signal", help="teacher signal: full | topk | argmax | topN (= topk with k=N)")
    for flag, _ in _DISTILL_FLAGS:
        g.add_argument(flag, action=BOOL)
    g = p.add_argument_group("augmentation")
    g.add_argument("--imagenet-augment", action="store_true",
                   help="start from the official ImageNet set (random resized crop 224, color jitter p=0.8, "
                        "grayscale p=0.2, solarize p=0.2, flip, CutMix Beta(1,1))")
    for flag, _ in _AUGMENT_FLAGS:
        g.add_argument(flag, action=BOOL)
    for flag, _, typ in _AUGMENT_OPTIONS:
        g.add_argument(flag, type=typ)
    g = p.add_argument_group("run")
    g.add_argument("--seed", type=int)
    g.add_argument("--device", help="auto | cpu | cuda | cuda:N")
    g.add_argument("--precision", choices=["auto", "bf16", "fp32"])
    g.add_argument("--threads", type=int, help="torch CPU threads")


def _load_params(args: argparse.Namespace) -> dict[str, Any] | None:
    from . import config

    path = args.params
    if path is None:
        if not Path("params.yaml").exists():
            if args.scale:
                raise config.ParamsError("--scale needs a params file: no ./params.yaml here, pass --params")
            return None
        path = Path("params.yaml")
    return config.load(path, {"scale": args.scale} if args.scale else None)


def build_job(args: argparse.Namespace) -> dict[str, Any]:
    """The distill() job of the parsed command line (params defaults, then command-line options)."""
    params = _load_params(args)
    job: dict[str, Any] = {"seed": 0, "scale": None, "device": "auto", "precision": "auto", "mirror": None,
                           "num_threads": None}
    cfg: dict[str, Any] = {}
    if params is not None:
        cfg = copy.deepcopy(params["distill"])
        job.update(seed=params["seed"], scale=params["scale"], device=params["device"],
                   precision=params["precision"], mirror=params["data"]["mirror"],
                   num_threads=params.get("num_threads"))
    for key, value in (("seed", args.seed), ("device", args.device), ("precision", args.precision),
                       ("mirror", args.mirror), ("num_threads", args.threads), ("dataset", args.dataset),
                       ("image_size", args.image_size)):
        if value is not None:
            job[key] = value
    for flag, key, _ in _DISTILL_OPTIONS:
        if (v := getattr(args, _dest(flag))) is not None:
            cfg[key] = v
    for flag, key in _DISTILL_FLAGS:
        if (v := getattr(args, _dest(flag))) is not None:
            cfg[key] = v
    if args.signal is not None:
        if args.signal.startswith("top") and args.signal[3:].isdigit():
            cfg["signal"], cfg["topk"] = "topk", int(args.signal[3:])
        else:
            cfg["signal"] = args.signal
    aug = dict(IMAGENET_AUGMENT) if args.imagenet_augment else dict(cfg.get("augment") or {})
    for flag, key in _AUGMENT_FLAGS:
        if (v := getattr(args, _dest(flag))) is not None:
            aug[key] = v
    for flag, key, _ in _AUGMENT_OPTIONS:
        if (v := getattr(args, _dest(flag))) is not None:
            aug[key] = v
    cfg["augment"] = aug
    job["distill"] = cfg
    job["teacher_path"] = str(args.teacher)
    if args.patches is not None:
        job["patches_path"] = str(args.patches)
    kind = args.input or "patches"
    spec: dict[str, Any] = {"kind": kind}
    if kind == "dataset":
        spec.update({k: v for k, v in (("name", args.input_dataset), ("subset", args.subset)) if v is not None})
    if kind == "noise_mix":
        spec["noise"] = args.noise or "normal"
        if args.noise_alpha is not None:
            spec["alpha"] = args.noise_alpha
    if args.num is not None:
        spec["num"] = args.num
    job["input"] = spec
    return job


def run(args: argparse.Namespace) -> int:
    from .config import ParamsError
    from .data import DataError
    from .distill import distill

    try:
        job = build_job(args)
        metrics = distill(job, args.out)
    except (ParamsError, DataError, ValueError, FileNotFoundError) as err:
        print(f"augprior distill: error: {err}", file=sys.stderr)
        return 2
    except (FloatingPointError, RuntimeError) as err:
        print(f"augprior distill: failed: {err}", file=sys.stderr)
        return 1
    summary = {k: metrics[k] for k in ("top1", "top5", "agreement", "teacher_top1")}
    summary["out"] = str(args.out)
    print(json.dumps(summary))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="augprior distill")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
