"""Table 15's CIFAR-scale analogue: how good are the penultimate features of the one-image student, beside the
supervised teacher and a randomly initialised network of the student's architecture? A linear probe
(scikit-learn logistic regression on standardised features) and few-shot linear SVMs (k images per class,
cost 0.5 as in the paper's B.11, L2-normalised features, mean over trials) on the target dataset, and on a
transfer dataset the models never saw (Fashion-MNIST: grey images repeated to 3 channels, resized to the
models' input side, normalised as the models' own data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..datasets import load_dataset
from ..models import build_model
from . import inputs as I
from . import report
from .features import extract

TITLE = "Table 15 (CIFAR-scale analogue): linear probe and few-shot SVMs on penultimate features"
PAPER = ("Appendix B.11, Table 15 (ImageNet, R18 -> R50): the one-image distilled ResNet-50's frozen features reach "
         "68.8% linear-probe top-1 on ImageNet-1k (teacher 69.8%) and 47.2% on Places (teacher 44.1%); few-shot SVMs "
         "come close to but below the teacher (VOC07 4-shot 58.9 vs 65.7 mAP), far above MoCo-v2 trained on the same "
         "single image (28.5% linear probe).")
COLUMNS = ["model", "dataset", "probe", "shots", "accuracy", "n_train", "n_test", "trials"]
RANDOM = "random init (student architecture)"


def _images(dataset: str, split: str, n: int | None, mirror):
    data = load_dataset(dataset, split, mirror)
    data = data.subset(n) if n else data
    x = data.load_batch(torch.arange(len(data)))
    if x.shape[1] == 1:  # grey transfer images: the models take RGB
        x = x.repeat(1, 3, 1, 1)
    return x, data.labels.clone()


def _features(model, norm, x, rt, side) -> np.ndarray:
    f = extract(model, x, *norm, device=rt.device, bf16=rt.bf16, side=side, desc="probe features")
    return f.penultimate.numpy().astype(np.float64)


def linear_probe(f_train, y_train, f_test, y_test, seed: int = 0) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    clf.fit(f_train, y_train)
    return 100.0 * float(clf.score(f_test, y_test))


def shot_indices(y_train, shots: int, trials: int, seed: int = 0, positives=None) -> list[np.ndarray]:
    """Per trial, the training images of a few-shot SVM: `shots` random images of each class (`positives`, a
    multi-hot (n, classes) array: `shots` random positives of each class, their union; Goyal et al. 2019)."""
    rng = np.random.default_rng(seed)
    if positives is None:
        return [np.concatenate([rng.choice(np.flatnonzero(y_train == c), shots, replace=False)
                                for c in np.unique(y_train)]) for _ in range(trials)]
    pools = [np.flatnonzero(positives[:, c]) for c in range(positives.shape[1])]
    return [np.unique(np.concatenate([rng.choice(p, min(shots, len(p)), replace=False) for p in pools if len(p)]))
            for _ in range(trials)]


def few_shot_svm(f_train, y_train, f_test, y_test, shots: int, trials: int, cost: float, seed: int = 0,
                 trials_idx: list[np.ndarray] | None = None) -> float:
    """Mean test accuracy (%) of linear SVMs trained on `shots` random training images per class (or on the
    given per-trial indices)."""
    from sklearn.preprocessing import normalize
    from sklearn.svm import LinearSVC

    f_train, f_test = normalize(f_train), normalize(f_test)
    scores = []
    for idx in trials_idx if trials_idx is not None else shot_indices(y_train, shots, trials, seed):
        svm = LinearSVC(C=cost, max_iter=10000).fit(f_train[idx], y_train[idx])
        scores.append(100.0 * float(svm.score(f_test, y_test)))
    return float(np.mean(scores))


def compute(cells, ctx, root=".") -> pd.DataFrame:
    t, rt, roles = ctx.block, I.Runtime.from_params(ctx.params), I.by_role(cells)
    teacher, norm_t, _ = I.load_model(roles[I.TEACHER].jobs[0], rt, root)
    student, norm_s, meta = I.load_model(roles[I.ONE_IMAGE].jobs[0], rt, root)
    torch.manual_seed(ctx.seed)
    random_net = build_model(meta["arch"], meta["num_classes"], 3).to(rt.device).eval()
    models = {"supervised teacher": (teacher, norm_t), "one-image student": (student, norm_s),
              RANDOM: (random_net, norm_s)}
    rows = []
    for dataset in (t["dataset"], t["transfer"]):
        x_tr, y_tr = _images(dataset, "train", t["train_images"], rt.mirror)
        x_te, y_te = _images(dataset, "test", t["test_images"], rt.mirror)
        y_tr, y_te = y_tr.numpy(), y_te.numpy()
        for name, (model, norm) in models.items():
            f_tr, f_te = _features(model, norm, x_tr, rt, t["side"]), _features(model, norm, x_te, rt, t["side"])
            base = {"model": name, "dataset": dataset, "n_train": len(y_tr), "n_test": len(y_te)}
            rows.append({**base, "probe": "linear (logistic regression)", "shots": None, "trials": 1,
                         "accuracy": linear_probe(f_tr, y_tr, f_te, y_te, ctx.seed)})
            for k in t["shots"]:
                rows.append({**base, "probe": "linear SVM", "shots": k, "trials": t["trials"], "n_train": k * 10,
                             "accuracy": few_shot_svm(f_tr, y_tr, f_te, y_te, k, t["trials"], t["svm_cost"], ctx.seed)})
    return pd.DataFrame(rows, columns=COLUMNS)


def plot(df, out_png, title) -> None:
    import matplotlib.pyplot as plt

    from ..figures import save

    df = df.assign(task=[f"{d}: {p if s is None or s != s else f'{int(s)}-shot SVM'}".replace(
        "linear (logistic regression)", "linear probe") for d, p, s in zip(df.dataset, df.probe, df.shots)])
    tasks, models = list(dict.fromkeys(df.task)), list(dict.fromkeys(df.model))
    fig, ax = plt.subplots(figsize=(10, 4))
    w = 0.8 / len(models)
    for i, m in enumerate(models):
        vals = [df[(df.task == task) & (df.model == m)].accuracy.mean() for task in tasks]
        ax.bar(np.arange(len(tasks)) + i * w, vals, w, label=m)
    ax.set_xticks(np.arange(len(tasks)) + w * (len(models) - 1) / 2, tasks, rotation=20, ha="right", fontsize=7)
    ax.set(ylabel="test accuracy (%)", title=title)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    save(fig, out_png)


@report.analysis(TITLE, PAPER, COLUMNS)
def analysis(cells, ctx, out, root="."):
    df = compute(cells, ctx, root)
    plot(df, out.png, report.titled(TITLE, ctx))
    acc = lambda m, d, s=None: df[(df.model == m) & (df.dataset == d) & (  # noqa: E731
        df.shots.isna() if s is None else df.shots == s)].accuracy.iloc[0]
    t = ctx.block
    measured = [f"{d}, {'linear probe' if s is None else f'{s}-shot SVM'}: teacher {acc('supervised teacher', d, s):.1f}%, "
                f"one-image student {acc('one-image student', d, s):.1f}%, random init {acc(RANDOM, d, s):.1f}%"
                for d in (t["dataset"], t["transfer"]) for s in (None, *t["shots"])]
    gaps = [(acc("one-image student", d, None) - acc(RANDOM, d, None), acc("supervised teacher", d, None)
             - acc("one-image student", d, None)) for d in (t["dataset"], t["transfer"])]
    above_random = all(g[0] > 0 for g in gaps)
    verdict = (("Partly: " if not all(g[1] >= 0 for g in gaps) else "Yes, in direction: ") if above_random else "No: ")
    verdict += (f"the one-image student's linear probe is {gaps[0][0]:+.1f} points over the random network on "
                f"{t['dataset']} and {gaps[1][0]:+.1f} on {t['transfer']}, and {gaps[0][1]:.1f} / {gaps[1][1]:.1f} "
                "points below the teacher (negative: above it; the paper: close to, and on Places above, the "
                "teacher). The paper's "
                "comparison is ImageNet-scale ResNets against MoCo-v2; here it is CIFAR-scale models against a "
                "random network.")
    run = (f"Penultimate features of the {t['table']} teacher and one-image student and of a random {cells[1].student} "
           f"on {t['train_images'] or 'all'} training / {t['test_images'] or 'all'} test images of {t['dataset']} "
           f"and of {t['transfer']} (transfer); logistic regression on standardised features; linear SVMs "
           f"(C = {t['svm_cost']}) on L2-normalised features of {', '.join(map(str, t['shots']))} images per class, "
           f"mean of {t['trials']} trials.")
    summary = {f"{m.split()[0]}_{d}_linear": acc(m, d) for m in ("one-image student", "supervised teacher", RANDOM)
               for d in (t["dataset"], t["transfer"])}
    return df, run, measured, verdict, summary
