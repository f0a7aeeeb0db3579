"""The analysis behind Figure 15: minibatch CKA (linear, RBF) between every pair of layers of the
supervised teacher and the one-image student, and of the teacher and the full-data student, on the test set."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import inputs as I
from . import report

COLUMNS = ["pair", "kernel", "teacher_layer", "student_layer", "cka"]
TITLE = "Figure 15: CKA between the supervised teacher's layers and the distilled students' layers"
PAPER = ("Fig. 15 (Appendix B.7): linear CKA (Kornblith et al. 2019) between all layers of a supervised model and "
         "of a student distilled from random patches of one image, on the CIFAR-10 test set (as in Nguyen et al. "
         "2020). \"The layers in the same block group shows high similarity though both models are trained in "
         "different ways, indicating that distilled features are highly similar to those learned in a supervised way.\"")




def aligned(m: np.ndarray) -> tuple[float, float]:
    """Mean CKA of corresponding layers (same relative depth) and of all other pairs."""
    r, c = m.shape
    cols = np.rint(np.arange(r) * (c - 1) / max(r - 1, 1)).astype(int)
    mask = np.zeros_like(m, dtype=bool)
    mask[np.arange(r), cols] = True
    return float(m[mask].mean()), float(m[~mask].mean())


def compute(cells, ctx, root=".") -> tuple[pd.DataFrame, dict]:
    from .cka import MinibatchCKA
    from .features import LOGITS, PENULTIMATE, default_layers, iter_features

    t, rt, roles = ctx.block, I.Runtime.from_params(ctx.params), I.by_role(cells)
    names = [I.TEACHER, I.ONE_IMAGE, I.FULL_DATA]
    loaded = [I.load_model(roles[n].jobs[0], rt, root) for n in names]
    models = [m for m, _, _ in loaded]
    layers = [default_layers(m) for m in models]
    keys = [ls + [PENULTIMATE, LOGITS] for ls in layers]
    mean, std = loaded[0][1]
    test = I.test_set(t["dataset"], rt, t["test_images"])
    pairs = [(I.ONE_IMAGE, 1), (I.FULL_DATA, 2)]
    accs = {(p, k): MinibatchCKA(len(keys[0]), len(keys[i]), k, t["rbf_threshold"]) for p, i in pairs for k in t["kernels"]}
    for outs, _ in iter_features(models, test, mean, std, device=rt.device, bf16=rt.bf16, layers=layers,
                                 batch_size=t["batch_size"], desc="CKA features", cpu=rt.device.type == "cpu"):
        if len(outs[0][LOGITS]) < 4:
            continue
        for (p, i), k in ((pi, k) for pi in pairs for k in t["kernels"]):
            accs[(p, k)].update([outs[0][n] for n in keys[0]], [outs[i][n] for n in keys[i]])
    rows, mats = [], {}
    for (p, k), acc in accs.items():
        m = acc.compute().numpy()
        mats[(p, k)] = m
        i = dict(pairs)[p]
        rows += [{"pair": f"teacher vs {p}", "kernel": k, "teacher_layer": a, "student_layer": b, "cka": round(float(v), 5)}
                 for ai, a in enumerate(keys[0]) for bi, b in enumerate(keys[i]) for v in [m[ai, bi]]]
    meta = {"keys": keys, "mats": mats, "n": len(test), "archs": [lm[2].get("arch", "?") for lm in loaded]}
    return pd.DataFrame(rows), meta


def plot(meta, out_png, title) -> None:
    import matplotlib.pyplot as plt

    from ..figures import save

    mats, keys = meta["mats"], meta["keys"]
    kernels = sorted({k for _, k in mats}, key=["linear", "rbf"].index)
    fig, axes = plt.subplots(len(kernels), 2, figsize=(10, 4.6 * len(kernels)), squeeze=False,
                             constrained_layout=True)
    for r, k in enumerate(kernels):
        for c, (p, i) in enumerate(((I.ONE_IMAGE, 1), (I.FULL_DATA, 2))):
            ax = axes[r, c]
            im = ax.imshow(mats[(p, k)], vmin=0, vmax=1, cmap="magma", origin="lower")
            ax.set_xticks(range(len(keys[i])), keys[i], rotation=90, fontsize=6)
            ax.set_yticks(range(len(keys[0])), keys[0], fontsize=6)
            ax.set(xlabel=f"{p} ({meta['archs'][i]}) layer", ylabel=f"teacher ({meta['archs'][0]}) layer",
                   title=f"{k} CKA: teacher vs {p}")
            fig.colorbar(im, ax=ax, fraction=0.046)
    fig.suptitle(f"{title} (n={meta['n']} test images)", fontsize=9)
    save(fig, out_png)


@report.analysis(TITLE, PAPER, COLUMNS)
def analysis(cells, ctx, out, root="."):

    df, meta = compute(cells, ctx, root)
    plot(meta, out.png, report.titled(TITLE, ctx))
    measured, summary = [], {}
    for (p, k), m in meta["mats"].items():
        on, off = aligned(m)
        summary[(p, k)] = (on, off)
        measured.append(f"{k} CKA, teacher vs {p}: mean over corresponding layers {on:.3f}, over all other layer "
                        f"pairs {off:.3f}; penultimate layers {m[-2, -2]:.3f}, logits {m[-1, -1]:.3f}")
    on1, off1 = summary[(I.ONE_IMAGE, "linear")] if (I.ONE_IMAGE, "linear") in summary else next(iter(summary.values()))
    on2, _ = summary.get((I.FULL_DATA, "linear"), (float("nan"), 0))
    ok = on1 >= 0.5 and on1 > off1
    verdict = (f"{'Yes' if ok else 'No'}: the one-image student's layers are {'highly ' if on1 >= 0.7 else ''}similar to "
               f"the supervised teacher's corresponding layers (linear CKA {on1:.3f} on average, against {off1:.3f} for "
               f"non-corresponding pairs; criterion: >= 0.5 and above the non-corresponding mean). The full-data "
               f"student reaches {on2:.3f}, so the one-image student keeps {on1 / on2 * 100 if on2 else float('nan'):.0f}% "
               "of the similarity that distillation on real images gives.")
    run = (f"{meta['n']} test images of {ctx.block['dataset']} (a fixed sample), minibatches of {ctx.block['batch_size']}; "
           f"every layer of the teacher ({meta['archs'][0]}: its input convolution, each residual block, the "
           f"penultimate features and the logits) against every layer of the students; kernels {ctx.block['kernels']} "
           f"(RBF bandwidth {ctx.block['rbf_threshold']} x the median pairwise distance of each minibatch). "
           "Feature maps are flattened, CKA is accumulated in float64 as the unbiased HSIC over minibatches.")
    numbers = {f"{k}/{p}/{which}": v for (p, k), pair in summary.items()
               for which, v in zip(("corresponding", "other"), pair)}
    return df, run, measured, verdict, {**numbers, "claim_holds": float(ok)}
