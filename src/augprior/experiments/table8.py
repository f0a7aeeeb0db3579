"""Table 8: ImageNet-1k distillations at 224 px: real training images vs patches, teacher / student choices
(rows a-n; each cell runs to the paper's last reported epoch of its row). Beside them a CIFAR-scale analogue
computed here: the CIFAR teacher distilled from 10, 100 and 1000 real CIFAR-10 (JPEG) training images (raw)
against one image's patches, every run shown as many samples as the one-image run (epochs scaled up)."""

from pydantic import Field

from .. import large_scale, paper
from ..cells import distill_cell
from . import EXPERIMENTS, Block

EPOCHS = ("ep10", "ep20", "ep30", "ep50", "ep200")
PATCHIFIED = ("patchifying a set of real training images (the paper's '(p)' rows) is not implemented: the patch "
              "generator cuts from one source image")
# paper row -> (source: an image, or dataset:N real training images; teacher; student; half batch; argmax only)
ROWS = {"a": ("dataset:10", "resnet50", "resnet50", False, False),
        "b": (None, "resnet50", "resnet50", False, False),
        "c": ("dataset:100", "resnet50", "resnet50", False, False),
        "d": (None, "resnet50", "resnet50", False, False),
        "e": ("dataset:1000", "resnet50", "resnet50", False, False),
        "f": (None, "resnet50", "resnet50", False, False),
        "g": ("noise", "resnet18", "resnet50", False, False),
        "h": ("bridge", "resnet18", "resnet50", False, False),
        "i": ("city", "resnet18", "resnet50", False, False),
        "j": ("city", "resnet101", "resnet101", True, False),
        "k": ("city", None, "resnet50", False, False),
        "l": ("city", "resnet50", "resnet50", False, False),
        "m": ("city", "resnet18", "wide_resnet50_2", True, True),
        "n": ("city", "resnet18", "wide_resnet50_2", True, False)}


class Table8Params(Block):
    rows: dict[str, tuple[str | None, str | None, str, bool, bool]] = Field(
        ROWS, description="paper row -> (source: image | dataset:N real ImageNet training images | null: not "
                          "implemented; teacher (torchvision ImageNet weights; null: the paper's unexplained R50*); "
                          "student; half batch; argmax-only signal). wide_resnet50_2 stands in for ResNet-50x2")
    cifar_dataset: str = Field("cifar10_jpeg", description="target dataset of the CIFAR-scale analogue")
    cifar_images: list[int] = Field([10, 100, 1000], description="numbers of real training images of the analogue")
    cifar_image: str = Field("animals", description="source image of the analogue's one-image row")


def _last_epoch(row: str) -> str:
    return [c for c in EPOCHS if paper.value("table8", c, row=row) is not None][-1]


def _cifar_samples(ctx, n: int) -> dict:
    """epochs / batch size of a distillation from n fixed images seeing as many samples as the patch run."""
    epochs, bs = large_scale.epochs_for(ctx.params, n, ctx.params["distill"]["batch_size"])  # CIFAR params
    return {"epochs": epochs, "batch_size": bs, "eval_every": 0}  # the test set once, at the end


@EXPERIMENTS.register("table8", kind="table", params=Table8Params, paper_keys={"table8": ("row",)},
                      title="Table 8: ImageNet-1k distillations (real images vs patches, teachers and students)")
def cells(ctx):
    t, out = ctx.block, []
    bs = ctx.params["large_scale"]["distill"]["batch_size"]
    for row, (source, teacher, student, half, argmax) in t["rows"].items():
        col = _last_epoch(row)
        ref = paper.ref("table8", col, row=row)
        label = paper.text("table8", "images", row=row)
        setting = f"({row}) {label}{' (p)' if source and not source.startswith('dataset:') else ''}, " \
                  f"{teacher or 'R50*'}{' (AM)' if argmax else ''} -> {student}{' (half batch)' if half else ''}, " \
                  f"epoch {col[2:]}"
        why = PATCHIFIED if source is None else (
            "the paper does not say what its R50* teacher is" if teacher is None else "")
        # dataset:N sources: as many samples as these epochs over the patch set (large_scale.epochs_for)
        overrides = {"epochs": int(col[2:]), **({"batch_size": bs // 2} if half else {}),
                     **({"signal": "argmax"} if argmax else {})}
        out.append(large_scale.distill_cell(ctx, "ImageNet-1k", setting, "imagenet1k", source or "city",
                                            student=student, teacher_arch=teacher, paper_ref=ref, why=why,
                                            **overrides))
    d = t["cifar_dataset"]
    part = "CIFAR-scale analogue (computed here; not the paper's setting)"
    for n in t["cifar_images"]:
        run = _cifar_samples(ctx, n)
        cell = distill_cell(ctx, part, f"{n} real training images (raw), as many samples as the patch run", d,
                            f"dataset:{d}:{n}", comparable=False, **run)
        cell.epochs = run["epochs"]
        out.append(cell)
    out.append(distill_cell(ctx, part, f"1 image ({t['cifar_image']}) patches", d, t["cifar_image"], comparable=False))
    return out
