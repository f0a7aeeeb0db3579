"""The analysis behind Figure 17: linear CKA between every pair of layers of a trained model and of its clone
pruned to 50% sparsity by self-distillation on patches of one image (Table 13's runs), on the test set."""

from __future__ import annotations

import pandas as pd

from . import inputs as I
from . import report

DENSE, PRUNED = "dense", "pruned"
COLUMNS = ["kernel", "dense_layer", "pruned_layer", "cka"]
TITLE = "Figure 17: CKA between the layers of the pruned and the dense model"
PAPER = ("Fig. 17 (Appendix B.10): CKA between the layers of a WRN-16-4 pruned to 50% sparsity by one-image "
         "self-distillation and the standard WRN-16-4 on CIFAR-100: \"the diagonal entries highlight that even after "
         "50% sparsity the representations are very similar.\"")


def cells(ctx) -> list:
    """The dense teacher ('standard') and the pruned one-image cell of the params block's table (Table 13)."""
    from .. import experiments
    from ..cells import Cell

    t, out = ctx.block, []
    table = experiments.cells(t["table"], ctx.params)
    for role, setting in ((DENSE, "standard"), (PRUNED, t["pruned"])):
        try:
            src = next(c for c in table if c.part == t["model"] and c.setting == setting
                       and c.dataset == t["dataset"])
        except StopIteration:
            out.append(Cell(ctx.name, role, f"{t['table']}: {t['model']}, {setting}", t["dataset"], [],
                            reason=f"{t['table']} has no cell {t['model']!r} / {setting!r} on {t['dataset']}"))
            continue
        out.append(Cell(ctx.name, role, f"{t['table']}: {t['model']}, {setting}", t["dataset"], list(src.jobs[:1]),
                        teacher=src.teacher, student=src.student, reason=src.reason,
                        extra={"source_table": t["table"]}))
    return out


@report.analysis(TITLE, PAPER, COLUMNS)
def analysis(cells, ctx, out, root="."):
    import matplotlib.pyplot as plt
    import numpy as np

    from ..figures import save
    from .cka import MinibatchCKA
    from .features import LOGITS, PENULTIMATE, default_layers, iter_features

    t, rt, roles = ctx.block, I.Runtime.from_params(ctx.params), I.by_role(cells)
    loaded = [I.load_model(roles[r].jobs[0], rt, root) for r in (DENSE, PRUNED)]
    models = [m for m, _, _ in loaded]
    layers = default_layers(models[0])
    keys = layers + [PENULTIMATE, LOGITS]
    mean, std = loaded[0][1]
    test = I.test_set(t["dataset"], rt, t["test_images"])
    acc = MinibatchCKA(len(keys), len(keys), "linear")
    for outs, _ in iter_features(models, test, mean, std, device=rt.device, bf16=rt.bf16, layers=[layers, layers],
                                 batch_size=t["batch_size"], desc="CKA features", cpu=rt.device.type == "cpu"):
        if len(outs[0][LOGITS]) >= 4:
            acc.update([outs[0][k] for k in keys], [outs[1][k] for k in keys])
    m = acc.compute().numpy()
    df = pd.DataFrame([{"kernel": "linear", "dense_layer": a, "pruned_layer": b, "cka": round(float(m[i, j]), 5)}
                       for i, a in enumerate(keys) for j, b in enumerate(keys)], columns=COLUMNS)
    sparsity = loaded[1][2].get("sparsity")
    fig, ax = plt.subplots(figsize=(5.6, 4.8), constrained_layout=True)
    im = ax.imshow(m, vmin=0, vmax=1, cmap="magma", origin="lower")
    ax.set_xticks(range(len(keys)), keys, rotation=90, fontsize=6)
    ax.set_yticks(range(len(keys)), keys, fontsize=6)
    arch = loaded[0][2].get("arch", "?")
    ax.set(xlabel=f"pruned {arch} layer (sparsity {sparsity:.0%})" if sparsity is not None else f"pruned {arch} layer",
           ylabel=f"dense {arch} layer")
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title(report.titled(TITLE, ctx, f"linear CKA, n = {len(test)} test images"), fontsize=8)
    save(fig, out.png)
    diag = float(np.diag(m).mean())
    off = float(m[~np.eye(len(keys), dtype=bool)].mean())
    ok = diag >= 0.8 and diag > off
    measured = [f"mean CKA of corresponding layers (the diagonal) {diag:.3f}, of all other pairs {off:.3f}; "
                f"minimum on the diagonal {float(np.diag(m).min()):.3f} ({keys[int(np.diag(m).argmin())]})",
                f"measured sparsity of the pruned model's conv / linear weights: "
                f"{sparsity:.4f}" if sparsity is not None else "sparsity not recorded in the model file"]
    verdict = (f"{'Yes' if ok else 'No'}: after pruning the representations stay {'very ' if diag >= 0.9 else ''}similar "
               f"layer by layer (diagonal linear CKA {diag:.3f} against {off:.3f} off the diagonal; criterion: >= 0.8 "
               "and above the off-diagonal mean).")
    run = (f"The dense model is {t['table']}'s {t['model']} teacher ({arch}), the pruned one its {t['pruned']!r} run; "
           f"{len(test)} test images of {t['dataset']} (a fixed sample), minibatches of {t['batch_size']}, unbiased "
           "minibatch linear CKA over the flattened outputs of every block, the penultimate features and the logits.")
    return df, run, measured, verdict, {"diagonal_cka": diag, "off_diagonal_cka": off}
