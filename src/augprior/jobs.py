"""Job identity and the one results layout, used by the workflow rules, the tables and the CLI alike.

A job is a plain dict (what the library function receives) plus an id that becomes its folder:

    results/<scale>/<kind>/<id>/<file>        (logs: results/<scale>/logs/<kind>/<id>.log)

Ids are readable and end in a short hash of everything that defines the job, so cells that need the same
run share one folder, and changing a parameter gives a new folder instead of overwriting an old result.
The builders below are pure functions of the resolved params: nothing is registered anywhere; a job names
the jobs whose files it reads in `needs`, so the workflow collects every job from the cells that want it.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .config import deep_merge
from .provenance import params_hash

RESULTS = "results"
KINDS = ("teacher", "patches", "synthetic", "distill", "zeroskd", "compress",
         "video_teacher", "fakevideos", "video_distill",  # video kinds: augprior.video.jobs
         "transfer",  # frozen features of a 224-px model on a transfer task (Table 15): augprior.analysis.transfer_224
         "audio_teacher", "audio_clips", "audio_distill",  # audio kinds: augprior.audio.jobs
         "imagenet_c")  # evaluations of a 224-px model on ImageNet-C: augprior.imagenet_c
# which file marks a finished job of each kind
OUTPUTS = {"teacher": "metrics.json", "patches": "patches.npy", "synthetic": "synthetic.npy",
           "transfer": "metrics.json",
           "distill": "metrics.json", "zeroskd": "metrics.json", "compress": "metrics.json",
           "video_teacher": "metrics.json", "fakevideos": "fakevideos.npy", "video_distill": "metrics.json",
           "audio_teacher": "metrics.json", "audio_clips": "clips.npy", "audio_distill": "metrics.json",
           "imagenet_c": "metrics.json"}
AUG_KEYS = ("hflip", "random_crop", "mixup", "cutmix")
AUG_SHORT = {"hflip": "flip", "random_crop": "crop", "mixup": "mixup", "cutmix": "cutmix"}


@dataclass(frozen=True)
class Job:
    kind: str  # teacher | patches | synthetic | distill | zeroskd
    id: str
    spec: dict = field(hash=False, compare=False)
    scale: str | None = field(default=None, compare=False)  # default: spec["scale"]
    needs: tuple["Job", ...] = field(default=(), hash=False, compare=False, repr=False)  # jobs whose files it reads

    def __post_init__(self) -> None:
        if self.scale is None:
            object.__setattr__(self, "scale", self.spec["scale"])


# -- the results layout -----------------------------------------------------------------------
def results_dir(scale: str, root: str = RESULTS) -> str:
    return f"{root}/{scale}"


def layout(scale: str, kind: str, job_id: str = "{job}", name: str | None = None, root: str = RESULTS) -> str:
    """Path of file `name` (default: the kind's finished marker) of job `job_id`; "{job}" gives a rule pattern."""
    return f"{results_dir(scale, root)}/{kind}/{job_id}/{name or OUTPUTS[kind]}"


def log_path(scale: str, kind: str, job_id: str = "{job}", root: str = RESULTS) -> str:
    return f"{results_dir(scale, root)}/logs/{kind}/{job_id}.log"


def job_path(job: Job, name: str | None = None, root: str = RESULTS) -> str:
    return layout(job.scale, job.kind, job.id, name, root)


def job_dir(job: Job, root: str = RESULTS) -> str:
    return f"{results_dir(job.scale, root)}/{job.kind}/{job.id}"


def inputs(job: Job) -> dict[str, str]:
    """Files a job reads, for the workflow's input functions."""
    out: dict[str, str] = {}
    if "teacher_path" in job.spec:
        out["teacher"] = job.spec["teacher_path"]
    if "patches_path" in job.spec:
        out["patches"] = job.spec["patches_path"]
    if "fakevideos_path" in job.spec:
        out["fakevideos"] = job.spec["fakevideos_path"]
    if "clips_path" in job.spec:  # an audio clip set
        out["clips"] = job.spec["clips_path"]
    if job.kind == "audio_clips" and job.spec.get("source_md5"):
        out["source"] = job.spec["source"]  # a user's clip file
    if "checkpoint_path" in job.spec:  # a user's teacher file (video teachers)
        out["checkpoint"] = job.spec["checkpoint_path"]
    if "model_path" in job.spec:  # the model an evaluation job reads (imagenet_c)
        out["model"] = job.spec["model_path"]
    if (job.spec.get("input") or {}).get("path"):
        out["data"] = job.spec["input"]["path"]
    if job.kind == "patches" and "image_md5" in job.spec:
        out["image"] = job.spec["image"]  # a user's file: Snakemake sees it (and reruns when it changes)
    return out


def closure(jobs: Iterable[Job]) -> dict[str, dict[str, Job]]:
    """kind -> id -> job for `jobs` and every job they need (teacher, patches, synthetic), recursively."""
    out: dict[str, dict[str, Job]] = {k: {} for k in KINDS}
    todo = list(jobs)
    while todo:
        job = todo.pop()
        if job.id not in out[job.kind]:
            out[job.kind][job.id] = job
            todo.extend(job.needs)
    return out


# -- job builders (pure) ----------------------------------------------------------------------
def common(params: dict[str, Any], seed: int) -> dict[str, Any]:
    return {"seed": seed, "scale": params["scale"], "device": params["device"], "precision": params["precision"],
            "mirror": params["data"]["mirror"], "num_threads": params["num_threads"]}


def teacher_job(params: dict[str, Any], dataset: str, arch: str | None = None, seed: int | None = None) -> Job:
    """A supervised model on `dataset` (a teacher, or a student trained with labels)."""
    cfg = dict(params["teacher"], arch=arch or params["teacher"]["arch"])
    seed = params["seed"] if seed is None else seed
    identity = {"dataset": dataset, "seed": seed, "teacher": cfg}
    if dataset.startswith(IMAGEFOLDER_PREFIX):  # a user's folder: its content is part of the job
        identity["data_fingerprint"] = folder_fingerprint(dataset.removeprefix(IMAGEFOLDER_PREFIX))
    digest = params_hash(identity)[:8]
    spec = {**common(params, seed), "dataset": dataset, "teacher": cfg}
    return Job("teacher", f"{dataset_dir(dataset)}/{slug(cfg['arch'])}_seed{seed}_{digest}", spec)


def source_image(params: dict[str, Any], name: str) -> str:
    """The image a source name's patches are cut from at these params (params' source_images)."""
    return (params.get("source_images") or {}).get(name, name)


def patches_job(params: dict[str, Any], image: str) -> Job:
    cfg, image = params["patches"], source_image(params, image)
    identity = {"image": image, "patches": cfg}
    spec = {"image": image, "mirror": params["data"]["mirror"], "device": params["device"], "patches": cfg}
    user = user_file(image)
    if user is not None:  # a user's file (not a manifest or library image, whose md5 is fixed): its content
        identity["image_md5"] = spec["image_md5"] = file_md5(user)  # None while the file is missing
    digest = params_hash(identity)[:8]
    return Job("patches", f"{slug(image)}/{cfg['size']}px_n{cfg['num']}_{cfg['engine']}_{digest}", spec,
               params["scale"])


def patchify_job(params: dict[str, Any], dataset: str, n: int) -> Job:
    """The single-image patch generator's patches (params' patches block) cut from n training images of
    `dataset` (augprior.patches.patchify): the '(p)' rows of Table 8."""
    cfg = params["patches"]
    image = f"patchify:dataset:{dataset}:{n}"
    identity: dict[str, Any] = {"image": image, "patches": cfg}
    if dataset.startswith(IMAGEFOLDER_PREFIX):  # a user's folder: its content is part of the job
        identity["data_fingerprint"] = folder_fingerprint(dataset.removeprefix(IMAGEFOLDER_PREFIX))
    spec = {"image": image, "patchify": {"dataset": dataset, "n": n}, "mirror": params["data"]["mirror"],
            "device": params["device"], "patches": cfg}
    digest = params_hash(identity)[:8]
    return Job("patches", f"patchify-{dataset_dir(dataset)}-{n}/{cfg['size']}px_n{cfg['num']}_{cfg['engine']}_{digest}",
               spec, params["scale"])


def synthetic_job(params: dict[str, Any], kind: str) -> Job:
    base = params["synthetic"]
    cfg = {"num": base["num"], "size": base["size"], "seed": base["seed"], "options": base.get(kind, {})}
    digest = params_hash({"kind": kind, "synthetic": cfg})[:8]
    spec = {"kind": kind, "device": params["device"], **cfg}
    return Job("synthetic", f"{kind}/{cfg['size']}px_n{cfg['num']}_{digest}", spec, params["scale"])


def distill_config(params: dict[str, Any], source_kind: str, overrides: dict[str, Any],
                   full_data_recipe: bool = True) -> dict[str, Any]:
    """A distillation's distill block: params' distill block; for a dataset source (the paper's "source data"
    distillation) params' distill_full_data merged over it (Appendix C.4.2; null = none; full_data_recipe=False:
    none either, for real images standing in for patches); then `overrides`."""
    cfg = params["distill"]
    if uses_full_data_recipe(params, source_kind, full_data_recipe):
        cfg = deep_merge(cfg, params["distill_full_data"])
    return deep_merge(cfg, overrides)


def uses_full_data_recipe(params: dict[str, Any], source_kind: str, full_data_recipe: bool = True) -> bool:
    return bool(full_data_recipe and source_kind == "dataset" and params.get("distill_full_data"))


def distill_job(params: dict[str, Any], dataset: str, source: str, seed: int, teacher: str | None = None,
                full_data_recipe: bool = True, **overrides: Any) -> Job:
    """Distil teacher `teacher` (default: params' teacher arch) on `dataset` from `source` (see sources.py);
    `overrides` are merged over params' distill block (e.g. student=..., loss=..., augment={...}), and over
    distill_full_data for a dataset source (`distill_config`)."""
    from .sources import parse_source

    t = teacher_job(params, dataset, teacher)
    src = parse_source(params, source)
    cfg = distill_config(params, src.kind, overrides, full_data_recipe)
    if src.kind == "zeroskd":
        raise ValueError("zeroskd has no fixed distillation data: build it with jobs.zeroskd_job")
    made_by = src.made_by
    digest = params_hash({"distill": cfg, "teacher": t.id, "input": src.input,
                          "made_by": made_by.id if made_by else None})[:8]
    job_id = (f"{dataset_dir(dataset)}/{slug(t.spec['teacher']['arch'])}-{slug(cfg['student'])}/{slug(source)}/"
              f"{signal_name(cfg)}_{cfg['loss']}_{aug_slug(cfg['augment'])}_{digest}/seed{seed}")
    spec = {**common(params, seed), "dataset": dataset, "distill": cfg, "teacher_path": job_path(t, "model.pt")}
    if src.input is not None:
        spec["input"] = src.input
    if made_by is not None and made_by.kind == "patches" and src.input is None:
        spec["patches_path"] = job_path(made_by)
    return Job("distill", job_id, spec, needs=(t,) + ((made_by,) if made_by else ()))


def transfer_job(params: dict[str, Any], model: Job, dataset: str, transfer: dict[str, Any]) -> Job:
    """Evaluate the frozen penultimate features of teacher or student job `model` on image folder `dataset`
    with `transfer` (task linear | svm and its settings; augprior.analysis.transfer_224)."""
    identity = {"model": model.id, "dataset": dataset, "transfer": transfer,
                "data_fingerprint": folder_fingerprint(dataset.removeprefix(IMAGEFOLDER_PREFIX))}
    name = "model.pt" if model.kind == "teacher" else "student.pt"
    spec = {**common(params, params["seed"]), "dataset": dataset, "model_path": job_path(model, name),
            "transfer": transfer}
    what = transfer["task"] + (f"{transfer['shots']}shot" if transfer["task"] == "svm" else "")
    return Job("transfer", f"{dataset_dir(dataset)}/{what}_{params_hash(identity)[:8]}/{model.kind}/{model.id}", spec,
               params["scale"], needs=(model,))


def zeroskd_job(params: dict[str, Any], dataset: str, teacher: str, student: str, seed: int) -> Job:
    cfg = dict(params["zeroskd"], student=student)
    t = teacher_job(params, dataset, teacher)
    digest = params_hash({"zeroskd": cfg, "teacher": t.id})[:8]
    spec = {**common(params, seed), "dataset": dataset, "teacher_path": job_path(t, "model.pt"), "zeroskd": cfg}
    return Job("zeroskd", f"{dataset_dir(dataset)}/{teacher}-{student}/{digest}/seed{seed}", spec, needs=(t,))


def compress_job(params: dict[str, Any], dataset: str, source: str, method: str, seed: int,
                 teacher: str | None = None, sparsity: float | None = None) -> Job:
    """Compress the trained teacher `teacher` on `dataset` by self-distillation into a pruned (`sparsity`) or
    quantisation-aware clone of itself, fine-tuned on `source` (see sources.py); augprior.compress."""
    from .sources import parse_source

    t = teacher_job(params, dataset, teacher)
    arch = t.spec["teacher"]["arch"]
    c = params["compress"]
    cfg = {**c, "method": method, **({"sparsity": sparsity} if method == "prune" else {})}
    dcfg = deep_merge(params["distill"], {"student": arch, "epochs": c["epochs"], "batch_size": c["batch_size"],
                                          "lr": c["lr"], "eval_every": 0})
    src = parse_source(params, source)
    if src.kind == "zeroskd":
        raise ValueError("compression needs fixed distillation data, not zeroskd")
    made_by = src.made_by
    digest = params_hash({"compress": cfg, "distill": dcfg, "teacher": t.id, "input": src.input,
                          "made_by": made_by.id if made_by else None})[:8]
    what = f"prune{round(sparsity * 100)}" if method == "prune" else method
    spec = {**common(params, seed), "dataset": dataset, "distill": dcfg, "compress": cfg,
            "teacher_path": job_path(t, "model.pt")}
    if src.input is not None:
        spec["input"] = src.input
    if made_by is not None and made_by.kind == "patches" and src.input is None:
        spec["patches_path"] = job_path(made_by)
    return Job("compress", f"{dataset}/{arch}/{slug(source)}/{what}_{digest}/seed{seed}", spec,
               needs=(t,) + ((made_by,) if made_by else ()))


# -- users' files in job identities -------------------------------------------------------------
IMAGEFOLDER_PREFIX = "imagefolder:"


def user_file(image: str) -> Path | None:
    """The user's image file behind a patch-set source, None for manifest and library images and URLs
    (fixed by their md5), and for patch sets given in the image's place (a .npy file or shard folder)."""
    from .source_images import user_image_path

    path = user_image_path(image)
    if path is None or path.suffix.lower() == ".npy" or path.is_dir():
        return None
    return path


def file_md5(path: str | os.PathLike) -> str | None:
    """md5 of a file's content (None when it does not exist); read every time (a file replaced with
    the same size and mtime is still seen)."""
    from .manifest import md5sum

    try:
        return md5sum(path)
    except FileNotFoundError:
        return None


def folder_fingerprint(root: str | os.PathLike) -> str | None:
    """A cheap fingerprint of a user's image folder: sha256 of every file's relative path, size and
    mtime, in sorted order (no file is read; None when the folder does not exist)."""
    root = Path(root).expanduser()
    if not root.is_dir():
        return None
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(f for f in filenames if not f.startswith(".")):
            path = Path(dirpath) / name
            st = path.stat()
            h.update(f"{path.relative_to(root).as_posix()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


# -- names inside ids -------------------------------------------------------------------------
def signal_overrides(signal: str) -> dict[str, Any]:
    """distill overrides for a teacher signal name: full, argmax or topN."""
    if signal in ("full", "argmax"):
        return {"signal": signal}
    if m := re.fullmatch(r"top(\d+)", signal):
        return {"signal": "topk", "topk": int(m[1])}
    raise ValueError(f"unknown teacher signal {signal!r} (full, argmax or topN)")


def signal_name(distill: dict[str, Any]) -> str:
    """The inverse of signal_overrides: full, argmax or topN."""
    return distill["signal"] if distill["signal"] != "topk" else f"top{distill['topk']}"


def aug_slug(aug: dict[str, Any]) -> str:
    return "-".join(AUG_SHORT[k] for k in AUG_KEYS if aug.get(k)) or "noaug"


def dataset_dir(dataset: str) -> str:
    """A dataset's folder in job ids: its name, or `imagefolder-<folder name>` for a user's image folder
    (its full path and content are in the id's hash)."""
    if dataset.startswith(IMAGEFOLDER_PREFIX):
        return "imagefolder-" + slug(Path(dataset.removeprefix(IMAGEFOLDER_PREFIX)).expanduser().name)
    return dataset


def slug(source: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", source).strip("-")
