"""The experiment plan: which jobs each table and figure needs, and which paper number each cell
is compared with.

A job is a plain dict (what the library function receives) plus an id that becomes its folder
under results/<scale>/<kind>/. Ids are readable and end in a short hash of everything that
defines the job, so cells that need the same run share one folder, and changing a parameter
gives a new folder instead of overwriting an old result.

Distillation data ("sources") are named by strings:
  <image>                  a patch set cut from a source image (city, animals, skimage:coffee, a path)
  dataset:<name>[:<n>]     the real training images of a dataset (its first n)
  synthetic:<kind>         a synthetic image set (fractal, stylegan)
  noise_uniform, noise_normal   fresh noise every step
  mix<a>:<image>           a * normal noise + (1 - a) * patch of <image>
  zeroskd                  zero-shot KD with an adversarial generator (no fixed data)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from . import data, paper
from .provenance import params_hash

AUG_KEYS = ("hflip", "random_crop", "mixup", "cutmix")
AUG_SHORT = {"hflip": "flip", "random_crop": "crop", "mixup": "mixup", "cutmix": "cutmix"}
# which file marks a finished job of each kind
OUTPUTS = {"teacher": "metrics.json", "patches": "patches.npy", "synthetic": "synthetic.npy",
           "distill": "metrics.json", "zeroskd": "metrics.json"}


@dataclass(frozen=True)
class Job:
    kind: str  # teacher | patches | synthetic | distill | zeroskd
    id: str
    spec: dict = field(hash=False, compare=False)


@dataclass
class Cell:
    """One table row or figure point: a setting, the paper's value, and the replicate jobs."""
    table: str
    part: str
    setting: str
    dataset: str
    jobs: list[Job]
    paper: float | None = None
    teacher: str = ""
    student: str = ""
    epochs: int | None = None
    reason: str = ""        # why the cell is not computed (then jobs is empty)
    comparable: bool = True  # False when the paper's number is for another dataset/model
    x: float | None = None   # abscissa for figures
    extra: dict[str, Any] = field(default_factory=dict)


class Plan:
    def __init__(self, params: dict[str, Any]):
        self.params = params
        self.scale = params["scale"]
        self.root = f"results/{self.scale}"
        self.jobs: dict[str, dict[str, Job]] = {k: {} for k in OUTPUTS}

    # -- paths -----------------------------------------------------------------------------
    def path(self, job: Job, name: str | None = None) -> str:
        return f"{self.root}/{job.kind}/{job.id}/{name or OUTPUTS[job.kind]}"

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

    def missing_data(self, dataset: str) -> str:
        """Why `dataset` cannot be used here ('' when it can)."""
        if self.params["data"]["download"] or data.locally_available(dataset, self.params["data"]["mirror"]):
            return ""
        return (f"{dataset} is neither in the cache nor in the mirror and data.download is false "
                f"at scale {self.scale}")

    # -- jobs ------------------------------------------------------------------------------
    def teacher(self, dataset: str, arch: str | None = None, seed: int | None = None) -> Job:
        """A supervised model on `dataset` (a teacher, or a student trained with labels)."""
        cfg = dict(self.params["teacher"], arch=arch or self.params["teacher"]["arch"])
        seed = self.params["seed"] if seed is None else seed
        digest = params_hash({"dataset": dataset, "seed": seed, "teacher": cfg})[:8]
        spec = {**self._common(seed), "dataset": dataset, "teacher": cfg}
        return self._add(Job("teacher", f"{dataset}/{cfg['arch']}_seed{seed}_{digest}", spec))

    def patches(self, image: str) -> Job:
        cfg = self.params["patches"]
        digest = params_hash({"image": image, "patches": cfg})[:8]
        spec = {"image": image, "mirror": self.params["data"]["mirror"], "device": self.params["device"], "patches": cfg}
        return self._add(Job("patches", f"{slug(image)}/{cfg['size']}px_n{cfg['num']}_{cfg['engine']}_{digest}", spec))

    def synthetic(self, kind: str) -> Job:
        base = self.params["synthetic"]
        cfg = {"num": base["num"], "size": base["size"], "seed": base["seed"], "options": base.get(kind, {})}
        digest = params_hash({"kind": kind, "synthetic": cfg})[:8]
        spec = {"kind": kind, "device": self.params["device"], **cfg}
        return self._add(Job("synthetic", f"{kind}/{cfg['size']}px_n{cfg['num']}_{digest}", spec))

    def source(self, source: str) -> tuple[dict[str, Any] | None, Job | None]:
        """(input spec for the distillation engine, the job that makes its file, if any)."""
        if m := re.fullmatch(r"dataset:([a-z0-9_]+)(?::(\d+))?", source):
            subset = int(m[2]) if m[2] else None
            cap = self.params["full_data_subset"]
            if cap is not None:
                subset = min(subset or cap, cap)
            return {"kind": "dataset", "name": m[1], "split": "train", "subset": subset}, None
        if m := re.fullmatch(r"synthetic:(\w+)", source):
            job = self.synthetic(m[1])
            return {"kind": "patches", "path": self.path(job)}, job
        if source in ("noise_uniform", "noise_normal"):
            return {"kind": source, "num": self.params["patches"]["num"]}, None
        if m := re.fullmatch(r"mix([0-9.]+):(.+)", source):
            job = self.patches(m[2])
            return {"kind": "noise_mix", "noise": "normal", "alpha": float(m[1]), "path": self.path(job)}, job
        job = self.patches(source)
        return None, job

    def distill(self, dataset: str, source: str, seed: int, teacher: str | None = None, **overrides: Any) -> Job:
        cfg = _merge(self.params["distill"], overrides)
        t = self.teacher(dataset, teacher)
        input_spec, made_by = self.source(source)
        digest = params_hash({"distill": cfg, "teacher": t.id, "input": input_spec,
                              "made_by": made_by.id if made_by else None})[:8]
        signal = cfg["signal"] if cfg["signal"] != "topk" else f"top{cfg['topk']}"
        job_id = (f"{dataset}/{t.spec['teacher']['arch']}-{cfg['student']}/{slug(source)}/"
                  f"{signal}_{cfg['loss']}_{aug_slug(cfg['augment'])}_{digest}/seed{seed}")
        spec = {**self._common(seed), "dataset": dataset, "distill": cfg, "teacher_path": self.path(t, "model.pt")}
        if input_spec is not None:
            spec["input"] = input_spec
        if made_by is not None and made_by.kind == "patches" and input_spec is None:
            spec["patches_path"] = self.path(made_by)
        return self._add(Job("distill", job_id, spec))

    def zeroskd(self, dataset: str, teacher: str, student: str, seed: int) -> Job:
        cfg = dict(self.params["zeroskd"], student=student)
        t = self.teacher(dataset, teacher)
        digest = params_hash({"zeroskd": cfg, "teacher": t.id})[:8]
        spec = {**self._common(seed), "dataset": dataset, "teacher_path": self.path(t, "model.pt"), "zeroskd": cfg}
        return self._add(Job("zeroskd", f"{dataset}/{teacher}-{student}/{digest}/seed{seed}", spec))

    def replicates(self, dataset: str, source: str, n: int, teacher: str | None = None, **overrides: Any) -> list[Job]:
        return [self.distill(dataset, source, self.params["seed"] + r, teacher, **overrides) for r in range(n)]

    def inputs(self, job: Job) -> dict[str, str]:
        """Files a job reads, for the workflow's input functions."""
        out: dict[str, str] = {}
        if "teacher_path" in job.spec:
            out["teacher"] = job.spec["teacher_path"]
        if "patches_path" in job.spec:
            out["patches"] = job.spec["patches_path"]
        if (job.spec.get("input") or {}).get("path"):
            out["data"] = job.spec["input"]["path"]
        return out

    # -- cells -----------------------------------------------------------------------------
    def _distill_cell(self, table: str, part: str, setting: str, dataset: str, source: str, *,
                      n: int = 1, teacher: str | None = None, paper_value: float | None = None,
                      comparable: bool = True, **overrides: Any) -> Cell:
        student = overrides.get("student", self.params["distill"]["student"])
        cell = Cell(table, part, setting, dataset, [], paper_value, teacher or self.params["teacher"]["arch"],
                    student, self.params["distill"]["epochs"], comparable=comparable)
        needs = [dataset] + ([m[1]] if (m := re.fullmatch(r"dataset:([a-z0-9_]+).*", source)) else [])
        cell.reason = next((r for d in needs if (r := self.missing_data(d))), "")
        if not cell.reason:
            if source == "zeroskd":
                cell.jobs = [self.zeroskd(dataset, cell.teacher, student, self.params["seed"] + r) for r in range(n)]
            else:
                cell.jobs = self.replicates(dataset, source, n, teacher, **overrides)
        return cell

    def _supervised_cell(self, table: str, part: str, setting: str, dataset: str, arch: str, *,
                         n: int = 1, paper_value: float | None = None) -> Cell:
        cell = Cell(table, part, setting, dataset, [], paper_value, arch, "", None)
        cell.reason = self.missing_data(dataset)
        if not cell.reason:
            cell.jobs = [self.teacher(dataset, arch, self.params["seed"] + r) for r in range(n)]
        return cell

    def table1(self) -> list[Cell]:
        t = self.params["table1"]
        rows = paper.table("table1")
        cells = []
        for dataset in t["datasets"]:
            for (_, row), source in zip(rows.iterrows(), t["sources"]):
                cells.append(self._distill_cell(
                    "table1", "distillation data", row.distillation_data, dataset, source,
                    teacher=t["teacher"], student=t["student"],
                    paper_value=_num(row[paper.paper_column(dataset)])))
        return cells

    def table2(self) -> list[Cell]:
        t = self.params["table2"]
        rows = paper.table("table2")
        return [self._distill_cell("table2", "distillation data", row.distillation_data, t["dataset"], source,
                                   teacher=t["teacher"], student=t["student"], paper_value=_num(row.cifar10))
                for (_, row), source in zip(rows.iterrows(), t["sources"])]

    def table3(self) -> list[Cell]:
        t = self.params["table3"]
        cells: list[Cell] = []
        for dataset in t["datasets"]:
            col, n = paper.paper_column(dataset), t["seeds"]
            for image in t["images"]:
                cells.append(self._distill_cell("table3", "3a", image, dataset, image, n=n,
                                                paper_value=paper.value("table3a", col, source_image=image)))
            for signal in t["signals"]:
                cells.append(self._distill_cell("table3", "3b", signal, dataset, t["base_image"], n=n,
                                                paper_value=paper.value("table3b", col, teacher_signal=signal),
                                                **signal_overrides(signal)))
            for combo in t["augment_combos"]:
                aug = dict(zip(AUG_KEYS, map(bool, combo)))
                cells.append(self._distill_cell("table3", "3c", aug_slug(aug), dataset, t["base_image"], n=n,
                                                paper_value=paper.value("table3c", col, **dict(zip(AUG_KEYS, combo))),
                                                augment=aug))
            self.teacher(dataset)
        return cells

    def table4(self) -> list[Cell]:
        t = self.params["table4"]
        rows = paper.table("table4")
        cells = []
        for dataset in t["datasets"]:
            paper_rows = rows[rows.dataset == paper.paper_column(dataset)]
            for (_, row), (teacher, student) in zip(paper_rows.iterrows(), t["pairs"]):
                pair = f"{row.teacher} -> {row.student}"
                cells.append(self._supervised_cell("table4", f"{pair}: teacher", "teacher (supervised)", dataset,
                                                   teacher, paper_value=_num(row.teacher_acc)))
                cells.append(self._supervised_cell("table4", f"{pair}: student", "student (supervised)", dataset,
                                                   student, paper_value=_num(row.student_acc)))
                cells.append(self._distill_cell("table4", pair, "distilled on full data", dataset,
                                                f"dataset:{dataset}", teacher=teacher, student=student,
                                                paper_value=_num(row.distill_full_data)))
                cells.append(self._distill_cell("table4", pair, "distilled on 1 image", dataset, t["image"],
                                                teacher=teacher, student=student,
                                                paper_value=_num(row.distill_one_image)))
        return cells

    def table9(self) -> list[Cell]:
        t = self.params["table9"]
        cells = [self._distill_cell("table9", "CIFAR-10", loss.upper(), t["dataset"], t["image"], loss=loss,
                                    paper_value=paper.value("table9", loss, dataset="cifar10"))
                 for loss in t["losses"]]
        for loss in t["losses"]:
            cells.append(Cell("table9", "ImageNet-1k (30 epochs)", loss.upper(), "imagenet1k", [],
                              paper.value("table9", loss, dataset="imagenet1k", epoch="30"), "resnet18",
                              "resnet50", 30, reason="ImageNet is not available offline (224-px path not run here)"))
        return cells

    def table11(self) -> list[Cell]:
        t = self.params["table11"]
        rows = paper.table("table11")
        return [self._distill_cell("table11", f"row {row.row}", row.input, t["dataset"], source,
                                   paper_value=_num(row.ep30), comparable=False)
                for (_, row), source in zip(rows.iterrows(), t["sources"])]

    def table12(self) -> list[Cell]:
        t = self.params["table12"]
        n, d, teacher, student = t["seeds"], t["dataset"], t["teacher"], t["student"]
        row = paper.table("table12").iloc[0]
        return [
            self._supervised_cell("table12", "teacher", "teacher (supervised)", d, teacher, n=n,
                                  paper_value=_num(row.teacher_mean)),
            self._supervised_cell("table12", "student", "student (supervised)", d, student, n=n,
                                  paper_value=_num(row.student_supervised_mean)),
            self._distill_cell("table12", "distilled", "full data", d, f"dataset:{d}", n=n, teacher=teacher,
                               student=student, paper_value=_num(row.distill_full_mean)),
            self._distill_cell("table12", "distilled", f"1 image ({t['image']})", d, t["image"], n=n,
                               teacher=teacher, student=student, paper_value=_num(row.distill_one_image_mean)),
        ]

    def fig2(self) -> list[Cell]:
        t = self.params["fig2"]
        return [self._distill_cell("fig2", "source image", image, t["dataset"], image) for image in t["images"]]

    def fig4(self) -> list[Cell]:
        t = self.params["fig4"]
        cells = []
        for depth in t["depths"]:
            for width in t["widths"]:
                student = f"resnet{depth}_w{width}" if width != 1 else f"resnet{depth}"
                cell = self._distill_cell("fig4", f"depth {depth}", f"width x{width}", t["dataset"], t["image"],
                                          student=student)
                cell.extra = {"depth": depth, "width": width}
                cells.append(cell)
        return cells

    def cells(self, name: str) -> list[Cell]:
        builders: dict[str, Callable[[], list[Cell]]] = {
            "table1": self.table1, "table2": self.table2, "table3": self.table3, "table4": self.table4,
            "table9": self.table9, "table11": self.table11, "table12": self.table12,
            "fig2": self.fig2, "fig4": self.fig4}
        if name not in builders:
            raise KeyError(f"unknown table or figure {name!r}; known: {', '.join(builders)}")
        return builders[name]()


TABLES = ("table1", "table2", "table3", "table4", "table9", "table11", "table12")
FIGURES = ("fig2", "fig4")


def signal_overrides(signal: str) -> dict[str, Any]:
    if signal in ("full", "argmax"):
        return {"signal": signal}
    if m := re.fullmatch(r"top(\d+)", signal):
        return {"signal": "topk", "topk": int(m[1])}
    raise ValueError(f"unknown teacher signal {signal!r} (full, argmax or topN)")


def aug_slug(aug: dict[str, Any]) -> str:
    return "-".join(AUG_SHORT[k] for k in AUG_KEYS if aug.get(k)) or "noaug"


def slug(source: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", source).strip("-")


def _num(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overrides.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out
