"""Figure 2: student accuracy for further source images against their JPEG size."""

from pydantic import Field

from ..cells import distill_cell
from ..jobs import source_image
from . import EXPERIMENTS, Block

IMAGES = ["skimage:astronaut", "skimage:brick", "skimage:camera", "skimage:chelsea", "skimage:coffee", "skimage:coins",
          "skimage:grass", "skimage:gravel", "skimage:horse", "skimage:moon", "skimage:motorcycle", "skimage:page",
          "skimage:retina", "skimage:rocket", "skimage:text", "sklearn:china", "sklearn:flower",
          "matplotlib:grace_hopper", "city", "animals", "bridge", "universe", "noise"]


class Fig2Params(Block):
    dataset: str = Field("cifar100", description="target dataset (the paper's: CIFAR-100)")
    images: list[str] = Field(IMAGES, description="source images, one point each")


def plot(df, cells, out_png, title, mirror=None):
    """Accuracy of each source image against its JPEG size; adds the jpeg_kib column to df."""
    from ..figures import jpeg_kib, new_axes, save

    df["jpeg_kib"] = [round(jpeg_kib(c.extra.get("image", c.setting), mirror), 1) for c in cells]
    fig, ax = new_axes(title, (7, 4.5))
    done = df.dropna(subset=["reproduced"])
    ax.scatter(done.jpeg_kib, done.reproduced, color="tab:blue")
    for _, row in done.iterrows():
        ax.annotate(row.setting.split(":")[-1], (row.jpeg_kib, row.reproduced), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    ax.set(xscale="log", xlabel="JPEG size of the source image (KiB, quality 75)",
           ylabel=f"student top-1 on {done.dataset.iloc[0] if len(done) else ''} test (%)")
    save(fig, out_png)
    return df


@EXPERIMENTS.register("fig2", kind="figure", params=Fig2Params, plot=plot,
                      title="Figure 2: accuracy for further source images vs their JPEG size")
def cells(ctx):
    t, out = ctx.block, []
    for image in t["images"]:
        out.append(distill_cell(ctx, "source image", image, t["dataset"], image))
        out[-1].extra["image"] = source_image(ctx.params, image)  # the file its patches (and JPEG size) come from
    return out
