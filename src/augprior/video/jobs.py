"""Job builders of the video engines (pure functions of the resolved params; see augprior.jobs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..jobs import Job, common, job_path, slug
from ..provenance import params_hash

# options that do not change a result (left out of job identities)
OPERATIONAL = ("eval_every", "checkpoint_every_steps", "workers", "test_batch_size")
EVAL_KEYS = ("teacher", "test_clips", "test_short_side", "test_stride", "eval_subset")


def teacher_source(source: str) -> tuple[str, str | None]:
    """(the source with an absolute checkpoint path, the checkpoint file or None) of a table's teacher entry:
    hub | checkpoint:PATH | finetune:hub | finetune:checkpoint:PATH."""
    prefix = "finetune:" if source.startswith("finetune:") else ""
    base = source.removeprefix(prefix)
    if base == "hub":
        return source, None
    if not base.startswith("checkpoint:"):
        raise ValueError(f"a video teacher is hub, checkpoint:PATH, finetune:hub or finetune:checkpoint:PATH, "
                         f"not {source!r}")
    resolved = str(Path(base.removeprefix("checkpoint:")).expanduser().resolve())
    return f"{prefix}checkpoint:{resolved}", resolved


def video_teacher_job(params: dict[str, Any], dataset: str, source: str, root: str | None) -> Job:
    cfg = params["video"]
    src, ckpt = teacher_source(source)
    identity = {"dataset": dataset, "source": src, "root": root, "eval": {k: cfg[k] for k in EVAL_KEYS}}
    if src.startswith("finetune:"):
        identity["finetune"] = {**cfg["finetune"], **{k: cfg[k] for k in ("short_side", "hflip")},
                                "seed": params["seed"]}
    if ckpt is not None:
        from ..jobs import file_md5

        identity["checkpoint_md5"] = file_md5(ckpt)
    digest = params_hash(identity)[:8]
    spec = {**common(params, params["seed"]), "dataset": dataset, "data_root": root, "source": src, "video": cfg}
    if ckpt is not None:
        spec["checkpoint_path"] = ckpt
    label = ("finetune_" if src.startswith("finetune:") else "") + ("hub" if ckpt is None else slug(Path(ckpt).stem))
    return Job("video_teacher", f"{dataset}/{cfg['teacher']}_{label}_{digest}", spec)


def fakevideos_job(params: dict[str, Any]) -> Job:
    fake = params["video"]["fake"]
    identity = {k: v for k, v in fake.items() if k not in ("store", "workers")}
    digest = params_hash(identity)[:8]
    spec = {"mirror": params["data"]["mirror"], "fake": fake}
    return Job("fakevideos", f"{slug(fake['image'])}/{fake['size']}px_t{fake['frames']}_n{fake['num']}_{digest}",
               spec, params["scale"])


def video_distill_job(params: dict[str, Any], dataset: str, source: str, root: str | None, seed: int) -> Job:
    cfg = params["video"]
    t = video_teacher_job(params, dataset, source, root)
    fake = fakevideos_job(params) if cfg["fake"]["store"] else None
    trained = {k: v for k, v in cfg.items() if k not in OPERATIONAL and k != "fake"}
    digest = params_hash({"video": trained, "teacher": t.id,
                          "fake": fake.id if fake else {k: v for k, v in cfg["fake"].items() if k != "workers"}})[:8]
    spec = {**common(params, seed), "dataset": dataset, "data_root": root, "video": cfg,
            "teacher_path": job_path(t, "model.pt")}
    if fake is not None:
        spec["fakevideos_path"] = job_path(fake)
    job_id = f"{dataset}/{cfg['teacher']}-{cfg['student']}/{slug(cfg['fake']['image'])}_{digest}/seed{seed}"
    return Job("video_distill", job_id, spec, needs=(t,) + ((fake,) if fake else ()))
