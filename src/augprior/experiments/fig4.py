"""Figure 4: student depth vs width (CIFAR ResNets resnet{depth}_w{width})."""

from pydantic import Field

from ..cells import distill_cell
from . import EXPERIMENTS, Block


class Fig4Params(Block):
    dataset: str = Field("cifar10_jpeg", description="target dataset")
    image: str = Field("animals", description="source image")
    depths: list[int] = Field([8, 14, 20, 32, 56], description="student depths (6n+2)")
    widths: list[int] = Field([1, 2, 4], description="student width multipliers")


def plot(df, cells, out_png, title, mirror=None):
    """Accuracy against student depth, one line per width; adds the depth and width columns to df."""
    from ..figures import new_axes, save

    df["depth"] = [c.extra["depth"] for c in cells]
    df["width"] = [c.extra["width"] for c in cells]
    fig, ax = new_axes(title, (6, 4))
    for width, group in df.dropna(subset=["reproduced"]).groupby("width"):
        group = group.sort_values("depth")
        ax.plot(group.depth, group.reproduced, marker="o", label=f"width x{width}")
    ax.set(xlabel="student depth (CIFAR ResNet)", ylabel="student top-1 (%)")
    ax.legend()
    save(fig, out_png)
    return df


@EXPERIMENTS.register("fig4", kind="figure", params=Fig4Params, plot=plot,
                      title="Figure 4: student depth vs width (CIFAR ResNets)")
def cells(ctx):
    t, out = ctx.block, []
    for depth, width in ((d, w) for d in t["depths"] for w in t["widths"]):
        student = f"resnet{depth}_w{width}" if width != 1 else f"resnet{depth}"
        out.append(distill_cell(ctx, f"depth {depth}", f"width x{width}", t["dataset"], t["image"], student=student))
        out[-1].extra = {"depth": depth, "width": width}
    return out
