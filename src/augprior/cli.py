"""`augprior <verb>`: the command line for humans, calling the same library as the workflow.

Verbs: fetch (data files), patches (a patch set from one image), train-teacher, distill,
patch-predictions (Figs 8/9: a teacher's top-5 on random patches of any image), table (a paper table
or figure through the workflow). The options of patches, train-teacher and distill are
generated from their declarations in augprior.options (type, bounds, choices, help, default);
train-teacher and distill take their defaults from params.yaml (resolved for --scale) when there is
one, and build their job with the workflow's own builders (augprior.jobs), so a command-line run and
a workflow run of the same settings are the same job. Bad input ends in a one-line error and exit 2.

Examples:
  augprior patches --image animals --num 50000 --engine fast --out results/p/patches.npy
  augprior train-teacher --dataset cifar10_jpeg --scale ci --out results/t
  augprior distill --teacher T/model.pt --patches P/patches.npy --out results/x --scale ci
  augprior distill --teacher T/model.pt --input dataset --subset 10000 --out results/y
  augprior distill --teacher T/model.pt --input noise_mix --noise-alpha 0.8 --patches P.npy --out z
  augprior patch-predictions --teacher T/model.pt --patches P/patches.npy --out grid.png --num 24
  augprior table table3 --scale ci --cores 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import options
from .config import deep_merge
from .options import AugmentOptions, DistillOptions, OptionsError, PatchOptions, TeacherOptions

BOOL = argparse.BooleanOptionalAction
INPUT_KINDS = ("patches", "dataset", "noise_uniform", "noise_normal", "noise_mix")


class UsageError(ValueError):
    """Command-line input that cannot run (exit status 2, one line)."""


# ----------------------------------------------------------------------------- shared

def _load_params(args: argparse.Namespace, required: bool = False) -> dict[str, Any] | None:
    """params.yaml resolved for --scale (None: no params file here and none named)."""
    from . import config

    path = args.params
    if path is None:
        if not Path("params.yaml").exists():
            if args.scale or required:
                raise config.ParamsError("no ./params.yaml here: pass --params")
            return None
        path = Path("params.yaml")
    return config.load(path, {"scale": args.scale} if args.scale else None)


def _builtin_params() -> dict[str, Any]:
    """The declared defaults (the paper's values, scale paper) when there is no params file."""
    return {k: v for k, v in options.params_model()().model_dump().items() if k != "scales"}


def _run_overrides(params: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """params with the run options of the command line (seed, device, precision, threads, mirror)."""
    run = {k: getattr(args, k) for k in ("seed", "device", "precision", "num_threads")
           if getattr(args, k, None) is not None}
    if getattr(args, "mirror", None) is not None:
        run["data"] = {"mirror": args.mirror}
    return deep_merge(params, run)


def _check_device(name: str, flag: str = "--device") -> None:
    from .runtime import select_device

    try:
        select_device(name or "auto")
    except RuntimeError as err:
        raise UsageError(f"{flag} {name}: {err}") from None


def _add_params_file(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("params")
    g.add_argument("--params", type=Path, help="params file for the defaults (default: ./params.yaml if present)")
    g.add_argument("--scale", help="scale of params.yaml to resolve: paper | laptop | ci (default: its `scale`)")
    g.add_argument("--mirror", help="offline data mirror folder (default: params data.mirror, then $AUGPRIOR_MIRROR)")


def _add_run(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("run")
    options.add_arguments(g, options.Params, skip=tuple(n for n in options.Params.model_fields
                                                         if n not in ("seed", "device", "precision", "num_threads")),
                          flags={"num_threads": "--threads"})


def _fail(verb: str, err: BaseException, code: int = 2) -> int:
    print(f"augprior {verb}: {'error' if code == 2 else 'failed'}: {' '.join(str(err).split())}", file=sys.stderr)
    return code


# ----------------------------------------------------------------------------- fetch

def cmd_fetch(args: argparse.Namespace) -> int:
    from . import manifest

    for name in args.names:
        if name in manifest.manifest()["datasets"]:
            for fname, path in manifest.resolve_dataset(name, args.mirror).items():
                print(f"{name}: {fname} -> {path}")
        else:
            print(f"{name}: {manifest.resolve_image_file(name, args.mirror)}")
    return 0


# ----------------------------------------------------------------------------- patches

def _add_patches(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("files")
    g.add_argument("--image", required=True,
                   help="paper name (city, animals, animals_large, bridge, universe, noise), library image "
                        "(skimage:coffee, sklearn:china, matplotlib:grace_hopper ...), file path or URL")
    g.add_argument("--out", required=True,
                   help="FILE.npy (+ FILE.json) or a folder (written as .npy shards + index.json)")
    g.add_argument("--md5", default=None, help="expected md5 of the image file (needed for a URL)")
    g.add_argument("--mirror", default=None, help="offline mirror folder (default $AUGPRIOR_MIRROR)")
    g.add_argument("--grid", default=None, help="also save a PNG grid of the first 64 patches here")
    g = p.add_argument_group("patches (params.yaml's patches: block)")
    options.add_arguments(g, PatchOptions)
    g = p.add_argument_group("run")
    g.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (fast engine; default: cpu)")
    g.add_argument("--batch-size", type=int, default=None, help="patches per chunk")
    g.add_argument("--shard-size", type=int, default=None, help="patches per shard (implies a shard folder)")


def cmd_patches(args: argparse.Namespace) -> int:
    from . import manifest
    from .patches import PatchError, PatchSpec, load_patch_set, make_patch_set, save_patch_grid
    from .runtime import select_device

    try:
        cfg = options.resolve(PatchOptions, options.given(args, PatchOptions), "patches")
        _check_device(args.device)
        spec = PatchSpec(size=cfg["size"], jpeg_quality=cfg["jpeg_quality"], vflip=cfg["vflip"])
        meta = make_patch_set(args.image, args.out, spec, num=cfg["num"], seed=cfg["seed"], engine=cfg["engine"],
                              mirror=args.mirror, md5=args.md5, device=str(select_device(args.device)),
                              batch_size=args.batch_size, workers=cfg["workers"], geometry=cfg["geometry"],
                              shard_size=args.shard_size)
        if args.grid:
            save_patch_grid(load_patch_set(args.out), args.grid)
    except (PatchError, manifest.DataError, RuntimeError, ValueError) as err:
        return _fail("patches", err)
    summary = {k: meta[k] for k in ("count", "size", "engine", "seed", "wall_time_s")}
    summary["source"] = meta["source"]["name"]
    summary["out"] = str(args.out)
    print(json.dumps(summary))
    return 0


# ----------------------------------------------------------------------------- train-teacher

def _add_train_teacher(p: argparse.ArgumentParser) -> None:
    _add_params_file(p)
    g = p.add_argument_group("files")
    g.add_argument("--dataset", default="cifar10_jpeg", metavar="DATASET",
                   help="dataset to train on: cifar10, cifar100, cifar10_jpeg, fashion_mnist, or your own "
                        "imagefolder:PATH laid out as PATH/train/<class>/*.{jpg,png,bmp,gif,webp,tif,ppm,pgm} and PATH/test/<class>/* "
                        "(or val/); class names are the sorted folder names; every image, grayscale or any size, "
                        "becomes RGB, resized (shorter side) and centre-cropped to --image-size, by default the "
                        "architecture's input size (32 px for CIFAR-style nets, 224 for tv:/timm:); see the "
                        "README's 'Your own images and datasets' (default: cifar10_jpeg)")
    g.add_argument("--out", required=True, type=Path, help="output folder (model.pt, metrics.json, state.pt)")
    g = p.add_argument_group("teacher (params.yaml's teacher: block; defaults from params.yaml)")
    options.add_arguments(g, TeacherOptions, dest_prefix="teacher.")
    _add_run(p)


def teacher_job_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The train_teacher() job: the workflow's teacher job for the params, command-line options over it."""
    from .jobs import teacher_job

    params = _run_overrides(_load_params(args, required=True), args)
    spec = dict(teacher_job(params, args.dataset, getattr(args, "teacher.arch", None), params["seed"]).spec)
    spec["teacher"] = options.resolve(TeacherOptions, {**spec["teacher"], **options.given(args, TeacherOptions,
                                                                                            "teacher.")}, "teacher")
    return spec


def cmd_train_teacher(args: argparse.Namespace) -> int:
    from .manifest import DataError
    from .teacher import train_teacher

    try:
        job = teacher_job_from_args(args)
        _check_device(job["device"])
    except (OptionsError, DataError, UsageError, FileNotFoundError) as err:
        return _fail("train-teacher", err)
    _threads(getattr(args, "num_threads", None))
    try:
        metrics = train_teacher(job, args.out)
    except (DataError, ValueError, FileNotFoundError) as err:
        return _fail("train-teacher", err)
    print(json.dumps({k: metrics[k] for k in ("top1", "top5")}))
    return 0


def _threads(n: int | None) -> None:
    if n:
        import torch

        torch.set_num_threads(n)


# ----------------------------------------------------------------------------- distill

def _add_distill(p: argparse.ArgumentParser) -> None:
    _add_params_file(p)
    g = p.add_argument_group("files")
    g.add_argument("--teacher", required=True, type=Path, help="teacher model file (the teacher trainer's model.pt)")
    g.add_argument("--out", required=True, type=Path, help="output folder (student.pt, metrics.json, state.pt)")
    g = p.add_argument_group("inputs")
    g.add_argument("--input", choices=INPUT_KINDS, help="what the networks are shown (default: patches)")
    g.add_argument("--patches", type=Path, help="patch set file (uint8 (N, P, P, 3) .npy)")
    g.add_argument("--input-dataset", help="dataset of --input dataset (default: the test dataset)")
    g.add_argument("--subset", type=int, help="--input dataset: a fixed seeded sample of N training images "
                                              "spread over the classes (capped by params full_data_subset)")
    g.add_argument("--noise", choices=["normal", "uniform"], help="--input noise_mix: noise kind (default normal)")
    g.add_argument("--noise-alpha", type=float, help="--input noise_mix: weight of the noise (Table 11: 0.8, 0.5)")
    g.add_argument("--num", type=int, help="images per epoch for fresh inputs (noise; default: params patches.num)")
    g.add_argument("--dataset", help="test dataset (default: the teacher's dataset)")
    g = p.add_argument_group("distillation (params.yaml's distill: block; defaults from params.yaml)")
    options.add_arguments(g, DistillOptions, dest_prefix="distill.", skip=("signal",))
    g.add_argument("--signal", dest="distill.signal", type=_signal, metavar="SIGNAL", default=argparse.SUPPRESS,
                   help=f"{DistillOptions.model_fields['signal'].description}: full | topk | argmax | topN "
                        "(= topk with k=N) (default: full)")
    g = p.add_argument_group("augmentation (distill.augment)")
    g.add_argument("--imagenet-augment", action="store_true",
                   help="start from the official ImageNet set (random resized crop 224, color jitter p=0.8, "
                        "grayscale p=0.2, solarize p=0.2, flip, CutMix Beta(1,1))")
    options.add_arguments(g, AugmentOptions, dest_prefix="augment.")
    _add_run(p)


def _signal(text: str) -> dict[str, Any]:
    """--signal: full | topk | argmax | topN, as distill options."""
    from .jobs import signal_overrides

    try:
        return {"signal": "topk"} if text == "topk" else signal_overrides(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _source(args: argparse.Namespace) -> tuple[str, str]:
    """(input kind, the source in the workflow's mini-language (augprior.sources)) of the command line."""
    kind = args.input or "patches"
    if kind == "dataset":
        name = args.input_dataset or args.dataset or "_teacher_dataset_"
        return kind, f"dataset:{name}" + (f":{args.subset}" if args.subset else "")
    if kind in ("noise_uniform", "noise_normal"):
        return kind, kind
    if kind == "noise_mix":
        if args.noise_alpha is None:
            raise UsageError("--input noise_mix needs --noise-alpha (input.alpha: the noise weight, e.g. 0.8 or 0.5)")
        return kind, f"mix{args.noise_alpha}:{args.patches or 'patches'}"
    return kind, str(args.patches or "patches")


def distill_job_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The distill() job of the command line, built by the workflow's `jobs.distill_job` (params defaults,
    then command-line options), with the teacher and patch files named on the command line."""
    from .augment import IMAGENET_AUGMENT
    from .jobs import distill_job

    params = _load_params(args) or _builtin_params()
    params = _run_overrides(params, args)
    overrides = options.given(args, DistillOptions, "distill.")
    overrides.update(overrides.pop("signal", {}))
    aug = dict(IMAGENET_AUGMENT) if args.imagenet_augment else dict(params["distill"]["augment"])
    aug.update(options.given(args, AugmentOptions, "augment."))
    overrides["augment"] = aug
    kind, source = _source(args)
    job = distill_job(params, args.dataset or "", source, params["seed"], **overrides)
    spec = dict(job.spec)
    options.validate(DistillOptions, spec["distill"], "distill")  # cross-option checks (loss and signal)
    spec["teacher_path"] = str(args.teacher)
    if not args.dataset:
        spec.pop("dataset", None)  # the engine takes the teacher's
    spec.pop("patches_path", None)
    if kind == "patches":
        spec.pop("input", None)
        spec["input"] = {"kind": "patches"}
        if args.patches is not None:
            spec["patches_path"] = str(args.patches)
    else:
        spec["input"] = dict(spec["input"])
        if kind == "dataset" and spec["input"]["name"] == "_teacher_dataset_":
            del spec["input"]["name"]  # the engine takes the test dataset
        if kind == "noise_mix":
            spec["input"]["noise"] = args.noise or "normal"
            if args.patches is not None:
                spec["input"]["path"] = str(args.patches)
            else:
                del spec["input"]["path"]
    if args.num is not None:
        spec["input"]["num"] = args.num
    return spec


def cmd_distill(args: argparse.Namespace) -> int:
    from .manifest import DataError
    from .distill import distill

    try:
        job = distill_job_from_args(args)
        _check_device(job["device"])
        metrics = distill(job, args.out)
    except (DataError, ValueError, FileNotFoundError) as err:
        return _fail("distill", err)
    except (FloatingPointError, RuntimeError) as err:
        return _fail("distill", err, 1)
    summary = {k: metrics[k] for k in ("top1", "top5", "agreement", "teacher_top1")}
    summary["out"] = str(args.out)
    print(json.dumps(summary))
    return 0


# ----------------------------------------------------------------------------- table

def _targets() -> dict[str, str]:
    from .experiments import EXPERIMENTS

    return {name: EXPERIMENTS.get(name).target for name in EXPERIMENTS}


def cmd_table(args: argparse.Namespace) -> int:
    target = _targets()[args.name]
    cmd = [sys.executable, "-m", "snakemake", "--cores", str(args.cores), target]
    if args.scale:
        cmd += ["--config", f"scale={args.scale}"]
    if args.profile:
        cmd += ["--workflow-profile", args.profile]
    if args.dry_run:
        cmd.append("-n")
    print("+", " ".join(cmd[2:]), file=sys.stderr)
    rc = subprocess.call(cmd)
    if rc == 0 and not args.dry_run:
        print(Path(target).with_suffix(".md").read_text())
    return rc


# ----------------------------------------------------------------------------- patch-predictions

def _add_patch_predictions(p: argparse.ArgumentParser) -> None:
    from .experiments.fig9 import Fig9Params

    g = p.add_argument_group("files")
    g.add_argument("--teacher", required=True, help="a model file (model.pt of train-teacher, or any save_model file)")
    g.add_argument("--patches", required=True, help="a patch set (`augprior patches --image ANY --out P.npy`)")
    g.add_argument("--out", required=True, help="the grid, PNG (its numbers go to the same name with .csv)")
    g = p.add_argument_group("grid (params.yaml's fig9: block)")
    options.add_arguments(g, Fig9Params, "grid_", skip=("dataset", "table", "one_image"), flags={"patches": "--num"})
    p.add_argument("--seed", type=int, default=0, help="which patches are drawn (default: 0)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default: auto)")


def cmd_patch_predictions(args: argparse.Namespace) -> int:
    from .analysis import patch_predictions
    from .distill import DISTILL_DEFAULTS
    from .experiments.fig9 import Fig9Params

    _check_device(args.device)
    grid = {**Fig9Params().model_dump(), **options.given(args, Fig9Params, "grid_")}
    df = patch_predictions.from_files(args.teacher, args.patches, args.out, n=grid["patches"], seed=args.seed,
                                      temperature=grid["temperature"] or DISTILL_DEFAULTS["temperature"],
                                      columns=grid["columns"], device=args.device)
    top1 = df[df["rank"] == 1]
    print(f"{args.out}: {len(top1)} patches, mean top-1 probability {top1.prob.mean():.3f}, "
          f"{top1['class'].nunique()} distinct top-1 classes (numbers: {args.out.rsplit('.', 1)[0]}.csv)")
    return 0


# ----------------------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="augprior", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="VERB")

    def verb(name: str, help_: str, add, func) -> None:
        p = sub.add_parser(name, help=help_, description=help_)
        add(p)
        p.set_defaults(func=func)

    def add_fetch(p: argparse.ArgumentParser) -> None:
        p.add_argument("names", nargs="+", help="dataset or image names from the manifest")
        p.add_argument("--mirror", help="offline mirror folder (default: $AUGPRIOR_MIRROR)")

    def add_table(p: argparse.ArgumentParser) -> None:
        p.add_argument("name", choices=list(_targets()), help="table or figure")
        p.add_argument("--scale", help="paper | laptop | ci (default: params.yaml's scale)")
        p.add_argument("--cores", default="all", help="snakemake --cores (default: all)")
        p.add_argument("--profile", help="snakemake workflow profile folder, e.g. profiles/ci")
        p.add_argument("-n", "--dry-run", action="store_true", help="only show what would run")

    verb("fetch", "resolve data files (cache -> mirror -> download) and verify md5", add_fetch, cmd_fetch)
    verb("patches", "generate a patch set from one image", _add_patches, cmd_patches)
    verb("train-teacher", "train a supervised teacher", _add_train_teacher, cmd_train_teacher)
    verb("distill", "distil a teacher into a fresh student (augprior.distill)", _add_distill, cmd_distill)
    verb("patch-predictions", "Figs 8/9 for any teacher and image: random patches with the teacher's top-5",
         _add_patch_predictions, cmd_patch_predictions)
    verb("table", "regenerate a paper table or figure through the workflow and print it", add_table, cmd_table)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .config import ParamsError
    from .manifest import DataError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (DataError, ParamsError, UsageError, FileNotFoundError) as err:
        print(f"augprior: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    except Exception as err:
        if _runtime_failure(err):
            return _fail(args.command, err, 1)
        raise


def _runtime_failure(err: BaseException) -> bool:
    """A failure whose message is the whole story (no traceback): a full disk or read-only folder, an
    output folder in use, an unreadable model or state file, a NaN or diverging loss."""
    from .fileio import StorageError
    from .models import CheckpointError
    from .runner import RunLocked

    return isinstance(err, (StorageError, RunLocked, CheckpointError, FloatingPointError))


if __name__ == "__main__":
    sys.exit(main())
