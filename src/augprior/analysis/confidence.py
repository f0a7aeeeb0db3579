"""The analysis behind Figure 3: histograms of the temperature-scaled max softmax score of the teacher
and the one-image student on training patches and on test images (Section 4)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import inputs as I
from . import report

COLUMNS = ["set", "model", "bin_lo", "bin_hi", "count"]
TITLE = "Figure 3: confidence (temperature-scaled max softmax) of teacher and one-image student"
PAPER = ("Fig. 3 (Section 4, \"Output confidence scores\"): temperature-scaled softmax scores of the predicted "
         "classes for 5K patches and 5K CIFAR-10 test images. \"The student indeed learns to mimic the teacher's "
         "predictions well for the patch training data. However, during evaluation on CIFAR images, the student "
         "model exhibits a much broader distribution of values, some with extremely high confidence scores.\"")
SETS = ("patches", "test")
MODELS = (I.TEACHER, I.ONE_IMAGE)




def overlap(a: np.ndarray, b: np.ndarray, edges: np.ndarray) -> float:
    """Histogram intersection of two samples (1: identical histograms, 0: disjoint)."""
    ha, hb = (np.histogram(x, edges)[0] / len(x) for x in (a, b))
    return float(np.minimum(ha, hb).sum())


def compute(cells, ctx, root="."):
    from .features import extract

    t = ctx.block
    m = I.teacher_and_student(cells, ctx, t["test_images"], root)
    temp = t["temperature"] or m.rt.temperature
    data = {"patches": I.patch_sample(m.patches, t["patches"], root), "test": m.test}
    scores = {}
    for s, d in data.items():
        for role, model, norm in ((I.TEACHER, m.teacher, m.teacher_norm), (I.ONE_IMAGE, m.student, m.student_norm)):
            logits = extract(model, d, *norm, device=m.rt.device, bf16=m.rt.bf16, side=m.side, desc=f"{role} on {s}").logits
            scores[(s, role)] = (logits.double() / temp).softmax(1).max(1).values.numpy()
    return scores, temp, len(m.test.classes)


def plot(scores, edges, out_png, title, temp) -> None:
    import matplotlib.pyplot as plt

    from ..figures import save

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=False)
    for ax, s in zip(axes, SETS):
        for m, colour in zip(MODELS, ("tab:orange", "tab:blue")):
            x = scores[(s, m)]
            ax.hist(x, edges, alpha=0.55, color=colour, label=f"{m} (mean {x.mean():.3f})")
        ax.set(title=f"{'training patches' if s == 'patches' else 'test images'} (n={len(scores[(s, MODELS[0])])})",
               xlabel=f"max softmax(logits / {temp:g})", ylabel="count", yscale="log")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=9)
    save(fig, out_png)


@report.analysis(TITLE, PAPER, COLUMNS)
def analysis(cells, ctx, out, root="."):

    scores, temp, classes = compute(cells, ctx, root)
    lo, hi = min(x.min() for x in scores.values()), max(x.max() for x in scores.values())
    edges = np.linspace(lo, hi + 1e-9, ctx.block["bins"] + 1)  # the scores' range (1/classes .. 1 at most)
    plot(scores, edges, out.png, report.titled(TITLE, ctx), temp)
    rows = []
    for (s, m), x in scores.items():
        counts = np.histogram(x, edges)[0]
        rows += [{"set": s, "model": m, "bin_lo": round(a, 5), "bin_hi": round(b, 5), "count": int(c)}
                 for a, b, c in zip(edges[:-1], edges[1:], counts)]
    stats = {k: {"mean": float(x.mean()), "std": float(x.std()), "p99": float(np.quantile(x, 0.99)),
                 "max": float(x.max())} for k, x in scores.items()}
    for (s, m), st in stats.items():
        rows += [{"set": s, "model": m, "bin_lo": None, "bin_hi": None, "count": None, "stat": k, "value": round(v, 5)}
                 for k, v in st.items()]
    ov = {s: overlap(scores[(s, I.TEACHER)], scores[(s, I.ONE_IMAGE)], edges) for s in SETS}
    mad = float(np.abs(scores[("patches", I.TEACHER)] - scores[("patches", I.ONE_IMAGE)]).mean())
    rows += [{"set": s, "model": "teacher vs student", "stat": "histogram_overlap", "value": round(v, 5)} for s, v in ov.items()]
    rows.append({"set": "patches", "model": "teacher vs student", "stat": "mean_abs_diff_per_patch", "value": round(mad, 5)})
    df = pd.DataFrame(rows, columns=["set", "model", "bin_lo", "bin_hi", "count", "stat", "value"])
    measured = [f"{m} on {s}: mean {st['mean']:.3f}, std {st['std']:.3f}, 99th percentile {st['p99']:.3f}, max {st['max']:.3f}"
                for (s, m), st in stats.items()]
    measured.append(f"histogram overlap of teacher and student: {ov['patches']:.3f} on the patches, {ov['test']:.3f} "
                    f"on the test images; mean |teacher - student| score per patch {mad:.3f}")
    st_s, st_t = stats[("test", I.ONE_IMAGE)], stats[("test", I.TEACHER)]
    mimic = ov["patches"] > ov["test"]
    broader = st_s["std"] > st_t["std"]
    higher = st_s["p99"] > st_t["p99"]
    verdict = (f"{'Yes' if mimic and broader and higher else 'Partly' if mimic or broader or higher else 'No'}: "
               f"the student matches the teacher's confidences {'better' if mimic else 'no better'} on the patches than on "
               f"the test images (overlap {ov['patches']:.2f} vs {ov['test']:.2f}); on the test images its scores are "
               f"{'broader' if broader else 'not broader'} than the teacher's (std {st_s['std']:.3f} vs {st_t['std']:.3f}) and "
               f"{'reach higher' if higher else 'do not reach higher'} (99th percentile {st_s['p99']:.3f} vs {st_t['p99']:.3f}).")
    run = (f"{len(scores[('patches', I.TEACHER)])} training patches (resized to the test side when cut larger) and "
           f"{len(scores[('test', I.TEACHER)])} test images of {ctx.block['dataset']}; score = max softmax(logits / T), "
           f"T = {temp:g}; {ctx.block['bins']} bins over the observed range [{lo:.3f}, {hi:.3f}] (of [1/{classes}, 1]).")
    summary = {"overlap_patches": ov["patches"], "overlap_test": ov["test"], "mean_abs_diff_patches": mad,
               "student_test_std": st_s["std"], "teacher_test_std": st_t["std"], "student_test_p99": st_s["p99"],
               "teacher_test_p99": st_t["p99"], "claim_holds": float(mimic and broader and higher)}
    return df, run, measured, verdict, summary
