"""Table 15 at 224 px (augprior.analysis.transfer_224): tiny real-format ImageFolder data (64-px images in 3
classes) run the linear probe and the few-shot SVMs (VOC07's multi-label mAP, Places' accuracy) end to end on a
tiny model, and the table plans one transfer job per model and column where the folders are."""

import numpy as np
import pytest
import torch
from PIL import Image

from augprior import config, experiments
from augprior.analysis.transfer import shot_indices
from augprior.analysis.transfer_224 import evaluate, multi_hot
from augprior.checkpoint import save_model
from augprior.datasets import load_dataset
from augprior.experiments.table15 import Table15Params
from augprior.tables_224 import TASKS, transfer_config
from augprior.models import build_model

pytestmark = pytest.mark.usefixtures("one_thread")


def _folder(root, train=6, val=4, shared=()):
    """<root>/{train,val}/<class>/*.jpg: class c's images have channel c bright; `shared`: (name, classes) of
    train/val images filed under several class folders (one multi-label image, as VOC07's)."""
    rng = np.random.default_rng(0)
    for split, k in (("train", train), ("val", val)):
        for c in range(3):
            d = root / split / f"class{c}"
            d.mkdir(parents=True, exist_ok=True)
            for i in range(k):
                a = (rng.random((64, 72, 3)) * 60).astype(np.uint8)
                a[:, :, c] += 180
                Image.fromarray(a).save(d / f"{split}{c}_{i}.jpg", quality=90)
        for name, classes in shared:
            a = (rng.random((64, 64, 3)) * 60).astype(np.uint8)
            for c in classes:
                a[:, :, c] += 180 // len(classes)
            for c in classes:
                Image.fromarray(a).save(root / split / f"class{c}" / f"{split}_{name}.jpg", quality=90)
    return f"imagefolder:{root}"


def _model(path):
    torch.manual_seed(0)
    model = build_model("resnet18", 3)
    save_model(path, model, arch="resnet18", num_classes=3, in_chans=3)
    return str(path)


def _job(dataset, model_path, task, shots=None, metric="accuracy", **edits):
    t = {**Table15Params().model_dump(), "image_size": 64, "batch_size": 8, "linear_epochs": 60,
         "linear_lr": 0.01, "trials": 2, **edits}
    return {"device": "cpu", "precision": "fp32", "seed": 0, "dataset": dataset, "model_path": model_path,
            "transfer": transfer_config(t, task, shots, metric)}


def test_linear_probe_on_a_tiny_image_folder(tmp_path):
    data = _folder(tmp_path / "d")
    m = evaluate(_job(data, _model(tmp_path / "model.pt"), "linear"))
    assert m["metric"] == "top1" and m["n_train"] == 18 and m["n"] == 12 and m["feature_dim"] == 512
    assert m["top1"] >= 75  # colour-coded classes: far above the 33% of chance even for random features


def test_few_shot_svms_voc_map_and_single_label_accuracy(tmp_path):
    data = _folder(tmp_path / "voc", shared=[("both01", (0, 1))])
    folder = load_dataset(data, "train", size=64)
    idx, Y = multi_hot(folder)
    assert len(idx) == 19 and Y.shape == (19, 3) and Y.sum() == 20  # one image, two labels
    trials = shot_indices(Y.argmax(1), 2, 3, seed=0, positives=Y)
    assert all(all(Y[t, c].sum() >= 2 for c in range(3)) for t in trials)  # >= k positives of every class
    model = _model(tmp_path / "model.pt")
    voc = evaluate(_job(data, model, "svm", 2, "map"))
    assert voc["metric"] == "mAP" and 50 <= voc["top1"] <= 100 and voc["n_train"] <= 2 * 3 * 2
    places = evaluate(_job(_folder(tmp_path / "places"), model, "svm", 2))
    assert places["metric"] == "top1" and places["top1"] >= 50 and places["n"] == 12
    again = evaluate(_job(_folder(tmp_path / "places"), model, "svm", 2))
    assert again["top1"] == places["top1"]  # seeded draws


def test_one_percent_fine_tuning_trains_the_whole_network_on_the_labelled_share(tmp_path):
    from augprior.analysis.transfer_224 import labelled_subset

    data = _folder(tmp_path / "d", train=10)
    folder = load_dataset(data, "train", size=64)
    seeded = labelled_subset(folder, 20, None, seed=0)
    assert len(seeded) == 6 and sorted(folder.labels[seeded].tolist()) == [0, 0, 1, 1, 2, 2]  # 20% of each class
    assert torch.equal(seeded, labelled_subset(folder, 20, None, seed=0))
    names = [folder.paths[i].name for i in (0, 11, 25)]
    (tmp_path / "1percent.txt").write_text("\n".join(names) + "\n")
    assert [folder.paths[i].name for i in labelled_subset(folder, 1, str(tmp_path / "1percent.txt"), 0)] == names
    model_path = _model(tmp_path / "model.pt")
    m = evaluate(_job(data, model_path, "finetune", finetune_epochs=6, finetune_lr=0.001, finetune_head_lr=0.05,
                      finetune_decay_epochs=[5], finetune_batch_size=5, labels_percent=50))
    assert m["task"] == "finetune" and m["n_train"] == 15 and m["n"] == 12 and "feature_dim" not in m
    assert [p["epoch"] for p in m["curve"]] == list(range(1, 7))
    assert m["best_top1"] == pytest.approx(max(p["val_top1"] for p in m["curve"]), abs=1e-3)
    assert m["top1"] == pytest.approx(m["curve"][-1]["val_top1"], abs=1e-3)
    assert m["top1"] >= 60  # colour-coded classes (chance 33%)
    assert "not SimCLR's list" in m["subset"]
    trunk = torch.load(model_path, weights_only=False)["state_dict"]["conv1.weight"]
    assert trunk.shape[0] == 64  # the saved model file is untouched (fine-tuning works on the loaded copy)


def test_table15_plans_a_transfer_job_per_model_and_column_where_the_folders_are(repo, tmp_path):
    p = config.load(repo / "params.yaml", {"scale": "paper"})
    roots = {d: str(tmp_path / d) for d in ("imagenet1k", "places365", "voc07", "coco")}
    for d, r in roots.items():
        (tmp_path / r / ("annotations" if d == "coco" else "train")).mkdir(parents=True)
    (tmp_path / "coco" / "annotations" / "instances_train2017.json").write_text("{}")
    p["large_scale"] = {**p["large_scale"], "roots": roots, "plan_missing": False}
    cells = {(c.part, c.setting): c for c in experiments.cells("table15", p)}
    distilled = cells[("1-image distilled ResNet-50", "linear SVM, VOC07, 4 per class")].jobs[0]
    assert distilled.kind == "transfer" and distilled.spec["dataset"] == f"imagefolder:{roots['voc07']}"
    assert distilled.spec["transfer"]["shots"] == 4 and distilled.needs[0].kind == "distill"
    assert distilled.spec["model_path"].endswith("student.pt")
    r50 = cells[("ImageNet supervised ResNet-50", "linear probe, ImageNet-1k")].jobs[0].needs[0]
    assert r50.spec["teacher"]["arch"] == "resnet50" and r50.spec["teacher"]["pretrained"]
    planned = {col for (row, col), c in cells.items() if c.jobs}
    assert len(planned) == len(TASKS)
    finetune = cells[("1-image distilled ResNet-50", "fine-tuning on 1% of ImageNet-1k")].jobs[0]
    assert finetune.spec["transfer"]["task"] == "finetune" and finetune.spec["transfer"]["head_lr"] == 5.0
    coco = cells[("1-image distilled ResNet-50", "COCO detection (FPN), mAP")].jobs[0]
    assert coco.spec["transfer"]["task"] == "detection" and coco.spec["transfer"]["iterations"] == 90000
    assert all(not c.jobs for (row, col), c in cells.items() if row == "1-image MoCo-v2 ResNet-50")
    # a folder missing here (plan_missing false): that column's cells are empty with the reason
    p["large_scale"]["roots"] = {**roots, "voc07": str(tmp_path / "absent"), "coco": str(tmp_path / "voc07")}
    cells = experiments.cells("table15", p)
    voc = [c for c in cells if c.setting.startswith("linear SVM, VOC07")]
    assert voc and all(not c.jobs and "absent/train: no such folder" in c.reason for c in voc)
    coco = [c for c in cells if c.setting.startswith("COCO")]  # a folder without COCO's annotations
    assert coco and all(not c.jobs and "instances_train2017.json: no such file" in c.reason for c in coco)


def _coco(root, n_train=4, n_val=2):
    """<root>/{train2017,val2017}/*.jpg + annotations/instances_*.json: one bright box per image, category ids
    1 and 3 (COCO's ids have gaps)."""
    import json

    rng = np.random.default_rng(0)
    for split, n in (("train2017", n_train), ("val2017", n_val)):
        (root / split).mkdir(parents=True)
        images, anns = [], []
        for i in range(n):
            a = (rng.random((80, 96, 3)) * 40).astype(np.uint8)
            x, y, w, h = 10 + 5 * i, 12, 40, 30
            a[y:y + h, x:x + w, i % 2] = 230
            Image.fromarray(a).save(root / split / f"{i:012d}.jpg", quality=95)
            images.append({"id": i + 1, "file_name": f"{i:012d}.jpg", "width": 96, "height": 80})
            anns.append({"id": i + 1, "image_id": i + 1, "category_id": 1 if i % 2 == 0 else 3,
                         "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0})
        (root / "annotations").mkdir(exist_ok=True)
        (root / "annotations" / f"instances_{split}.json").write_text(json.dumps(
            {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "a"}, {"id": 3, "name": "b"}]}))
    return f"imagefolder:{root}"


def test_coco_detection_fine_tunes_a_faster_rcnn_on_the_trunk_and_scores_box_map(tmp_path):
    from augprior.analysis.detection import lr_factor

    data = _coco(tmp_path / "coco")
    job = _job(data, _model(tmp_path / "model.pt"), "detection", det_iterations=2, det_batch_size=2,
               det_warmup_iters=1, det_decay_iters=[1], det_min_size=[64], det_workers=0)
    job["transfer"]["test_min_size"] = 64
    m = evaluate(job)
    assert m["metric"] == "mAP" and m["task"] == "detection" and m["iterations"] == 2
    assert m["n_train"] == 4 and m["n"] == 2 and 0 <= m["top1"] <= 100 and 0 <= m["ap50"] <= 100
    cfg = {"warmup_iters": 1000, "decay_iters": [60000, 80000]}
    assert lr_factor(0, cfg) == pytest.approx(0.001) and lr_factor(1000, cfg) == 1.0
    assert lr_factor(60000, cfg) == pytest.approx(0.1) and lr_factor(85000, cfg) == pytest.approx(0.01)
