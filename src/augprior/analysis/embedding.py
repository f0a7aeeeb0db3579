"""The analysis behind Figures 5 and 14: t-SNE of the one-image student's penultimate features, training
patches and test images embedded jointly (Fig. 5), and the test images alone coloured by class (Fig. 14)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from . import inputs as I
from . import report

TITLE = "Figures 5 and 14: t-SNE of the one-image student's penultimate features (patches and test images)"
PAPER = ("Fig. 5 (Section 4, \"Feature space analysis\"): a t-SNE of the features of 5K training patches and 5K "
         "test images; \"all the training patches are embedded close to each other in the center, while CIFAR "
         "images are clustered towards the outside\", i.e. the network extrapolates to real images. Fig. 14 "
         "(Appendix B.7): the t-SNE of the CIFAR-10 test set alone (WRN-16-4 student of a WRN-40-4 teacher, "
         "Animals patches) \"clearly highlights that distilled features contain substantial amount of semantic "
         "information to correctly differentiate between different object categories\".")
COLUMNS = ["embedding", "set", "index", "label", "x", "y"]


def tsne(x: np.ndarray, perplexity: float, seed: int, iterations: int = 500) -> np.ndarray:
    """openTSNE's embedding (its defaults: 250 early-exaggeration iterations, then `iterations`)."""
    from openTSNE import TSNE

    perplexity = min(perplexity, (len(x) - 1) / 3)
    return np.asarray(TSNE(perplexity=perplexity, n_iter=iterations, n_jobs=max(1, torch.get_num_threads()),
                           random_state=seed, verbose=False).fit(x.astype(np.float64)))


def knn_accuracy(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """Leave-one-out k-NN accuracy (%) of labels y in the space of x."""
    from sklearn.neighbors import KNeighborsClassifier

    k = min(k, len(x) - 1)
    knn = KNeighborsClassifier(k + 1).fit(x, y)
    idx = knn.kneighbors(x, return_distance=False)[:, 1:]  # drop the point itself
    votes = np.apply_along_axis(lambda r: np.bincount(r, minlength=int(y.max()) + 1).argmax(), 1, y[idx])
    return float((votes == y).mean() * 100)


def radius(z: np.ndarray, centre: np.ndarray) -> np.ndarray:
    return np.linalg.norm(z - centre, axis=1)


def compute(cells, ctx, root="."):
    from .features import extract

    t = ctx.block
    m = I.teacher_and_student(cells, ctx, t["test_images"], root)
    kw = {"device": m.rt.device, "bf16": m.rt.bf16, "side": m.side}
    patches = I.patch_sample(m.patches, t["patches"], root)
    fp = extract(m.student, patches, *m.student_norm, desc="student on patches", **kw)
    ft = extract(m.student, m.test, *m.student_norm, desc="student on test", **kw)
    feats = np.concatenate([fp.penultimate.numpy(), ft.penultimate.numpy()])
    joint = tsne(feats, t["perplexity"], ctx.seed, t["iterations"])
    alone = tsne(ft.penultimate.numpy(), t["perplexity"], ctx.seed, t["iterations"])
    return {"patches": patches, "test": m.test, "feats": feats, "n_p": len(patches), "joint": joint, "alone": alone,
            "pred_p": fp.logits.argmax(1).numpy(), "pred_t": ft.logits.argmax(1).numpy(),
            "labels": ft.labels.numpy(), "classes": list(m.test.classes)}


def _thumbs(ax, z, images, which, boxed: bool) -> None:
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage

    for i in which:
        img = images[int(i)].permute(1, 2, 0).numpy()
        ab = AnnotationBbox(OffsetImage(img, zoom=0.9), z[i], frameon=boxed, pad=0.15)
        ax.add_artist(ab)


def plot(r, out_png, title, thumbs: int, seed: int) -> None:
    import matplotlib.pyplot as plt

    from ..figures import save

    n_p, cmap = r["n_p"], plt.get_cmap("tab10" if len(r["classes"]) <= 10 else "tab20")
    fig, axes = plt.subplots(1, 2, figsize=(13, 6), constrained_layout=True)
    ax = axes[0]
    zp, zt = r["joint"][:n_p], r["joint"][n_p:]
    ax.scatter(*zp.T, c=r["pred_p"], cmap=cmap, s=3, marker=".", vmin=0, vmax=cmap.N - 1, label="patches (·, predicted class)")
    ax.scatter(*zt.T, c=r["labels"], cmap=cmap, s=6, marker="x", linewidths=0.5, vmin=0, vmax=cmap.N - 1,
               label="test images (×, true class)")
    rng = np.random.default_rng(seed)
    test_imgs = r["test"].load_batch(torch.arange(len(zt)))
    _thumbs(ax, zp, r["patches"], rng.choice(n_p, min(thumbs, n_p), replace=False), boxed=False)
    _thumbs(ax, zt, test_imgs, rng.choice(len(zt), min(thumbs, len(zt)), replace=False), boxed=True)
    ax.set(title="Fig. 5: patches and test images embedded jointly (boxed thumbnails: test images)", xticks=[], yticks=[])
    ax.legend(fontsize=7, loc="lower right", markerscale=3)
    ax = axes[1]
    ax.scatter(*r["alone"].T, c=r["labels"], cmap=cmap, s=5, vmin=0, vmax=cmap.N - 1)
    if len(r["classes"]) <= 20:
        handles = [plt.Line2D([], [], marker="o", ls="", color=cmap(i), label=c) for i, c in enumerate(r["classes"])]
        ax.legend(handles=handles, fontsize=7, loc="lower right")
    ax.set(title="Fig. 14: test images alone, coloured by true class", xticks=[], yticks=[])
    fig.suptitle(title, fontsize=9)
    save(fig, out_png)


@report.analysis(TITLE, PAPER, COLUMNS)
def analysis(cells, ctx, out, root="."):

    t = ctx.block
    r = compute(cells, ctx, root)
    plot(r, out.png, report.titled(TITLE, ctx), t["thumbnails"], ctx.seed)
    n_p, n_t = r["n_p"], len(r["labels"])
    rows = [pd.DataFrame({"embedding": "joint", "set": ["patches"] * n_p + ["test"] * n_t,
                          "index": list(range(n_p)) + list(range(n_t)),
                          "label": list(r["pred_p"]) + list(r["labels"]), "x": r["joint"][:, 0], "y": r["joint"][:, 1]}),
            pd.DataFrame({"embedding": "test", "set": "test", "index": range(n_t), "label": r["labels"],
                          "x": r["alone"][:, 0], "y": r["alone"][:, 1]})]
    df = pd.concat(rows, ignore_index=True).round({"x": 4, "y": 4})
    # Fig. 5: patches in the centre, test images outside (radius from the centre of all points)
    centre = np.median(r["joint"], axis=0)
    rad = radius(r["joint"], centre)
    rp, rt = float(np.median(rad[:n_p])), float(np.median(rad[n_p:]))
    fc = r["feats"].mean(0)
    frad = radius(r["feats"], fc)
    fp, ft = float(np.median(frad[:n_p])), float(np.median(frad[n_p:]))
    # Fig. 14: semantic structure of the test embedding
    k, chance = t["knn"], 100.0 / len(r["classes"])
    knn_feat = knn_accuracy(r["feats"][n_p:], r["labels"], k)
    knn_2d = knn_accuracy(r["alone"], r["labels"], k)
    top1 = float((r["pred_t"] == r["labels"]).mean() * 100)
    stats = {"joint_median_radius_patches": rp, "joint_median_radius_test": rt, "feature_median_radius_patches": fp,
             "feature_median_radius_test": ft, f"knn{k}_acc_features": knn_feat, f"knn{k}_acc_2d": knn_2d,
             "student_top1": top1, "chance": chance}
    df = pd.concat([df, pd.DataFrame([{"embedding": "summary", "set": s, "x": round(v, 4)} for s, v in stats.items()])],
                   ignore_index=True)
    measured = [(f"joint t-SNE: median distance to the centre {rp:.2f} for patches, {rt:.2f} for test images "
                f"(feature space: {fp:.2f} vs {ft:.2f})"),
                (f"leave-one-out {k}-NN accuracy of the test labels: {knn_feat:.1f}% in feature space, {knn_2d:.1f}% in "
                f"the 2-D test embedding (chance {chance:.0f}%; the student's top-1 on these images {top1:.1f}%)")]
    centred, semantic = rp < rt, knn_2d >= 2 * chance
    verdict = (f"Fig. 5: {'yes' if centred else 'no'} — the patches sit {'closer to' if centred else 'no closer to'} the "
               f"centre of the joint embedding than the test images (median radius {rp:.2f} vs {rt:.2f}). Fig. 14: "
               f"{'yes' if semantic else 'no'} — the test embedding {'is' if semantic else 'is not'} organised by class "
               f"({k}-NN accuracy {knn_2d:.1f}% in 2-D against {chance:.0f}% chance; criterion: at least twice chance).")
    run = (f"Penultimate features of the one-image student on {n_p} training patches and {n_t} test images of "
           f"{t['dataset']}; openTSNE (perplexity {t['perplexity']}, {t['iterations']} iterations after the early "
           f"exaggeration, seed {ctx.seed}) of both sets jointly and of the "
           "test images alone; patches coloured by the student's predicted class, test images by their true class.")
    return df, run, measured, verdict, {**stats, "fig5_claim_holds": float(centred), "fig14_claim_holds": float(semantic)}
