"""Table 3: source image (3a), teacher signal (3b), training augmentations (3c); 3a animals, 3b full and
3c flip+crop+cutmix are the same experiment and share one job."""

from pydantic import Field

from .. import paper
from ..cells import distill_cell
from ..findings import below
from ..jobs import AUG_KEYS, aug_slug, signal_overrides
from . import EXPERIMENTS, Block

COMBOS = [(1, 1, 0, 0), (1, 0, 1, 0), (1, 0, 0, 1), (1, 1, 1, 0), (1, 1, 0, 1)]
FINDINGS = (
    below("noise is far (> 10 points) below every real image", "noise", ["universe", "bridge", "city", "animals"],
          part="3a", margin=10),
    below("bridge is below city and animals", "bridge", ["city", "animals"], part="3a"),
    below("the full distribution beats top-5", "top5", ["full"], part="3b"),
    below("top-5 beats argmax", "argmax", ["top5"], part="3b"),
    below("the CutMix rows are the best of 3c", ["flip-crop", "flip-mixup", "flip-crop-mixup"],
          ["flip-cutmix", "flip-crop-cutmix"], part="3c"),
)


class Table3Params(Block):
    datasets: list[str] = Field(["cifar10_jpeg", "cifar100"], description="target datasets: cifar10 | cifar100 | cifar10_jpeg")
    images: list[str] = Field(["noise", "universe", "bridge", "city", "animals"], description="Table 3a: source images")
    base_image: str = Field("animals", description="source image of Tables 3b and 3c")
    signals: list[str] = Field(["full", "top5", "argmax"], description="Table 3b: teacher signals (full, argmax, topN)")
    augment_combos: list[tuple[int, int, int, int]] = Field(
        COMBOS, description="Table 3c: (hflip, random_crop, mixup, cutmix) on/off, one row each")
    seeds: int = Field(1, ge=1, description="replicates per cell (mean +- std when > 1)")


@EXPERIMENTS.register("table3", kind="table", params=Table3Params,
                      title="Table 3: source image (3a), teacher signal (3b), augmentations (3c)", findings=FINDINGS,
                      paper_keys={"table3a": ("source_image",), "table3b": ("teacher_signal",), "table3c": AUG_KEYS})
def cells(ctx):
    t, out = ctx.block, []
    for dataset in t["datasets"]:
        col, n, base = paper.paper_column(dataset), t["seeds"], t["base_image"]
        out += [distill_cell(ctx, "3a", image, dataset, image, n=n, paper_ref=paper.ref("table3a", col, source_image=image))
                for image in t["images"]]
        out += [distill_cell(ctx, "3b", signal, dataset, base, n=n, **signal_overrides(signal),
                             paper_ref=paper.ref("table3b", col, teacher_signal=signal)) for signal in t["signals"]]
        for combo in t["augment_combos"]:
            aug = dict(zip(AUG_KEYS, map(bool, combo)))
            out.append(distill_cell(ctx, "3c", aug_slug(aug), dataset, base, n=n, augment=aug,
                                    paper_ref=paper.ref("table3c", col, **dict(zip(AUG_KEYS, combo)))))
    return out
