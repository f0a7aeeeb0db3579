"""`augprior`: the command line for humans, calling the same library as the workflow."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
from pathlib import Path

from .experiments import FIGURES, TABLES


def _params(args: argparse.Namespace) -> dict:
    from . import config

    overrides = {"scale": args.scale} if args.scale else {}
    return config.load(args.params, overrides)


def cmd_fetch(args: argparse.Namespace) -> int:
    from . import data

    for name in args.names:
        if name in data.manifest()["datasets"]:
            for fname, path in data.resolve_dataset(name, args.mirror).items():
                print(f"{name}: {fname} -> {path}")
        else:
            print(f"{name}: {data.resolve_image_file(name, args.mirror)}")
    return 0


def cmd_train_teacher(args: argparse.Namespace) -> int:
    from .experiments import Plan
    from .teacher import train_teacher

    params = _params(args)
    job = dict(Plan(params).teacher(args.dataset, args.arch, args.seed).spec)
    for key in ("epochs", "batch_size", "lr", "schedule"):
        if getattr(args, key) is not None:
            job["teacher"] = {**job["teacher"], key: getattr(args, key)}
    job.update({k: v for k, v in (("device", args.device), ("precision", args.precision),
                                   ("mirror", args.mirror)) if v is not None})
    _threads(args.threads)
    metrics = train_teacher(job, args.out)
    print(json.dumps({k: metrics[k] for k in ("top1", "top5")}))
    return 0


def cmd_table(args: argparse.Namespace) -> int:
    target = f"paper_tables/{args.name}.{'png' if args.name in FIGURES else 'csv'}"
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


def _threads(n: int | None) -> None:
    if n:
        import torch

        torch.set_num_threads(n)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    p.add_argument("--scale", help="paper | laptop | ci (default: params.yaml's scale)")
    p.add_argument("--mirror", help="offline mirror folder (default: $AUGPRIOR_MIRROR)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="augprior", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fetch", help="resolve data files (cache -> mirror -> download) and verify md5")
    p.add_argument("names", nargs="+", help="dataset or image names from the manifest")
    p.add_argument("--mirror")
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("patches", help="generate a patch set from one image")
    _plugin("augprior.patches.cli", p)

    p = sub.add_parser("train-teacher", help="train a supervised teacher")
    _add_common(p)
    p.add_argument("--dataset", default="cifar10_jpeg")
    p.add_argument("--out", required=True, type=Path, help="output folder (model.pt, metrics.json)")
    p.add_argument("--arch")
    p.add_argument("--seed", type=int)
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--schedule", choices=["paper", "onecycle"])
    p.add_argument("--device")
    p.add_argument("--precision", choices=["auto", "bf16", "fp32"])
    p.add_argument("--threads", type=int)
    p.set_defaults(func=cmd_train_teacher)

    p = sub.add_parser("distill", help="distil a teacher into a student on a patch set")
    _plugin("augprior.distill_cli", p)

    p = sub.add_parser("table", help="regenerate a paper table or figure through the workflow and print it")
    p.add_argument("name", choices=TABLES + FIGURES)
    p.add_argument("--scale")
    p.add_argument("--cores", default="all")
    p.add_argument("--profile", help="snakemake workflow profile folder, e.g. profiles/ci")
    p.add_argument("-n", "--dry-run", action="store_true")
    p.set_defaults(func=cmd_table)
    return parser


def _plugin(module: str, parser: argparse.ArgumentParser) -> None:
    """Subcommands whose options live next to their library code: add_arguments + run.

    A module that fails to import breaks only its own subcommand, with the import error as message.
    """
    try:
        mod = importlib.import_module(module)
    except ImportError as err:
        def broken(args: argparse.Namespace, err: ImportError = err) -> int:
            raise SystemExit(f"augprior: {parser.prog} is unavailable: {err}")

        parser.set_defaults(func=broken)
        return
    mod.add_arguments(parser)
    parser.set_defaults(func=mod.run)


def main(argv: list[str] | None = None) -> int:
    from .config import ParamsError
    from .data import DataError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (DataError, ParamsError, FileNotFoundError) as err:
        print(f"augprior: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
