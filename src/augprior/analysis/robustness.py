"""Table 16's CIFAR-scale analogue: CIFAR-10 (JPEG)-C. The test set (a fixed sample) corrupted by each
implemented corruption of augprior.corruptions at severities 1-5; the top-1 error of Table 1's teacher,
full-data student and one-image student on each, and the corruption error CE_c = sum_s E_s,c(model) /
sum_s E_s,c(baseline) x 100 (Hendrycks & Dietterich's normalisation, with the supervised teacher as the
baseline in place of their AlexNet); mCE is the mean CE over the corruptions of the params block (all 15 by
default, with CIFAR-10-C's severity constants)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .. import corruptions
from . import inputs as I
from . import report
from .features import extract

TITLE = "Table 16 (CIFAR-scale analogue): CIFAR-10 (JPEG)-C corruption errors"
PAPER = ("Appendix B.12, Table 16 (ImageNet-C): the one-image students are about as robust as their teacher: mCE "
         "85.9 (R50x2) and 89.8 (R50) vs the ResNet-18 teacher's 84.7 (AlexNet-normalised), clean errors 31.0 / "
         "33.8 vs 30.2.")
COLUMNS = ["model", "corruption", "severity", "error", "n_test"]
BASELINE = "supervised teacher"


def _errors(model, norm, x: torch.Tensor, y: torch.Tensor, rt) -> float:
    f = extract(model, x, *norm, device=rt.device, bf16=rt.bf16, desc="corrupted")
    return 100.0 * float((f.logits.argmax(1) != y).float().mean())


def compute(cells, ctx, root=".") -> pd.DataFrame:
    t, rt, roles = ctx.block, I.Runtime.from_params(ctx.params), I.by_role(cells)
    models = {BASELINE: I.load_model(roles[I.TEACHER].jobs[0], rt, root)[:2],
              "full-data student": I.load_model(roles[I.FULL_DATA].jobs[0], rt, root)[:2],
              "one-image student": I.load_model(roles[I.ONE_IMAGE].jobs[0], rt, root)[:2]}
    test = I.test_set(t["dataset"], rt, t["test_images"])
    x = test.load_batch(torch.arange(len(test)))
    y = test.labels
    rows = [{"model": m, "corruption": "clean", "severity": 0, "error": _errors(net, norm, x, y, rt), "n_test": len(y)}
            for m, (net, norm) in models.items()]
    hwc = x.permute(0, 2, 3, 1).numpy()
    for name in t["corruptions"]:
        for s in range(1, 6):
            xc = torch.from_numpy(corruptions.corrupt(name, hwc, s, ctx.seed)).permute(0, 3, 1, 2).contiguous()
            rows += [{"model": m, "corruption": name, "severity": s, "error": _errors(net, norm, xc, y, rt),
                      "n_test": len(y)} for m, (net, norm) in models.items()]
    return pd.DataFrame(rows, columns=COLUMNS)


def corruption_errors(df: pd.DataFrame) -> pd.DataFrame:
    """model x corruption CE (%) relative to BASELINE, and the mCE column."""
    summed = df[df.severity > 0].groupby(["model", "corruption"]).error.sum().unstack()
    ce = 100.0 * summed / summed.loc[BASELINE]
    ce["mce"] = ce.mean(axis=1)
    return ce


def plot(ce: pd.DataFrame, out_png, title) -> None:
    import matplotlib.pyplot as plt

    from ..figures import save

    cols = [c for c in ce.columns if c != "mce"] + ["mce"]
    fig, ax = plt.subplots(figsize=(10, 3.8))
    w = 0.8 / len(ce.index)
    for i, m in enumerate(ce.index):
        ax.bar(np.arange(len(cols)) + i * w, ce.loc[m, cols], w, label=m)
    ax.axhline(100, color="k", lw=0.6)
    ax.set_xticks(np.arange(len(cols)) + w * (len(ce.index) - 1) / 2, cols, rotation=30, ha="right", fontsize=7)
    ax.set(ylabel=f"corruption error (% of the {BASELINE}'s)", title=title)
    ax.legend(fontsize=7)
    save(fig, out_png)


@report.analysis(TITLE, PAPER, COLUMNS)
def analysis(cells, ctx, out, root="."):
    t = ctx.block
    df = compute(cells, ctx, root)
    ce = corruption_errors(df)
    plot(ce, out.png, report.titled(TITLE, ctx))
    clean = df[df.corruption == "clean"].set_index("model").error
    measured = [f"{m}: clean error {clean[m]:.1f}%, mCE {ce.loc[m, 'mce']:.1f} (CE: "
                + ", ".join(f"{c} {ce.loc[m, c]:.0f}" for c in t["corruptions"]) + ")" for m in ce.index]
    if skipped := [c for c in corruptions.LEVELS if c not in t["corruptions"]]:
        measured.append(f"not computed (not in table16_cifar.corruptions): {', '.join(skipped)}")
    gap = ce.loc["one-image student", "mce"] - 100.0
    verdict = (f"The one-image student's mCE is {ce.loc['one-image student', 'mce']:.1f} against the teacher's 100 "
               f"({gap:+.1f}) and the full-data student's {ce.loc['full-data student', 'mce']:.1f}. The paper's claim "
               "(one-image students about as robust as the teacher, a few mCE points worse) "
               + ("holds here in direction." if 0 <= gap <= 20 else "does not hold here at this scale.")
               + f" Note: {len(t['corruptions'])} of the 15 corruptions, the teacher as baseline (not AlexNet).")
    run = (f"{len(df[df.corruption == 'clean'].n_test.iloc[:1].tolist()) and int(df.n_test.iloc[0])} test images of "
           f"{t['dataset']} (a fixed class-spread sample), each corruption of {', '.join(t['corruptions'])} at "
           f"severities 1-5 (seed {ctx.seed}; augprior.corruptions, the CIFAR-10-C generator's parameters); top-1 "
           f"errors of the {t['table']} teacher, full-data and one-image students; CE relative to the {BASELINE}.")
    summary = {f"mce_{m.split()[0].replace('-', '_')}": ce.loc[m, "mce"] for m in ce.index}
    summary.update({f"clean_error_{m.split()[0].replace('-', '_')}": clean[m] for m in ce.index})
    return df, run, measured, verdict, summary
