"""Table 14: accuracy against the sparsity of magnitude pruning by self-distillation on patches of one image
(Appendix B.10); sparsity 0 is the trained teacher itself."""

from pydantic import Field

from .. import paper
from ..cells import supervised_cell
from . import EXPERIMENTS, Block
from ._compress import compress_cell

MODELS = {"resnet56": "resnet56", "vgg11": "vgg11_bn", "wrn16_4": "wrn16_4"}


class Table14Params(Block):
    datasets: list[str] = Field(["cifar10_jpeg", "cifar100"], description="target datasets")
    models: dict[str, str | None] = Field(
        MODELS, description="paper column prefix (resnet56, vgg11, wrn16_4) -> architecture run (null: not run at this scale)")
    sparsities: list[int] = Field([0, 25, 50, 75, 85], description="sparsities in percent (0: the unpruned teacher)")
    image: str = Field("animals", description="source image of the patches")


@EXPERIMENTS.register("table14", kind="table", params=Table14Params, paper_keys={"table14": ("sparsity",)},
                      title="Table 14: pruning sparsity by self-distillation on one image")
def cells(ctx):
    t, out = ctx.block, []
    for dataset in t["datasets"]:
        short = "c100" if paper.paper_column(dataset) == "cifar100" else "c10"
        for prefix, arch in t["models"].items():
            column = f"{prefix}_{paper.paper_column(dataset)}"
            for s in t["sparsities"]:
                part, ref = f"{prefix} {short}", paper.ref("table14", column, sparsity=s)
                if s == 0 and arch is not None:
                    cell = supervised_cell(ctx, part, "0% (teacher)", dataset, arch, paper_ref=ref)
                else:
                    cell = compress_cell(ctx, part, f"{s}% pruned, 1 image ({t['image']})", dataset, arch, t["image"],
                                         "prune", sparsity=s / 100, paper_ref=ref, row=prefix)
                cell.x = s
                out.append(cell)
    return out
