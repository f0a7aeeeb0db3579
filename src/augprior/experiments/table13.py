"""Table 13: compression of trained models by self-distillation without real data (Appendix B.10): 8-bit
quantisation-aware fine-tuning (converted to a real x86 int8 model) and 50% magnitude pruning, fine-tuned on the
source data or on patches of one image; the 'standard' column is the trained teacher itself."""

from pydantic import Field

from .. import paper
from ..cells import Cell, supervised_cell
from . import EXPERIMENTS, Block
from ._compress import compress_cell, not_run

MODELS = {"ResNet-56": "resnet56", "VGG-11": "vgg11_bn", "VGG-19": "vgg19_bn", "WRN-16-4": "wrn16_4",
          "WRN-40-4": "wrn40_4"}


class Table13Params(Block):
    datasets: list[str] = Field(["cifar10_jpeg", "cifar100"], description="target datasets")
    models: dict[str, str | None] = Field(MODELS, description="paper row (model) -> architecture run (null: not run at this scale)")
    image: str = Field("animals", description="source image of the one-image columns")
    sparsity: float = Field(0.5, ge=0, lt=1, description="target sparsity of the pruning columns")


@EXPERIMENTS.register("table13", kind="table", params=Table13Params, paper_keys={"table13": ("dataset", "model")},
                      title="Table 13: pruning and 8-bit quantisation by self-distillation, source data vs one image")
def cells(ctx):
    t, out = ctx.block, []
    for dataset in t["datasets"]:
        for row, arch in t["models"].items():
            key = dict(dataset=paper.paper_column(dataset), model=row)
            ref = lambda col: paper.ref("table13", col, **key)  # noqa: E731
            if arch is None:
                out.append(Cell(ctx.name, row, "standard", dataset, [], paper.lookup(ref("standard")),
                                reason=not_run(ctx, row), paper_ref=ref("standard")))
            else:
                out.append(supervised_cell(ctx, row, "standard", dataset, arch, paper_ref=ref("standard")))
            pruned = "{:.0%} pruned".format(t["sparsity"])
            for method, name in (("qat", "quantized"), ("prune", "pruned")):
                for source, col in ((f"dataset:{dataset}", "source_data"), (t["image"], "one_image")):
                    data = "source data" if col == "source_data" else f"1 image ({source})"
                    setting = f"{'8-bit QAT' if method == 'qat' else pruned}, {data}"
                    out.append(compress_cell(ctx, row, setting, dataset, arch, source, method, row=row,
                                             sparsity=t["sparsity"] if method == "prune" else None,
                                             paper_ref=ref(f"{name}_{col}")))
    return out
