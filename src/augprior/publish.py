"""Share finished models through DVC without DVC ever owning results/.

    python -m augprior.publish export --scale ci   # copy finished jobs into models/ci/, `dvc add models/ci`
    git add models/ci.dvc models/.gitignore && git commit -m "models (ci)" && dvc push
    # a collaborator, in a fresh clone:
    dvc pull models/ci.dvc && python -m augprior.publish restore && snakemake ... (retrains nothing)

Snakemake owns results/ (DVC ignores it, .dvcignore); DVC owns models/<scale>/, a copy of every finished
job's rule outputs (teacher model.pt + metrics.json, patch and synthetic sets, students), in the same
<kind>/<job id>/ layout. `restore` copies a published job back into results/<scale>/ only where results/
has no folder for it (it never replaces or adds to what Snakemake started), stamped after the rule scripts
and sources (patches, synthetic sets, teachers) before students, so Snakemake sees every restored job as
up to date. Every DVC stage runs `restore` before Snakemake, so `dvc pull && dvc repro` retrains nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from . import fileio
from .jobs import RESULTS

MODELS = "models"
# a job's rule outputs (workflow/rules/*.smk), by kind; the last one is written last (its presence = finished)
FILES = {"patches": ("patches.json", "patches.npy"), "synthetic": ("synthetic.json", "synthetic.npy"),
         "teacher": ("model.pt", "metrics.json"), "distill": ("student.pt", "metrics.json"),
         "zeroskd": ("student.pt", "metrics.json")}
# restore order: sources first (older modification time), then the jobs that read them
LEVEL = {"patches": 0, "synthetic": 0, "teacher": 0, "distill": 1, "zeroskd": 1}


def finished_jobs(root: Path) -> Iterator[tuple[str, Path]]:
    """(kind, job folder relative to root) of every job under root (<kind>/<job id>/) with all its files."""
    for kind, names in FILES.items():
        base = root / kind
        if not base.is_dir():
            continue
        for marker in sorted(base.rglob(names[-1])):
            job = marker.parent
            if all((job / n).is_file() for n in names) and not (job / "state.pt").exists():
                yield kind, job.relative_to(root)


def _copy(src: Path, dst: Path) -> None:
    """Copy src onto dst atomically (a new file; a read-only or hard-linked dst is never written in place)."""
    with fileio.atomic_path(dst, suffix=dst.suffix) as tmp:
        shutil.copyfile(src, tmp)
    st = src.stat()
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))


def export(scale: str, repo: Path = Path("."), dvc_add: bool = True) -> int:
    """Copy every finished job of results/<scale> into models/<scale> (additive); then `dvc add` it."""
    src_root, dst_root = repo / RESULTS / scale, repo / MODELS / scale
    n = 0
    for kind, job in finished_jobs(src_root):
        for name in FILES[kind]:
            src, dst = src_root / job / name, dst_root / job / name
            if dst.exists() and dst.stat().st_size == src.stat().st_size and \
                    dst.stat().st_mtime_ns == src.stat().st_mtime_ns:
                continue
            _copy(src, dst)
        n += 1
    print(f"augprior publish: {n} finished jobs of scale {scale} in {dst_root}")
    if dvc_add and n:
        subprocess.run(["dvc", "add", str(Path(MODELS) / scale)], cwd=repo, check=True)
        print(f"now: git add {MODELS}/{scale}.dvc {MODELS}/.gitignore && git commit && dvc push")
    return n


def restore(repo: Path = Path("."), scales: list[str] | None = None) -> int:
    """Copy published jobs that results/ lacks back into results/ (never replacing a file), sources older."""
    models = repo / MODELS
    if not models.is_dir():
        return 0
    # Snakemake reruns a job whose outputs are older than its rule's script: stamp after the newest one
    scripts = [p.stat().st_mtime for p in (repo / "workflow/scripts").glob("*.py")]
    base = max([time.time() - 60] + [t + 1 for t in scripts])
    n = 0
    for scale_dir in sorted(p for p in models.iterdir() if p.is_dir()):
        if scales and scale_dir.name not in scales:
            continue
        for kind, job in finished_jobs(scale_dir):
            dst_dir = repo / RESULTS / scale_dir.name / job
            if dst_dir.exists():
                continue  # Snakemake's (finished, running, or partial with its state.pt): never touched
            stamp = base + 2 * LEVEL[kind]
            for i, name in enumerate(FILES[kind]):
                _copy(scale_dir / job / name, dst_dir / name)
                os.utime(dst_dir / name, (stamp + i, stamp + i))
            n += 1
    if n:
        print(f"augprior restore: {n} published jobs copied into {RESULTS}/ (none replaced)", file=sys.stderr)
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m augprior.publish", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export", help="copy finished jobs of a scale into models/<scale> and `dvc add` it")
    e.add_argument("--scale", required=True)
    e.add_argument("--no-dvc", action="store_true", help="copy only (no `dvc add`)")
    r = sub.add_parser("restore", help="copy published jobs that results/ lacks back into results/")
    r.add_argument("--scale", action="append", help="only this scale (repeatable; default: every published)")
    args = ap.parse_args(argv)
    if args.cmd == "export":
        return 0 if export(args.scale, dvc_add=not args.no_dvc) else 1  # nothing finished: nothing to share
    restore(scales=args.scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
