"""ImageNet-C (Hendrycks & Dietterich, ICLR 2019) evaluation of a 224-px ImageNet classifier (Table 16).

Data, per corruption and severity:
- the released benchmark: `<root>/<folder>/<severity>/<wnid>/*.JPEG` (the release's folder names, e.g.
  gaussian_noise, jpeg_compression: resources/imagenet_c_alexnet.yaml), 224 x 224 images read as the benchmark's
  ImageNet-C/test.py reads them (centre crop 224, no resize);
- or, where that folder is absent and the job was planned to make it (`generate`), the ImageNet val images
  (resize 256, centre crop 224, as the benchmark's generator) corrupted here by augprior.corruptions with
  ImageNet-C's constants and JPEG-encoded at quality 85, as the released files were, then evaluated in memory.
The clean error is on the val set at resize 256 / centre crop 224. Labels are the sorted wnids of
`<imagenet>/train` (torchvision's ImageFolder order, which the teachers and students are trained with).

Corruption error (their definition): CE_c = 100 x sum_s E_{s,c}(f) / sum_s E_{s,c}(AlexNet). AlexNet's errors are
published as each corruption's mean over the five severities, so CE_c = 100 x mean_s E_{s,c}(f) / that mean: exact
for severities 1-5 (a run over fewer severities, a smoke test, takes the mean over those it evaluated). mCE is the
mean CE over the corruptions evaluated (all 15 in Table 16).

The job is resumable (augprior.runner): state.pt after every (corruption, severity); SIGTERM checkpoints there.
"""

from __future__ import annotations

import copy
import io
import os
import statistics
import time
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from . import corruptions, manifest
from .jobs import IMAGEFOLDER_PREFIX, Job, common, job_path
from .provenance import params_hash, provenance

STATE_VERSION = 1
JPEG_QUALITY = 85  # the released files' encoding (make_imagenet_c.py: save(..., quality=85, optimize=True))
DEFAULT_ROOT = "imagenet-c"  # <mirror>/data/imagenet-c when no root is given


@lru_cache(maxsize=1)
def reference() -> dict[str, Any]:
    """AlexNet's per-corruption errors (fractions), their source, and the benchmark's folder names."""
    ref = yaml.safe_load(resources.files("augprior").joinpath("resources/imagenet_c_alexnet.yaml").read_text())
    if set(ref["errors"]) != set(corruptions.CORRUPTIONS) or set(ref["folders"]) != set(corruptions.CORRUPTIONS):
        raise ValueError("resources/imagenet_c_alexnet.yaml must list every corruption of augprior.corruptions")
    return ref


def folder(root: str | os.PathLike, name: str, severity: int) -> Path:
    """The released benchmark's folder of corruption `name` at `severity` under `root`."""
    return Path(root) / reference()["folders"][name] / str(severity)


def resolve_root(given: str | None, mirror: str | None) -> Path | None:
    """The ImageNet-C root: `given`, else <mirror>/data/imagenet-c (None when neither is set)."""
    if given:
        return Path(given).expanduser().resolve()
    m = manifest.mirror_dir(mirror)
    return None if m is None else m / "data" / DEFAULT_ROOT


def missing(root: Path | None, names: list[str], severities: list[int]) -> list[str]:
    """'<corruption>/<severity>' of every released folder that is not under `root`."""
    return [f"{c}/{s}" for c in names for s in severities if root is None or not folder(root, c, s).is_dir()]


def corruption_errors(errors: dict[str, dict[int, float]]) -> tuple[dict[str, float], float]:
    """({corruption: CE}, mCE) from top-1 errors in % per corruption and severity (AlexNet-normalised)."""
    alex = reference()["errors"]
    ce = {c: statistics.fmean(by_s.values()) / alex[c] for c, by_s in errors.items()}
    return ce, statistics.fmean(ce.values())


def metric_key(column: str) -> str:
    """The metrics.json key of a Table 16 column: clean_error, mce, or ce_<corruption>."""
    return column if column in ("clean_error", "mce") else f"ce_{column}"


def job(params: dict[str, Any], model: Job, dataset: str, *, root: Path | None, names: list[str],
        severities: list[int], generate: list[str], batch_size: int, workers: int,
        max_images: int | None) -> Job:
    """The evaluation of teacher or student job `model` on ImageNet-C (`dataset`: the imagefolder: name of the
    clean ImageNet; `generate`: the '<corruption>/<severity>' made here rather than read from `root`)."""
    cfg = {"root": None if root is None else str(root), "corruptions": list(names), "severities": list(severities),
           "generate": sorted(generate), "jpeg_quality": JPEG_QUALITY, "batch_size": batch_size,
           "max_images": max_images, "alexnet": reference()["source"]}
    digest = params_hash({"model": model.id, "dataset": dataset, "imagenet_c": cfg})[:8]
    name = "model.pt" if model.kind == "teacher" else "student.pt"
    spec = {**common(params, model.spec["seed"]), "dataset": dataset, "model_path": job_path(model, name),
            "model": f"{model.kind}/{model.id}", "imagenet_c": {**cfg, "workers": workers}}
    return Job("imagenet_c", f"{model.kind}/{model.id}/{digest}", spec, needs=(model,))


# ----------------------------------------------------------------------------- the run

def _released(base, root: str, name: str, severity: int, n: int | None):
    """The released folder of `name`/`severity` as a dataset like the clean val set `base` (same classes)."""
    import torch

    from .datasets import IMAGE_EXTENSIONS

    where = folder(root, name, severity)
    if not where.is_dir():
        raise manifest.DataError(f"ImageNet-C folder {where} is missing (the job was planned to read it; "
                                 "replan, or give the released benchmark's folders)")
    index = {c: i for i, c in enumerate(base.classes)}
    paths, labels = [], []
    for d in sorted(p for p in where.iterdir() if p.is_dir()):
        if d.name not in index:
            raise manifest.DataError(f"ImageNet-C folder {d}: class {d.name!r} is not a class of the ImageNet train folder")
        files = sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
        paths += files
        labels += [index[d.name]] * len(files)
    if not paths:
        raise manifest.DataError(f"ImageNet-C folder {where}: no images in its class sub-folders")
    ds = copy.copy(base)
    ds.paths, ds.labels, ds.folder, ds.resize, ds._images = paths, torch.tensor(labels), where, 224, None
    return ds.subset(n) if n and n < len(ds) else ds


def _jpeg(images: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    out = np.empty_like(images)
    for i, img in enumerate(images):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", quality=quality, optimize=True)
        out[i] = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    return out


def evaluate(spec: dict[str, Any], out_dir: str | os.PathLike) -> dict[str, Any]:
    """Run an imagenet_c job: clean error, top-1 error per corruption and severity, CE and mCE -> metrics.json."""
    import torch

    from .checkpoint import load_model
    from .datasets import ImageFolderDataset, normalization
    from .evaluate import predict_dataset, predict_logits
    from .runner import ResumableRun
    from .runtime import select_device, use_bf16

    started = time.time()
    cfg = spec["imagenet_c"]
    device = select_device(spec.get("device") or "auto")
    bf16 = use_bf16(device, spec.get("precision") or "auto")
    steps = [("clean", 0)] + [(c, s) for c in cfg["corruptions"] for s in cfg["severities"]]
    run = ResumableRun(out_dir, kind="ImageNet-C evaluation", version=STATE_VERSION)
    with run:
        model, meta = load_model(spec["model_path"], device)
        mean, std = (tuple(meta["mean"]), tuple(meta["std"])) if "mean" in meta and "std" in meta else \
            normalization(spec["dataset"])
        clean = ImageFolderDataset(spec["dataset"].removeprefix(IMAGEFOLDER_PREFIX), "val", 224, resize=256,
                                   workers=cfg["workers"])
        n = cfg["max_images"]
        clean = clean.subset(n) if n and n < len(clean) else clean
        bs = cfg["batch_size"]
        run.resume({"model": spec["model"], "dataset": spec["dataset"], "imagenet_c": cfg}, {}, {"done": 0},
                   errors={}, counts={})
        errors, counts = run.extras["errors"], run.extras["counts"]

        def error_of(ds) -> float:
            logits = predict_dataset(model, ds, mean, std, device, bf16, bs)
            return 100.0 * float((logits.argmax(1) != ds.labels).float().mean())

        for k in range(run.position["done"], len(steps)):
            name, s = steps[k]
            key = f"{name}/{s}"
            if name == "clean":
                errors[key], counts[key] = error_of(clean), len(clean)
            elif key in cfg["generate"]:
                wrong = 0
                for b, (x, y) in enumerate(clean.iter_batches(bs)):
                    xc = corruptions.corrupt(name, x.permute(0, 2, 3, 1).numpy(), s, seed=(spec["seed"], b),
                                             preset="imagenet")
                    xc = torch.from_numpy(_jpeg(xc, cfg["jpeg_quality"])).permute(0, 3, 1, 2).contiguous()
                    logits = predict_logits(model, xc, mean, std, device, bf16, bs)
                    wrong += int((logits.argmax(1) != y).sum())
                errors[key], counts[key] = 100.0 * wrong / len(clean), len(clean)
            else:
                ds = _released(clean, cfg["root"], name, s, n)
                errors[key], counts[key] = error_of(ds), len(ds)
            print(f"{key}: top-1 error {errors[key]:.2f}% on {counts[key]} images", flush=True)
            run.boundary({"done": k + 1}, save=True, errors=errors, counts=counts)
        by_c = {c: {s: errors[f"{c}/{s}"] for s in cfg["severities"]} for c in cfg["corruptions"]}
        ce, mce = corruption_errors(by_c)
        metrics = {"top1": 100.0 - errors["clean/0"], "clean_error": errors["clean/0"], "mce": mce,
                   **{metric_key(c): v for c, v in ce.items()}, "n": counts["clean/0"],
                   "errors": {k: v for k, v in errors.items() if k != "clean/0"},
                   "counts": {k: v for k, v in counts.items() if k != "clean/0"},
                   "sources": {f"{c}/{s}": "generated" if f"{c}/{s}" in cfg["generate"] else "released"
                               for c in cfg["corruptions"] for s in cfg["severities"]},
                   "alexnet_errors": {c: reference()["errors"][c] for c in cfg["corruptions"]},
                   "alexnet_source": reference()["source"], "model": spec["model"],
                   "provenance": provenance(spec, scale=spec.get("scale"), seed=spec.get("seed"), device=device,
                                            started=started)}
        return run.finalize(metrics, {})
