"""The distillation-source mini-language: what a table cell distils from, as a string.

  dataset:<name>[:<n>]       the real training images of a dataset (a seeded, class-spread sample of n);
                             <name> may be imagefolder:/path (a folder ending in :<digits> needs the :<n>)
  synthetic:<kind>           a synthetic image set (fractal, stylegan)
  noise_uniform|noise_normal fresh noise every step
  mix<a>:<image>             a * normal noise + (1 - a) * patch of <image>
  zeroskd                    zero-shot KD with an adversarial generator (no fixed data; its own engine)
  patchify:dataset:<name>:<n>  the single-image patch generator's patches cut from the n images of
                             dataset:<name>:<n> (Table 8's '(p)' rows; augprior.patches.patchify)
  <image>                    a patch set cut from a source image (city, animals, skimage:coffee, a path)

Each kind registers itself in SOURCE_KINDS (exact names first, then patterns in order; <image> last).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .jobs import Job, job_path, patches_job, patchify_job, synthetic_job
from .registry import Registry

SOURCE_KINDS: Registry = Registry("distillation source")


@dataclass(frozen=True)
class Source:
    text: str
    kind: str                        # dataset | synthetic | noise | mix | zeroskd | patchified | image
    input: dict[str, Any] | None     # input spec for the distillation engine (None: a patch set)
    made_by: Job | None = None       # the job that makes its file, if any
    datasets: tuple[str, ...] = ()   # datasets it reads (they must be available)


def parse_source(params: dict[str, Any], text: str) -> Source:
    entry = SOURCE_KINDS.entry(text)
    return entry.obj(params, text, **entry.args)


@SOURCE_KINDS.register("dataset:<name>[:<n>]",
                       pattern=r"dataset:(?P<name>[a-z0-9_]+|imagefolder:.+?)(?::(?P<n>\d+))?")
def _dataset(params: dict[str, Any], text: str, *, name: str, n: str | None = None) -> Source:
    subset = int(n) if n else None
    cap = params["full_data_subset"]
    if cap is not None:
        subset = min(subset or cap, cap)
    return Source(text, "dataset", {"kind": "dataset", "name": name, "split": "train", "subset": subset},
                  datasets=(name,))


@SOURCE_KINDS.register("synthetic:<kind>", pattern=r"synthetic:(?P<kind>\w+)")
def _synthetic(params: dict[str, Any], text: str, *, kind: str) -> Source:
    job = synthetic_job(params, kind)
    return Source(text, "synthetic", {"kind": "patches", "path": job_path(job)}, job)


@SOURCE_KINDS.register("noise_uniform|noise_normal", pattern=r"noise_(?:uniform|normal)")
def _noise(params: dict[str, Any], text: str) -> Source:
    return Source(text, "noise", {"kind": text, "num": params["patches"]["num"]})


@SOURCE_KINDS.register("mix<a>:<image>", pattern=r"mix(?P<alpha>[0-9.]+):(?P<image>.+)")
def _mix(params: dict[str, Any], text: str, *, alpha: str, image: str) -> Source:
    job = patches_job(params, image)
    return Source(text, "mix", {"kind": "noise_mix", "noise": "normal", "alpha": float(alpha), "path": job_path(job)},
                  job)


@SOURCE_KINDS.register("zeroskd")
def _zeroskd(params: dict[str, Any], text: str) -> Source:
    return Source(text, "zeroskd", None)


@SOURCE_KINDS.register("patchify:dataset:<name>:<n>",
                       pattern=r"patchify:dataset:(?P<name>[a-z0-9_]+|imagefolder:.+?):(?P<n>\d+)")
def _patchify(params: dict[str, Any], text: str, *, name: str, n: str) -> Source:
    subset = _dataset(params, f"dataset:{name}:{n}", name=name, n=n).input["subset"]  # the raw row's images
    return Source(text, "patchified", None, patchify_job(params, name, subset), datasets=(name,))


@SOURCE_KINDS.register("<image>", pattern=r"(?P<image>.+)")
def _image(params: dict[str, Any], text: str, *, image: str) -> Source:
    params, storage = split_storage(params)
    job = patches_job(params, image)
    if storage is None:
        return Source(text, "image", None, job)
    if storage["kind"] == "on_the_fly":
        return Source(text, "image", on_the_fly_input(job), None)
    return Source(text, "image", {"kind": "patches", "path": job_path(job, PATCH_SHARDS),
                                  "shuffle_window": storage["shuffle_window"]}, job)


PATCH_SHARDS = "shards/index.json"  # a sharded patch set's completion marker (augprior.patches.store)


def split_storage(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """params without patches.storage (large_scale.patches.storage, options.PatchStorageOptions: how the set
    is stored, not what it holds, so not part of the patch job), and that storage (None: one .npy file)."""
    storage = params["patches"].get("storage")
    if storage is None:
        return params, None
    return {**params, "patches": {k: v for k, v in params["patches"].items() if k != "storage"}}, storage


def on_the_fly_input(job: Job) -> dict[str, Any]:
    """The input spec that renders patch job `job`'s distribution every step instead of reading its set
    (training_inputs: patches.OnTheFlyPatches on the training device; an epoch is its `num` patches)."""
    cfg = job.spec["patches"]
    otf = {"image": job.spec["image"], "spec": {k: cfg[k] for k in ("size", "jpeg_quality", "vflip")},
           "seed": cfg["seed"], "engine": cfg["engine"], "geometry": cfg["geometry"]}
    if job.spec.get("image_md5"):
        otf["md5"] = job.spec["image_md5"]
    return {"kind": "patches", "on_the_fly": otf, "num": cfg["num"]}
