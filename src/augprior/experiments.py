"""The experiment plan: which teacher, patch and distillation jobs each table needs.

A job is a plain dict (what the library function receives) plus an id that becomes its path
under results/<scale>/. Ids are readable and end in a short hash of everything that defines
the job, so two cells that need the same job share one file, and changing a parameter gives a
new path instead of overwriting an old result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .provenance import params_hash

AUG_KEYS = ("hflip", "random_crop", "mixup", "cutmix")
AUG_SHORT = {"hflip": "flip", "random_crop": "crop", "mixup": "mixup", "cutmix": "cutmix"}


@dataclass(frozen=True)
class Job:
    kind: str  # teacher | patches | distill
    id: str
    spec: dict = field(hash=False, compare=False)


@dataclass
class Cell:
    """One row of a table: a setting, the paper's value, and the replicate jobs that measure it."""
    table: str
    part: str
    setting: str
    dataset: str
    jobs: list[Job]
    paper: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Plan:
    def __init__(self, params: dict[str, Any]):
        self.params = params
        self.scale = params["scale"]
        self.root = f"results/{self.scale}"
        self.jobs: dict[str, dict[str, Job]] = {"teacher": {}, "patches": {}, "distill": {}}

    # -- paths -----------------------------------------------------------------------------
    def path(self, job: Job, name: str) -> str:
        return f"{self.root}/{job.kind}/{job.id}/{name}"

    def lookup(self, kind: str, job_id: str) -> Job:
        try:
            return self.jobs[kind][job_id]
        except KeyError:
            raise KeyError(f"no {kind} job {job_id!r} in the plan for scale {self.scale!r}; "
                           f"request a table target instead of an intermediate path") from None

    def _add(self, job: Job) -> Job:
        return self.jobs[job.kind].setdefault(job.id, job)

    def _common(self, seed: int) -> dict[str, Any]:
        p = self.params
        return {"seed": seed, "scale": self.scale, "device": p["device"], "precision": p["precision"],
                "mirror": p["data"]["mirror"], "num_threads": p["num_threads"]}

    # -- jobs ------------------------------------------------------------------------------
    def teacher(self, dataset: str, arch: str | None = None, seed: int | None = None) -> Job:
        cfg = dict(self.params["teacher"], arch=arch or self.params["teacher"]["arch"])
        seed = self.params["seed"] if seed is None else seed
        digest = params_hash({"dataset": dataset, "seed": seed, "teacher": cfg})[:8]
        spec = {**self._common(seed), "dataset": dataset, "teacher": cfg}
        return self._add(Job("teacher", f"{dataset}/{cfg['arch']}_seed{seed}_{digest}", spec))

    def patches(self, image: str) -> Job:
        cfg = self.params["patches"]
        digest = params_hash({"image": image, "patches": cfg})[:8]
        spec = {"image": image, "mirror": self.params["data"]["mirror"], "patches": cfg}
        return self._add(Job("patches", f"{image}/{cfg['size']}px_n{cfg['num']}_{cfg['engine']}_{digest}", spec))

    def distill(self, dataset: str, image: str, seed: int, **overrides: Any) -> Job:
        cfg = _merge(self.params["distill"], overrides)
        teacher, patches = self.teacher(dataset), self.patches(image)
        digest = params_hash({"distill": cfg, "teacher": teacher.id, "patches": patches.id})[:8]
        signal = cfg["signal"] if cfg["signal"] != "topk" else f"top{cfg['topk']}"
        job_id = (f"{dataset}/{teacher.spec['teacher']['arch']}-{cfg['student']}/{image}/"
                  f"{signal}_{cfg['loss']}_{aug_slug(cfg['augment'])}_{digest}/seed{seed}")
        spec = {**self._common(seed), "dataset": dataset, "distill": cfg,
                "teacher_path": self.path(teacher, "model.pt"),
                "patches_path": self.path(patches, "patches.npy")}
        return self._add(Job("distill", job_id, spec))

    def replicates(self, dataset: str, image: str, n: int, **overrides: Any) -> list[Job]:
        return [self.distill(dataset, image, self.params["seed"] + r, **overrides) for r in range(n)]

    def inputs(self, job: Job) -> dict[str, str]:
        """Files a job reads, for the workflow's input functions."""
        if job.kind == "distill":
            return {"teacher": job.spec["teacher_path"], "patches": job.spec["patches_path"]}
        return {}

    # -- tables ----------------------------------------------------------------------------
    def table3(self) -> list[Cell]:
        t = self.params["table3"]
        cells: list[Cell] = []
        for dataset in t["datasets"]:
            n = t["seeds"]
            for image in t["images"]:
                cells.append(Cell("table3", "3a", image, dataset, self.replicates(dataset, image, n),
                                  extra={"source_image": image}))
            for signal in t["signals"]:
                cells.append(Cell("table3", "3b", signal, dataset,
                                  self.replicates(dataset, t["base_image"], n, **signal_overrides(signal)),
                                  extra={"teacher_signal": signal}))
            for combo in t["augment_combos"]:
                aug = dict(zip(AUG_KEYS, map(bool, combo)))
                cells.append(Cell("table3", "3c", aug_slug(aug), dataset,
                                  self.replicates(dataset, t["base_image"], n, augment=aug),
                                  extra={k: int(v) for k, v in aug.items()}))
            self.teacher(dataset)
        return cells


def signal_overrides(signal: str) -> dict[str, Any]:
    if signal in ("full", "argmax"):
        return {"signal": signal}
    if m := re.fullmatch(r"top(\d+)", signal):
        return {"signal": "topk", "topk": int(m[1])}
    raise ValueError(f"unknown teacher signal {signal!r} (full, argmax or topN)")


def aug_slug(aug: dict[str, Any]) -> str:
    return "-".join(AUG_SHORT[k] for k in AUG_KEYS if aug.get(k)) or "noaug"


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overrides.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out
