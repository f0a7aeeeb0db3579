"""Table 15 at 224 px: the frozen penultimate features of a 224-px model (a teacher or a distilled student) on
ImageFolder data, `<root>/{train,val}/<class>/*`, evaluated by

  linear   a linear probe (ImageNet-1k, Places-365): top-1 (%) on val of a linear layer trained on the
           standardised train features. A torch linear layer (AdamW, cosine, on the job's device), not
           scikit-learn's LogisticRegression as in the CIFAR analogue (augprior.analysis.transfer): lbfgs over
           1.28M x 2048 features and 1000 classes takes days on CPUs, the torch probe minutes on a GPU. It
           trains on centre-crop features computed once (MoCo-v2's linear eval, which the paper follows,
           trains 90 epochs on augmented crops: a documented deviation).
  svm      few-shot linear SVMs, cost 0.5, mean of 5 trials (Appendix B.11; Li et al. 2021): on VOC07 the
           low-shot protocol of Goyal et al. 2019: per trial k positive train images per class, one binary
           LinearSVC per class on L2-normalised features, mAP (%) over the classes on val; an image filed
           under several class folders (same file name) is one multi-label image, as VOC07's are. On other
           datasets (Places) single-label accuracy (%) of a one-vs-rest LinearSVC on k images per class
           (augprior.analysis.transfer.few_shot_svm, the CIFAR analogue's SVM).

  finetune semi-supervised fine-tuning on 1% of the labels (ImageNet-1k; SwAV's eval_semisup.py, as the paper
           follows): the whole network with a new linear head, SGD (momentum 0.9, no weight decay), lr 0.02 for
           the trunk and 5 for the head, 20 epochs, both decayed x0.2 at epochs 12 and 16, batch 256,
           random-resized crops (of the centre-cropped image here, not of the full photo) and flips; top-1 (%) on val after the last epoch (SwAV prints the best epoch's,
           chosen on val: `best_top1` is recorded beside it). The labelled images are the lines of SimCLR's
           `1percent.txt` (`subset_file`; github.com/google-research/simclr, imagenet_subsets/) or, without it,
           a seeded `labels_percent` of each class (a labelled deviation: not SimCLR's list).

  detection COCO box mAP of a Faster R-CNN + FPN on the model's trunk (augprior.analysis.detection).

Only the images a task needs are decoded: the few-shot SVMs extract the sampled train images and the val set.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .features import extract
from .transfer import few_shot_svm, shot_indices

TASKS = ("linear", "svm", "finetune", "detection")


def load(model_path: str | os.PathLike, device: torch.device):
    """(model in eval mode, (mean, std)) of a teacher's model.pt or a student's student.pt."""
    from ..checkpoint import load_model
    from ..datasets import IMAGENET_NORMALIZATION

    model, meta = load_model(model_path, device)
    norm = (tuple(meta["mean"]), tuple(meta["std"])) if "mean" in meta and "std" in meta else IMAGENET_NORMALIZATION
    return model.eval(), norm


def multi_hot(data) -> tuple[list[int], np.ndarray]:
    """Indices of the distinct images of an image folder (by file name) and their multi-hot labels (n, classes):
    an image filed under several class folders is one image with several labels."""
    first: dict[str, int] = {}
    labels: dict[str, set[int]] = {}
    for i, (path, y) in enumerate(zip(data.paths, data.labels.tolist())):
        first.setdefault(path.name, i)
        labels.setdefault(path.name, set()).add(y)
    names = list(first)
    Y = np.zeros((len(names), len(data.classes)), dtype=np.int64)
    for r, name in enumerate(names):
        Y[r, sorted(labels[name])] = 1
    return [first[n] for n in names], Y


def features(model, norm, data, device, bf16: bool, batch_size: int) -> np.ndarray:
    f = extract(model, data, *norm, device=device, bf16=bf16, batch_size=batch_size, desc="transfer features")
    return f.penultimate.numpy().astype(np.float32)


def linear_probe(f_train: np.ndarray, y_train: np.ndarray, f_test: np.ndarray, y_test: np.ndarray, *,
                 epochs: int, lr: float, weight_decay: float, batch_size: int, seed: int,
                 device: torch.device) -> float:
    """Top-1 (%) on the test features of a linear layer trained on standardised train features."""
    g = torch.Generator().manual_seed(seed)
    mean, std = f_train.mean(0), f_train.std(0) + 1e-6
    xtr = torch.from_numpy((f_train - mean) / std).to(device)
    xte = torch.from_numpy((f_test - mean) / std).to(device)
    ytr, classes = torch.from_numpy(y_train).long().to(device), int(max(y_train.max(), y_test.max())) + 1
    torch.manual_seed(seed)
    head = torch.nn.Linear(xtr.shape[1], classes).to(device)
    steps = epochs * max(1, -(-len(xtr) // batch_size))
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(epochs):
        for idx in torch.randperm(len(xtr), generator=g).split(batch_size):
            idx = idx.to(device)
            loss = torch.nn.functional.cross_entropy(head(xtr[idx]), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    with torch.no_grad():
        pred = torch.cat([head(b).argmax(1) for b in xte.split(4096)]).cpu().numpy()
    return 100.0 * float((pred == y_test).mean())


def voc_svm_map(f_train: np.ndarray, Y_train: np.ndarray, f_test: np.ndarray, Y_test: np.ndarray,
                trials_idx: list[np.ndarray], cost: float) -> float:
    """Mean over trials of the mAP (%) of per-class binary LinearSVCs trained on each trial's images."""
    from sklearn.metrics import average_precision_score
    from sklearn.preprocessing import normalize
    from sklearn.svm import LinearSVC

    f_train, f_test = normalize(f_train), normalize(f_test)
    scores = []
    for idx in trials_idx:
        aps = []
        for c in range(Y_train.shape[1]):
            y = Y_train[idx, c]
            if y.min() == y.max() or not Y_test[:, c].any():
                continue  # a class with no positives (or only positives) here: no AP
            svm = LinearSVC(C=cost, max_iter=10000).fit(f_train[idx], y)
            aps.append(average_precision_score(Y_test[:, c], svm.decision_function(f_test)))
        scores.append(100.0 * float(np.mean(aps)))
    return float(np.mean(scores))


def labelled_subset(data, percent: float, subset_file: str | None, seed: int) -> torch.Tensor:
    """Indices of the labelled training images: the files named in `subset_file` (SimCLR's list: one file name
    per line), else a seeded `percent` % of each class (at least one image per class)."""
    if subset_file:
        wanted = {line.strip() for line in Path(subset_file).expanduser().read_text().splitlines() if line.strip()}
        idx = [i for i, p in enumerate(data.paths) if p.name in wanted]
        missing = len(wanted) - len(idx)
        if missing:
            from ..manifest import DataError

            raise DataError(f"{subset_file}: {missing} of its {len(wanted)} images are not in {data.root}/train")
        return torch.tensor(idx)
    g = torch.Generator().manual_seed(seed)
    out = []
    for c in range(len(data.classes)):
        members = (data.labels == c).nonzero().flatten()
        k = max(1, round(len(members) * percent / 100))
        out.append(members[torch.randperm(len(members), generator=g)[:k]])
    return torch.cat(out).sort().values


def _replace_head(model: torch.nn.Module, classes: int) -> torch.nn.Linear:
    """Swap the model's last nn.Linear for a fresh one with `classes` outputs (the trunk keeps its weights)."""
    from .features import _last_linear

    old = _last_linear(model)
    name = next(n for n, m in model.named_modules() if m is old)
    parent = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
    head = torch.nn.Linear(old.in_features, classes).to(old.weight.device)
    setattr(parent, name.rsplit(".", 1)[-1], head)
    return head


def finetune(model, norm, train, val, t: dict[str, Any], seed: int, device: torch.device, bf16: bool
             ) -> tuple[float, float, list[dict[str, Any]]]:
    """(last-epoch val top-1, best epoch's val top-1, curve) of fine-tuning `model` on `train` (see the module
    docstring); the model is trained in place."""
    from .. import augment
    from ..evaluate import accuracy_metrics, predict_dataset
    from ..runtime import autocast

    torch.manual_seed(seed)
    head = _replace_head(model, len(train.classes))
    head_ids = {id(p) for p in head.parameters()}
    trunk = [p for p in model.parameters() if id(p) not in head_ids]
    opt = torch.optim.SGD([{"params": trunk, "lr": t["lr"]}, {"params": list(head.parameters()), "lr": t["head_lr"]}],
                          momentum=0.9, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, t["decay_epochs"], gamma=t["gamma"])
    g = torch.Generator().manual_seed(seed)
    curve = []
    for epoch in range(t["epochs"]):
        model.train()
        for idx in torch.randperm(len(train), generator=g).split(t["finetune_batch_size"]):
            x = augment.to_float(train.load_batch(idx), device)
            x = augment.random_hflip(augment.random_resized_crop(x, g, t["image_size"]), g)
            with autocast(device, bf16):
                loss = torch.nn.functional.cross_entropy(model(augment.normalize(x, *norm)).float(),
                                                         train.labels[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sched.step()
        top1 = accuracy_metrics(predict_dataset(model, val, *norm, device, bf16, channels_last=False), val.labels,
                                len(val.classes))["top1"]
        curve.append({"epoch": epoch + 1, "train_loss": float(loss.detach()), "val_top1": top1})
    return curve[-1]["val_top1"], max(p["val_top1"] for p in curve), curve


def evaluate(job: dict[str, Any], root: str | os.PathLike = ".") -> dict[str, Any]:
    """A transfer job (jobs.transfer_job): the score of its model's features on its task; metrics.json's dict."""
    from ..datasets import load_dataset
    from ..runtime import select_device, use_bf16

    t = job["transfer"]
    if t["task"] == "detection":  # COCO's layout and evaluation (augprior.analysis.detection)
        from .detection import evaluate as detection

        return detection(job, root)
    device = select_device(job.get("device") or "auto")
    bf16 = use_bf16(device, job.get("precision") or "auto")
    model, norm = load(Path(root) / job["model_path"], device)
    side, bs, seed = t["image_size"], t["batch_size"], job["seed"]
    extra: dict[str, Any] = {}
    train = load_dataset(job["dataset"], "train", size=side)
    val = load_dataset(job["dataset"], "test", size=side)
    if t["task"] == "linear":
        if t["train_images"]:
            train = train.subset(t["train_images"])
        f_tr, f_te = features(model, norm, train, device, bf16, bs), features(model, norm, val, device, bf16, bs)
        score = linear_probe(f_tr, train.labels.numpy(), f_te, val.labels.numpy(), epochs=t["epochs"], lr=t["lr"],
                             weight_decay=t["weight_decay"], batch_size=t["probe_batch_size"], seed=seed,
                             device=device)
        n_train, metric, n_test = len(train), "top1", len(f_te)
        extra["feature_dim"] = int(f_te.shape[1])
    elif t["task"] == "svm":
        tr_idx, Y_tr = multi_hot(train)
        te_idx, Y_te = multi_hot(val)
        multilabel = t["metric"] == "map"
        y_tr = Y_tr.argmax(1)
        trials = shot_indices(y_tr, t["shots"], t["trials"], seed, positives=Y_tr if multilabel else None)
        used = np.unique(np.concatenate(trials))  # decode only the sampled train images
        f_used = features(model, norm, train.select(torch.as_tensor([tr_idx[i] for i in used])), device, bf16, bs)
        f_tr = np.zeros((len(tr_idx), f_used.shape[1]), np.float32)
        f_tr[used] = f_used
        f_te = features(model, norm, val.select(torch.as_tensor(te_idx)), device, bf16, bs)
        if multilabel:
            score, metric = voc_svm_map(f_tr, Y_tr, f_te, Y_te, trials, t["svm_cost"]), "mAP"
        else:
            score, metric = few_shot_svm(f_tr, y_tr, f_te, Y_te.argmax(1), t["shots"], t["trials"], t["svm_cost"],
                                         seed, trials_idx=trials), "top1"
        n_train, n_test = int(len(used)), len(f_te)
        extra["feature_dim"] = int(f_te.shape[1])
    elif t["task"] == "finetune":
        train = train.select(labelled_subset(train, t["labels_percent"], t["subset_file"], seed))
        score, best, curve = finetune(model, norm, train, val, t, seed, device, bf16)
        extra.update(best_top1=round(best, 4), curve=curve,
                     subset=t["subset_file"] or f"seeded {t['labels_percent']}% of each class (not SimCLR's list)")
        n_train, metric, n_test = len(train), "top1", len(val)
    else:
        raise ValueError(f"transfer task must be one of {', '.join(TASKS)}, not {t['task']!r}")
    return {"top1": round(score, 4), "metric": metric, "task": t["task"], "dataset": job["dataset"],
            "n_train": n_train, "n": int(n_test), "image_size": side, "config": t, "model_path": job["model_path"],
            **extra}
