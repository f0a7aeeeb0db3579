"""Distillation on real data from the offline mirror (skipped without $AUGPRIOR_MIRROR):
a quickly trained 1-channel Fashion-MNIST teacher is distilled into a fresh student that never
sees a label, once on real training images (a "full data" row, a seeded class-spread sample of N images) and once on
single-image patches (RGB patches become luma for the 1-channel teacher)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from augprior import distill as D
from augprior.augment import normalize
from augprior.checkpoint import save_model
from augprior.datasets import load_dataset
from augprior.models import build_model

MEAN, STD = (0.2860,), (0.3530,)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def teacher_file(tmp_path_factory):
    import os

    mirror = os.environ.get("AUGPRIOR_MIRROR")
    if not mirror or not os.path.isdir(os.path.join(mirror, "data")):
        pytest.skip("AUGPRIOR_MIRROR is not set to a data mirror")
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    train = load_dataset("fashion_mnist", "train", mirror)
    torch.manual_seed(0)
    model = build_model("resnet8", 10, in_chans=1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    order = torch.randperm(len(train), generator=g)[:4096]
    for i in range(0, len(order), 128):
        idx = order[i:i + 128]
        x = normalize(train.images[idx].float() / 255, MEAN, STD)
        loss = F.cross_entropy(model(x), train.labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.set_num_threads(prev)
    path = tmp_path_factory.mktemp("fmnist") / "teacher.pt"
    save_model(path, model, arch="resnet8", num_classes=10, in_chans=1, dataset="fashion_mnist",
               mean=list(MEAN), std=list(STD), classes=train.classes)
    return path, mirror


def test_student_learns_from_real_images_without_labels(teacher_file, tmp_path):
    path, mirror = teacher_file
    job = {"teacher_path": str(path), "seed": 0, "device": "cpu", "precision": "fp32", "mirror": mirror,
           "num_threads": 1, "input": {"kind": "dataset", "subset": 2048},
           "distill": {"student": "resnet8", "epochs": 2, "batch_size": 64, "lr": 3e-3, "temperature": 4.0,
                       "eval_subset": 1000, "augment": {"random_crop": False, "cutmix": False}}}
    m = D.distill(job, tmp_path / "full")
    assert m["dataset"] == "fashion_mnist" and m["n"] == 1000 and m["input"]["num"] == 2048
    assert m["teacher_top1"] > 50, m["teacher_top1"]
    # chance is 10%: the student has learnt the teacher's function from its outputs alone
    assert m["top1"] > 35 and m["agreement"] > 45, (m["teacher_top1"], m["top1"], m["agreement"])


def test_patch_inputs_reach_a_grayscale_teacher(teacher_file, tmp_path):
    from augprior.patches import PatchSpec, make_patch_set

    path, mirror = teacher_file
    image = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(f"{mirror}/images/animals.png").convert("RGB"))
    make_patch_set(image, tmp_path / "patches.npy", PatchSpec(size=28), num=256, seed=0, engine="fast",
                   progress=False)
    job = {"teacher_path": str(path), "patches_path": str(tmp_path / "patches.npy"), "seed": 0, "device": "cpu",
           "precision": "fp32", "mirror": mirror, "num_threads": 1,
           "distill": {"student": "resnet8", "epochs": 1, "batch_size": 64, "eval_subset": 500}}
    m = D.distill(job, tmp_path / "patches")
    assert m["train_side"] == 28 and m["test_side"] == 28 and m["n"] == 500
    assert np.isfinite(m["curve"][0]["train_loss"]) and m["curve"][0]["train_loss"] > 0
