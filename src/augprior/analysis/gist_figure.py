"""The analysis behind Figure 16: histograms of pairwise distances between L2-normalised GIST descriptors of
the patches of City (and, beside it, of Animals and Noise) and of the target dataset's images."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import inputs as I
from . import report

COLUMNS = ["set", "bin_lo", "bin_hi", "count", "stat", "value"]
TITLE = "Figure 16: pairwise distances of L2-normalised GIST descriptors (patches of one image vs real images)"
PAPER = ("Fig. 16a (Appendix B.8): the distances between L2-normalised GIST features (Oliva & Torralba 2001) of "
         "10K training patches of the City image at 256 x 256; following Bambach et al. (2018), whose ImageNet "
         "distances have a mean around 0.75, the single-image distribution \"closely resembles that of the visual "
         "inputs of a toddler\" (Fig. 16b, copied from Bambach et al.): patches of one image are more alike than "
         "the images of a curated dataset. The toddler data are not available, so here the comparison is with the "
         "target dataset's images.")


@report.analysis(TITLE, PAPER, COLUMNS)
def analysis(cells, ctx, out, root="."):
    import matplotlib.pyplot as plt
    import torch

    from ..figures import save
    from .gist import describe, pairwise_distances

    t, rt = ctx.block, I.Runtime.from_params(ctx.params)
    sets = {c.extra["image"]: I.patch_sample(c.jobs[0], t["patches"], root) for c in cells}
    test = I.test_set(t["dataset"], rt, t["test_images"])
    sets[f"{t['dataset']} test images"] = test.load_batch(torch.arange(len(test)))
    dists = {name: pairwise_distances(describe(x, side=t["side"]), t["pairs"], ctx.seed).numpy()
             for name, x in sets.items()}
    edges = np.linspace(0, max(d.max() for d in dists.values()) + 1e-9, t["bins"] + 1)
    fig, ax = plt.subplots(figsize=(7, 4))
    rows = []
    for name, d in dists.items():
        ax.hist(d, edges, histtype="step", density=True, lw=1.5, label=f"{name} (mean {d.mean():.3f})")
        counts = np.histogram(d, edges)[0]
        rows += [{"set": name, "bin_lo": round(a, 5), "bin_hi": round(b, 5), "count": int(c)}
                 for a, b, c in zip(edges[:-1], edges[1:], counts)]
        rows += [{"set": name, "stat": k, "value": round(float(v), 5)}
                 for k, v in (("mean", d.mean()), ("median", np.median(d)), ("std", d.std()), ("n", len(sets[name])))]
    ax.set(title=report.titled(TITLE, ctx), xlabel="distance between L2-normalised GIST descriptors", ylabel="density")
    ax.title.set_fontsize(8)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    save(fig, out.png)
    real = f"{t['dataset']} test images"
    first = t["images"][0]
    measured = [f"{name}: mean distance {d.mean():.3f}, median {np.median(d):.3f}, std {d.std():.3f} "
                f"({len(sets[name])} images, {len(d)} pairs)" for name, d in dists.items()]
    alike = np.median(dists[first]) < np.median(dists[real])
    verdict = (f"{'Yes' if alike else 'No'}: the {first} patches are {'more' if alike else 'not more'} alike than the "
               f"target dataset's images (median GIST distance {np.median(dists[first]):.3f} vs "
               f"{np.median(dists[real]):.3f}). The paper's patches are 256 px; here they are the tables' "
               f"{sets[first].shape[-1]} px patches, described at {t['side']} px.")
    run = (f"GIST (4 scales x 8 orientations, 4 x 4 grid, LMgist's prefilter) at {t['side']} px of up to "
           f"{t['patches']} patches of each of {', '.join(t['images'])} (the patch sets of {t['table']}) and "
           f"{len(test)} test images; {t['pairs'] or 'all'} random pairs each.")
    summary = {f"median_distance/{name}": float(np.median(d)) for name, d in dists.items()}
    return pd.DataFrame(rows, columns=COLUMNS), run, measured, verdict, {**summary, "claim_holds": float(alike)}
