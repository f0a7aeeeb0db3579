"""The analysis behind Figures 18 and 19: per-class accuracy of the one-image student, absolute and
relative to its teacher, against the class's share of the teacher's top-1 on the patch set (Appendix B.13)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import inputs as I
from . import report

TITLE = "Figures 18 and 19: per-class accuracy vs how often the class is the teacher's top-1 on the patches"
PAPER = ("Appendix B.13, Figs. 18 and 19 (ImageNet, R18 -> R50): the student's per-class validation accuracy, "
         "plotted against the frequency of the class as the teacher's top-1 prediction on one epoch of patches, "
         "\"is unrelated\", and \"there is no relationship between when the student under or overperforms the "
         "teacher vs how often a particular likeness of a class appears\"; the 10 classes with the largest drop "
         "against the teacher are 9 dog breeds (fine-grained classes).")
COLUMNS = ["class", "teacher_top1_share_pct", "student_acc", "teacher_acc", "relative_acc", "n_test"]




def _pearson(x, y) -> tuple[float, float]:
    from scipy import stats

    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return float("nan"), float("nan")
    r, p = stats.pearsonr(x, y)
    return float(r), float(p)


def compute(cells, ctx, root=".") -> pd.DataFrame:
    from .features import extract

    t = ctx.block
    m = I.teacher_and_student(cells, ctx, t["test_images"], root)
    test, kw = m.test, {"device": m.rt.device, "bf16": m.rt.bf16}
    patches = I.patch_sample(m.patches, t["patches"], root)
    on_patches = extract(m.teacher, patches, *m.teacher_norm, side=m.side, desc="teacher on patches", **kw).logits.argmax(1)
    ft = extract(m.teacher, test, *m.teacher_norm, desc="teacher on test", **kw)
    fs = extract(m.student, test, *m.student_norm, desc="student on test", **kw)
    labels, classes = ft.labels, test.classes
    share = np.bincount(on_patches.numpy(), minlength=len(classes)) / len(on_patches) * 100
    rows = []
    for c, name in enumerate(classes):
        sel = labels == c
        n = int(sel.sum())
        s_acc = float((fs.logits.argmax(1)[sel] == c).float().mean() * 100) if n else float("nan")
        t_acc = float((ft.logits.argmax(1)[sel] == c).float().mean() * 100) if n else float("nan")
        rows.append({"class": name, "teacher_top1_share_pct": round(float(share[c]), 3), "student_acc": round(s_acc, 2),
                     "teacher_acc": round(t_acc, 2), "relative_acc": round(s_acc - t_acc, 2), "n_test": n})
    df = pd.DataFrame(rows, columns=COLUMNS)
    df.attrs.update(n_test=len(test), n_patches=len(on_patches))
    return df


def plot(df, stats, out_png, title) -> None:
    import matplotlib.pyplot as plt

    from ..figures import save

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.3))
    for ax, col, lab, key in ((axes[0], "student_acc", "student per-class top-1 (%)", "fig18"),
                              (axes[1], "relative_acc", "student minus teacher per-class top-1 (points)", "fig19")):
        ax.scatter(df.teacher_top1_share_pct, df[col], s=18, color="tab:blue")
        if len(df) <= 20:
            for _, row in df.iterrows():
                ax.annotate(row["class"], (row.teacher_top1_share_pct, row[col]), fontsize=7, xytext=(3, 3),
                            textcoords="offset points")
        r, p = stats[col]
        ax.set(xlabel="class share of the teacher's top-1 on the patches (%)", ylabel=lab,
               title=f"{'Fig. 18' if key == 'fig18' else 'Fig. 19'}: Pearson r = {r:.2f} (p = {p:.2g})")
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=9)
    save(fig, out_png)


@report.analysis(TITLE, PAPER, COLUMNS)
def analysis(cells, ctx, out, root="."):

    df = compute(cells, ctx, root)
    stats = {col: _pearson(df.teacher_top1_share_pct, df[col]) for col in ("student_acc", "relative_acc")}
    plot(df, stats, out.png, report.titled(TITLE, ctx))
    n_test, n_patches = df.attrs["n_test"], df.attrs["n_patches"]
    out_df = pd.concat([df, pd.DataFrame([
        {"class": f"pearson_r vs {col}", "teacher_top1_share_pct": None, col: round(r, 4), "n_test": None}
        for col, (r, _) in stats.items()] + [
        {"class": f"p_value vs {col}", "teacher_top1_share_pct": None, col: round(p, 4), "n_test": None}
        for col, (_, p) in stats.items()])], ignore_index=True)
    worst = df.sort_values("relative_acc").head(ctx.block["worst"])
    (r1, p1), (r2, p2) = stats["student_acc"], stats["relative_acc"]
    share = df.teacher_top1_share_pct
    measured = [(f"Pearson r between the class's share of the teacher's top-1 on the patches and the student's "
                 f"per-class accuracy: {r1:.3f} (p = {p1:.3g}, {len(df)} classes) — Fig. 18"),
                (f"... and the student's accuracy relative to the teacher (student minus teacher, points): {r2:.3f} "
                 f"(p = {p2:.3g}) — Fig. 19"),
                (f"top-1 share on the patches: from {share.min():.1f}% ({df.loc[share.idxmin(), 'class']}) "
                 f"to {share.max():.1f}% ({df.loc[share.idxmax(), 'class']})"),
                f"the {len(worst)} worst classes (student minus teacher): "
                + ", ".join(f"{r['class']} ({r.relative_acc:+.1f})" for _, r in worst.iterrows())]
    unrelated = [p > 0.05 for p in (p1, p2)]
    verdict = ("Yes: neither correlation is significant at the 5% level, so per-class accuracy (absolute or relative "
               "to the teacher) does not follow how often the teacher names the class on the patches."
               if all(unrelated) else
               f"Not entirely: {'the absolute' if not unrelated[0] else ''}{' and ' if not any(unrelated) else ''}"
               f"{'the relative' if not unrelated[1] else ''} per-class accuracy correlates significantly (p <= 0.05) "
               "with the class's share of the teacher's top-1 on the patches here.")
    verdict += (" With CIFAR-10's 10 classes the test has little power; the paper's claim is for ImageNet's 1000." if len(df) < 30 else "")
    run = (f"The teacher labels {n_patches} patches (top-1 counts per class); teacher and one-image student are "
           f"evaluated on {n_test} test images of {ctx.block['dataset']}; one point per class.")
    summary = {"pearson_r/student_acc": r1, "p_value/student_acc": p1, "pearson_r/relative_acc": r2,
               "p_value/relative_acc": p2, "claim_holds": float(all(unrelated))}
    return out_df, run, measured, verdict, summary
