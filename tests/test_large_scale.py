"""The 224-px tables (7, 8, 10, 15, 16; augprior.large_scale): paper-scale cells plan the real jobs with the
official ImageNet recipe, cells here are empty with the reason, the CIFAR analogues reuse the CIFAR tables' runs,
and a tiny ImageFolder in the ImageNet layout runs Table 8's real-image path (teacher, then distillation from
N of its training images) end to end."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from augprior import config, experiments, jobs, large_scale
from augprior.distill import distill
from augprior.models import build_model
from augprior.teacher import train_teacher

pytestmark = pytest.mark.usefixtures("one_thread")


def _params(repo, scale, **edits):
    p = config.load(repo / "params.yaml", {"scale": scale})
    p["large_scale"] = {**p["large_scale"], **edits}
    return p


def _by_setting(cells):
    return {c.setting: c for c in cells}


def test_paper_scale_plans_the_224px_jobs_with_the_official_recipe(repo, tmp_path):
    p = _params(repo, "paper", roots={"imagenet1k": str(tmp_path / "in1k")})
    t7 = experiments.cells("table7", p)
    assert len(t7) == 15 and all(len(c.jobs) == 1 for c in t7)
    in1k = [c for c in t7 if c.part == "ImageNet-1k"]
    teacher = in1k[0].jobs[0]
    assert teacher.spec["dataset"] == f"imagefolder:{tmp_path / 'in1k'}"
    assert teacher.spec["teacher"].items() >= {"arch": "resnet18", "pretrained": True, "epochs": 0,
                                               "image_size": 224}.items()
    r50, r50x2 = (c.jobs[0].spec["distill"] for c in in1k[1:])
    assert (r50["optimizer"], r50["lr"], r50["weight_decay"], r50["epochs"], r50["temperature"]) == \
        ("adamw", 0.01, 0.0005, 200, 8.0)
    assert r50["augment"]["cutmix_beta"] == 1.0 and r50["augment"]["random_resized_crop"]
    assert (r50["batch_size"], r50x2["batch_size"], r50x2["student"]) == (1024, 512, "wide_resnet50_2")
    patches = in1k[1].jobs[0].needs[1]
    assert (patches.spec["image"], patches.spec["patches"]["size"], patches.spec["patches"]["num"]) == \
        ("city", 256, 1281167)
    # other datasets' teachers are trained (not the ImageNet weights)
    assert t7[0].jobs[0].spec["teacher"].get("pretrained") is not True and t7[0].jobs[0].spec["teacher"]["epochs"] == 90
    assert [c.paper for c in in1k] == [69.5, 66.2, 69.0]


def test_table8_rows_follow_the_paper_settings(repo):
    p = _params(repo, "paper")
    cells = [c for c in experiments.cells("table8", p) if c.part == "ImageNet-1k"]
    rows = {c.setting[1]: c for c in cells}  # a row's last epoch cell
    assert set(rows) == set("abcdefghijklmn")
    # one cell per epoch the paper reports, all from one run, each read from the curve at its epoch
    i = [c for c in cells if c.setting[1] == "i"]
    assert [c.extra["curve_epoch"] for c in i] == [10, 20, 30, 50, 200] and len({c.jobs[0].id for c in i}) == 1
    assert [c.paper for c in i] == [34.5, 47.0, 52.2, 56.8, 66.2]
    assert not rows["k"].jobs and "R50*" in rows["k"].reason
    spec = lambda r: rows[r].jobs[0].spec  # noqa: E731
    assert spec("j")["distill"]["batch_size"] == 512 and spec("m")["distill"]["signal"] == "argmax"
    assert spec("g")["distill"]["epochs"] == 30 and spec("i")["distill"]["epochs"] == 200
    assert spec("i")["distill"]["eval_every"] == 10 and spec("a")["distill"]["eval_every"] == 10
    # (a): 10 real training images, each epoch as many samples as an epoch over the 1,281,167 patches
    a = spec("a")
    assert a["input"].items() >= {"kind": "dataset", "subset": 10}.items()
    assert a["input"]["name"].startswith("imagefolder:")
    assert a["distill"]["batch_size"] == 10 and a["distill"]["epochs"] == 20
    assert a["distill"]["steps_per_epoch"] * 10 >= (1281167 // 1024) * 1024 > (a["distill"]["steps_per_epoch"] - 1) * 10
    # (b): the patch generator's 1,281,167 256-px patches cut from the same 10 training images
    b = rows["b"].jobs[0]
    patches = b.needs[1]
    assert patches.spec["patchify"] == {"dataset": a["input"]["name"], "n": 10}
    assert (patches.spec["patches"]["size"], patches.spec["patches"]["num"]) == (256, 1281167)
    assert b.spec["patches_path"].endswith("patches.npy") and b.spec["distill"]["batch_size"] == 1024
    # Table 10's ResNet-50x2 row is Table 8's row (n): one job
    t10 = experiments.cells("table10", p)
    assert t10[0].jobs[0].id == rows["n"].jobs[0].id


@pytest.mark.parametrize("scale", ["ci", "laptop"])
def test_here_224px_cells_are_empty_with_the_reason_and_the_analogues_reuse_cifar_runs(repo, scale):
    p = config.load(repo / "params.yaml", {"scale": scale})
    for name in ("table7", "table8", "table10", "table15", "table16"):
        for c in experiments.cells(name, p):
            if c.part.startswith("CIFAR-scale analogue"):
                continue
            assert not c.jobs and c.reason, (name, c.setting)
            assert "not implemented" in c.reason or "large_scale.plan_missing is false" in c.reason or \
                "no 224-px labelled data offline" in c.reason or "R50*" in c.reason
    if experiments.context(p, "table8").missing_data("cifar10_jpeg"):
        pytest.skip("CIFAR-10 (JPEG) is not in the cache or mirror here")
    t8 = [c for c in experiments.cells("table8", p) if c.part.startswith("CIFAR-scale analogue")]
    d = p["distill"]
    last = {c.setting.rsplit(", epoch", 1)[0]: c for c in t8}  # each row's last-epoch cell
    shown = sorted({c.extra["curve_epoch"] for c in t8})
    assert len(shown) == 3 and shown[-1] == d["epochs"]  # a few points per run, the last one its end
    raw10 = last["(a, analogue) 10 real training images (raw), as many samples per epoch as the patch run"]
    p10 = next(c for k, c in last.items() if k.startswith("(b, analogue) 10 real training images patchified"))
    assert raw10.jobs[0].spec["distill"]["batch_size"] == 10 and raw10.jobs[0].spec["distill"]["epochs"] == d["epochs"]
    samples = (d.get("steps_per_epoch") or p["patches"]["num"] // d["batch_size"]) * d["batch_size"]
    assert raw10.jobs[0].spec["distill"]["steps_per_epoch"] * 10 >= samples
    patches = p10.jobs[0].needs[1]
    assert patches.spec["patchify"] == {"dataset": "cifar10_jpeg", "n": 10}
    assert patches.spec["patches"] == p["patches"]  # the one-image set's settings and count
    one = last["1 image (animals) patches"].jobs[0]
    assert one.spec["distill"]["epochs"] == p10.jobs[0].spec["distill"]["epochs"] == d["epochs"]
    assert {c.jobs[0].spec["distill"]["eval_every"] for c in t8} == {shown[0]}
    t10 = [c for c in experiments.cells("table10", p) if c.part.startswith("CIFAR")]
    assert [c.student.split("_d")[0] for c in t10[:2]] == ["vit_cifar", "cait_cifar"]
    t11 = {c.part: c for c in experiments.cells("table11", p)}
    assert t10[2].jobs[0].id == t11["row i"].jobs[0].id  # Table 11 row (i): City patches


def test_transformer_students_at_32px():
    torch.manual_seed(0)
    for name in ("vit_cifar_d2_w64", "cait_cifar_d2_w64", "vit_cifar_d2_w64_p8"):
        m = build_model(name, 10, in_chans=1)
        assert m(torch.randn(2, 1, 32, 32)).shape == (2, 10)
    assert build_model("vit_cifar_d2_w64_p8", 10).patch_embed.num_patches == 16
    assert build_model("cait_cifar_d2_w128", 10).patch_embed.num_patches == 64
    with pytest.raises(ValueError, match="must divide"):
        build_model("vit_cifar_d2_w64_p5", 10)
    with pytest.raises(ValueError, match="multiple of its"):
        build_model("vit_cifar_d2_w129", 10)


def _imagenet_layout(root, classes=3, n=12, side=48):
    """A tiny ImageFolder in the layout torchvision's ImageNet extracts (train/<wnid>/*.JPEG, val/<wnid>/*)."""
    rng = np.random.default_rng(0)
    for split, k in (("train", n), ("val", 4)):
        for c in range(classes):
            d = root / split / f"n0000000{c}"
            d.mkdir(parents=True)
            for i in range(k):
                a = (rng.random((side, side + 8, 3)) * 80).astype(np.uint8)
                a[:, :, c] += 150
                Image.fromarray(a).save(d / f"{split}_{i}.JPEG", quality=90)
    return root


def test_table8_real_image_path_runs_end_to_end_on_an_imagenet_layout(repo, tmp_path):
    root = _imagenet_layout(tmp_path / "imagenet1k")
    p = _params(repo, "ci", roots={"imagenet1k": str(root)}, pretrained_teachers={},
                teacher={"arch": "resnet18", "epochs": 1, "steps_per_epoch": 2, "batch_size": 6, "image_size": 32, "lr": 0.01,
                         "cutout": 0},
                distill={**p_distill(repo), "batch_size": 4, "image_size": 32})  # row (a): R50 -> R50
    p["large_scale"]["distill"]["augment"] = {**p["large_scale"]["distill"]["augment"], "rrc_size": 32}
    p["device"], p["precision"] = "cpu", "fp32"
    rows = {c.setting[1]: c for c in experiments.cells("table8", p) if c.part == "ImageNet-1k"}
    job = rows["a"].jobs[0]
    assert job.spec["input"]["name"] == f"imagefolder:{root}"
    teacher = job.needs[0]
    train_teacher(teacher.spec, tmp_path / "t")
    job.spec["teacher_path"] = str(tmp_path / "t" / "model.pt")
    job.spec["distill"].update(epochs=2, steps_per_epoch=2)  # a few steps of the planned run (planned: 1.28M images' worth)
    distill(job.spec, tmp_path / "s")
    saved = json.loads((tmp_path / "s" / "metrics.json").read_text())
    assert saved["input"]["num"] == 10 and saved["test_side"] == 32 and saved["n"] == 12
    assert 0 <= saved["top1"] <= 100 and saved["dataset"] == f"imagefolder:{root}"
    assert jobs.job_dir(job).startswith("results/ci/distill/imagefolder-imagenet1k/resnet50-resnet50/")


def p_distill(repo):
    return dict(config.load(repo / "params.yaml", {"scale": "paper"})["large_scale"]["distill"])


def test_missing_roots_say_where(repo, tmp_path):
    p = _params(repo, "ci", roots={"stl10": str(tmp_path / "nothere")})
    cell = experiments.cells("table7", p)[0]
    assert not cell.jobs and f"{tmp_path / 'nothere'}/train: no such folder" in cell.reason
    with pytest.raises(ValueError, match="unknown 224-px dataset 'mnist'"):
        large_scale.root(p, "mnist")
