"""The analysis behind Figure 9 (and Fig. 8's layout): random training patches, each with the teacher's
temperature-scaled top-5 classes and probabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from . import inputs as I
from . import report

TITLE = "Figure 9: random training patches with the teacher's temperature-scaled top-5 predictions"
PAPER = ("Fig. 9 (Appendix B.4): temperature-scaled predictions of the WRN-40-4 CIFAR-10 teacher on random patches "
         "of the Animals image (Fig. 8, the ImageNet version, is fig8). \"Only very few "
         "training samples can be interpreted ..., while for most other patches, the teacher is being very "
         "'creative'\"; the student learns from the whole teaching signal, not only the top-1.")
COLUMNS = ["patch", "rank", "class", "prob"]


def top5(logits: torch.Tensor, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(probabilities, class indices) of the 5 (or fewer) largest softmax(logits / T) entries per row."""
    p = (logits.double() / temperature).softmax(1)
    return p.topk(min(5, p.shape[1]), dim=1)


def plot(images, probs, idx, classes, out_png, title, cols: int) -> None:
    import matplotlib.pyplot as plt

    from ..figures import save

    n = len(images)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, 2 * cols, figsize=(3.2 * cols, 1.35 * rows), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1.4] * cols})
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        i, text = k // 2, k % 2
        if i >= n:
            continue
        if not text:
            ax.imshow(images[i].permute(1, 2, 0).numpy(), interpolation="nearest")
        else:
            ax.text(0, 0.5, "\n".join(f"{classes[c]}: {p:.3f}" for p, c in zip(probs[i].tolist(), idx[i].tolist())),
                    fontsize=6.5, va="center", family="monospace")
    fig.suptitle(title, fontsize=9)
    save(fig, out_png)


def predict(teacher, norm, patches, n: int, temperature: float, seed: int, *, device, bf16: bool, side: int | None):
    """n patches drawn at random (seed) from `patches` (uint8 (N, C, H, W)), the teacher's top-5
    softmax(logits / T) on them: (indices drawn, patches, probabilities, class indices)."""
    from .features import extract

    pick = torch.randperm(len(patches), generator=torch.Generator().manual_seed(seed))[:n].sort().values
    shown = torch.as_tensor(patches[pick])
    logits = extract(teacher, shown, *norm, device=device, bf16=bf16, side=side, desc="teacher on patches").logits
    return (pick, shown, *top5(logits, temperature))


def rows(pick, probs, idx, classes) -> pd.DataFrame:
    return pd.DataFrame([{"patch": int(pick[i]), "rank": r + 1, "class": classes[int(idx[i, r])],
                          "prob": round(float(probs[i, r]), 5)} for i in range(len(pick)) for r in range(idx.shape[1])],
                        columns=COLUMNS)


def from_files(model_path: str, patches_path: str, out_png: str, *, n: int = 20, temperature: float = 8.0,
               seed: int = 0, columns: int = 4, device: str = "auto") -> pd.DataFrame:
    """Figs 8 and 9 for any teacher and any patch set (`augprior patch-predictions`): the grid as a PNG and its
    numbers as a CSV beside it (same name, .csv); returns the numbers."""
    from pathlib import Path

    from .. import fileio
    from ..checkpoint import load_model
    from ..datasets import normalization
    from ..patches.store import load_patch_set
    from ..runtime import select_device, use_bf16

    dev = select_device(device)
    model, meta = load_model(model_path, dev)
    norm = (tuple(meta["mean"]), tuple(meta["std"])) if "mean" in meta and "std" in meta else \
        normalization(meta.get("dataset", "cifar10"))
    classes = list(meta.get("classes") or [f"class {i}" for i in range(meta["num_classes"])])
    patches = load_patch_set(patches_path)
    pick, shown, probs, idx = predict(model, norm, patches, n, temperature, seed, device=dev,
                                      bf16=use_bf16(dev, "auto"), side=meta.get("image_size"))
    plot(shown, probs, idx, classes, out_png, f"{Path(model_path).name} on {Path(patches_path).name}: top-5 "
         f"(T = {temperature:g})", columns)
    df = rows(pick, probs, idx, classes)
    fileio.write_text(Path(out_png).with_suffix(".csv"), df.to_csv(index=False))
    return df


@report.analysis(TITLE, PAPER, COLUMNS)
def analysis(cells, ctx, out, root="."):
    t = ctx.block
    m = I.teacher_and_student(cells, ctx, 10, root)
    temp = t["temperature"] or m.rt.temperature
    patches = I.patch_sample(m.patches, None, root)
    pick, shown, probs, idx = predict(m.teacher, m.teacher_norm, patches, t["patches"], temp, ctx.seed,
                                      device=m.rt.device, bf16=m.rt.bf16, side=m.side)
    classes = list(m.test.classes)
    plot(shown, probs, idx, classes, out.png, report.titled(TITLE, ctx, f"T = {temp:g}"), t["columns"])
    df = rows(pick, probs, idx, classes)
    p1, p5 = probs[:, 0].numpy(), probs.sum(1).numpy()
    distinct = len(set(idx[:, 0].tolist()))
    measured = [(f"{len(shown)} patches: the teacher's top-1 probability (T = {temp:g}) is {p1.mean():.3f} on average "
                f"(range {p1.min():.3f}-{p1.max():.3f}; uniform: {1 / len(classes):.3f}); the top-5 hold {p5.mean():.3f} "
                "of the probability mass"),
                f"{distinct} distinct top-1 classes among them: "
                + ", ".join(f"{classes[c]} x{k}" for c, k in zip(*np.unique(idx[:, 0].numpy(), return_counts=True)))]
    verdict = ("A qualitative figure: look at the grid. The numbers show the teacher's temperature-scaled signal on "
               f"these patches is soft (top-1 {p1.mean():.2f} on average, {1 - p5.mean():.2f} of the mass outside the "
               f"top-5) and spread over {distinct} classes, i.e. it names CIFAR classes for patches that are not "
               "objects of those classes, as the paper describes.")
    run = (f"{len(shown)} patches drawn at random (seed {ctx.seed}) from the patch set; teacher logits / T, "
           f"T = {temp:g} (the distillation temperature unless set), top-5 shown.")
    summary = {"teacher_top1_prob_mean": float(p1.mean()), "top5_mass_mean": float(p5.mean()),
               "distinct_top1_classes": distinct}
    return df, run, measured, verdict, summary


IMAGENET_TITLE = "Figure 8: random 256-px patches with an ImageNet teacher's temperature-scaled top-5 predictions"
IMAGENET_PAPER = ("Fig. 8 (Appendix B.4): temperature-scaled predictions of the ResNet-50 ImageNet teacher on random "
                  "patches of the Animals image: for most patches the teacher's classes are 'creative' (they name "
                  "objects the patch does not show) and its signal is soft, spread over several classes.")


def imagenet_classes() -> list[str]:
    """The 1000 ImageNet-1k class names, in index order (shipped inside torchvision; no download)."""
    from torchvision.models import ResNet50_Weights

    return list(ResNet50_Weights.IMAGENET1K_V2.meta["categories"])


@report.analysis(IMAGENET_TITLE, IMAGENET_PAPER, COLUMNS)
def imagenet_analysis(cells, ctx, out, root="."):
    from ..models import build_model
    from ..models.efficientnet_lite import IMAGENET_MEAN, IMAGENET_STD

    t, rt = ctx.block, I.Runtime.from_params(ctx.params)
    temp = t["temperature"] or rt.temperature
    teacher = build_model(t["teacher"], 1000, 3, pretrained=True).to(rt.device).eval()
    patches = I.patch_sample(cells[0].jobs[0], None, root)
    pick, shown, probs, idx = predict(teacher, (IMAGENET_MEAN, IMAGENET_STD), patches, t["patches"], temp, ctx.seed,
                                      device=rt.device, bf16=rt.bf16, side=t["input_size"])
    classes = imagenet_classes()
    plot(shown, probs, idx, classes, out.png, f"{IMAGENET_TITLE} ({t['image']}, {t['teacher']}, T = {temp:g}, "
         f"scale {ctx.scale})", t["columns"])
    df = rows(pick, probs, idx, classes)
    p1, p5 = probs[:, 0].numpy(), probs.sum(1).numpy()
    distinct = len(set(idx[:, 0].tolist()))
    measured = [(f"{len(shown)} patches: the teacher's top-1 probability (T = {temp:g}) is {p1.mean():.3f} on average "
                 f"(range {p1.min():.3f}-{p1.max():.3f}; uniform: {1 / len(classes):.4f}); the top-5 hold "
                 f"{p5.mean():.3f} of the mass"),
                f"{distinct} distinct top-1 classes among {len(shown)} patches: "
                + ", ".join(f"{classes[c]} x{k}" for c, k in zip(*np.unique(idx[:, 0].numpy(), return_counts=True)))]
    soft, spread = p5.mean() < 0.9, distinct > len(shown) // 4
    verdict = (f"{'Yes' if soft and spread else 'Partly' if soft or spread else 'No'}: the teacher's signal on these "
               f"patches is {'soft' if soft else 'not soft'} ({1 - p5.mean():.2f} of the mass outside the top-5 on "
               f"average; criterion: more than 0.10) and {'spread' if spread else 'not spread'} over {distinct} top-1 "
               f"classes for {len(shown)} patches (criterion: more than a quarter of the patches). The teacher is "
               f"{t['teacher']}, not the paper's ResNet-50 (no ResNet-50 weights offline): the claim is about the "
               "teaching signal of an ImageNet model on patches, which this tests; the class names themselves differ.")
    run = (f"{t['num']} patches of {t['patch_size']} px cut from {t['image']} with the tables' patch recipe; "
           f"{len(shown)} drawn at random (seed {ctx.seed}), resized to {t['input_size']} px, ImageNet mean/std; "
           f"teacher logits / T, T = {temp:g}; top-5 shown.")
    summary = {"teacher_top1_prob_mean": float(p1.mean()), "top5_mass_mean": float(p5.mean()),
               "distinct_top1_classes": distinct}
    return df, run, measured, verdict, summary
