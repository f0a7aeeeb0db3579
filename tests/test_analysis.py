import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from augprior import config, experiments, jobs
from augprior.analysis import features, inputs, patch_predictions
from augprior.checkpoint import save_model
from augprior.datasets import ImageDataset
from augprior.experiments import ANALYSES, EXPERIMENTS
from augprior.models import build_model


def _params(repo):
    return config.load(repo / "params.yaml", {"scale": "ci", "data.download": True})


def test_analyses_read_the_tables_jobs_and_add_no_training(repo):
    params = _params(repo)
    plan = experiments.plan(params)
    tables = experiments.collect({n: c for n, c in plan.items() if n not in ANALYSES})
    reading_tables = {"fig3", "fig5", "fig9", "fig15", "fig16", "fig18"}  # (fig8 labels its own small patch set)
    assert reading_tables <= set(ANALYSES)
    for name in sorted(reading_tables):
        roles = inputs.by_role(plan[name])
        assert {inputs.TEACHER, inputs.ONE_IMAGE, inputs.PATCHES} <= set(roles) or name == "fig16"
        for cell in plan[name]:
            assert cell.jobs and all(j.id in tables[j.kind] for j in cell.jobs), (name, cell.part)
    table1 = {c.setting: c.jobs[0] for c in experiments.cells("table1", params) if c.dataset == "cifar10_jpeg"}
    fig15 = inputs.by_role(plan["fig15"])
    assert fig15[inputs.ONE_IMAGE].jobs[0].id == table1["1 image (Animals) + augmentations"].id
    assert fig15[inputs.FULL_DATA].jobs[0].id == table1["CIFAR-10 train"].id
    assert fig15[inputs.TEACHER].jobs[0].id == jobs.teacher_job(params, "cifar10_jpeg", "wrn16_1").id


@pytest.mark.parametrize("arch,expected", [("wrn16_1", ["conv"] + [f"blocks.{i}" for i in range(6)]),
                                           ("resnet8", ["conv"] + [f"blocks.{i}" for i in range(3)])])
def test_default_layers_are_the_blocks(arch, expected):
    assert features.default_layers(build_model(arch, 10, 3)) == expected


def test_extract_matches_the_forward_pass(one_thread):
    torch.manual_seed(0)
    model = build_model("resnet8", 10, 3).eval()
    images = torch.randint(0, 256, (37, 3, 32, 32), dtype=torch.uint8)
    mean, std = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
    out = features.extract(model, images, mean, std, device=torch.device("cpu"), layers=["blocks.1"], batch_size=16)
    x = features.prepare(images, mean, std, torch.device("cpu"))
    with torch.no_grad():
        assert torch.allclose(out.logits, model(x), atol=1e-5)
        assert torch.allclose(out.penultimate, model.forward_features(x), atol=1e-5)
    assert out.layers["blocks.1"].shape == (37, 32 * 16 * 16) and out.labels is None
    big = features.extract(model, torch.randint(0, 256, (5, 3, 48, 48), dtype=torch.uint8), mean, std,
                           device=torch.device("cpu"), side=32, layers=["conv"], reduce="mean")
    assert big.logits.shape == (5, 10) and big.layers["conv"].shape == (5, 16)
    assert not model.conv._forward_hooks  # hooks are removed afterwards


def _fake_runs(params, root, cells):
    """Tiny models and patches at the job paths the analysis reads; a small synthetic test set."""
    torch.manual_seed(0)
    for cell in cells:
        for job in cell.jobs:
            if job.kind == "patches":
                path = root / jobs.job_path(job)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b"")
            else:
                name = "model.pt" if job.kind == "teacher" else "student.pt"
                path = root / jobs.job_path(job, name)
                path.parent.mkdir(parents=True, exist_ok=True)
                save_model(path, build_model("resnet8", 10, 3), arch="resnet8", num_classes=10, in_chans=3)


@pytest.fixture
def fake_data(monkeypatch):
    g = torch.Generator().manual_seed(1)
    test = ImageDataset("cifar10_jpeg", "test", torch.randint(0, 256, (120, 3, 32, 32), dtype=torch.uint8, generator=g),
                        torch.arange(120) % 10, [f"c{i}" for i in range(10)])
    monkeypatch.setattr(inputs, "test_set", lambda dataset, rt, n: test.subset(n) if n else test)
    monkeypatch.setattr(inputs, "patch_sample", lambda job, n, root=".", seed=0: torch.randint(
        0, 256, (n or 90, 3, 40, 40), dtype=torch.uint8, generator=torch.Generator().manual_seed(2)))


@pytest.mark.parametrize("name,columns", [("fig16", ["set", "bin_lo", "bin_hi", "count", "stat", "value"]),
                                          ("fig9", ["patch", "rank", "class", "prob"]),
                                          ("fig8", ["patch", "rank", "class", "prob"]),
                                          ("fig5", ["embedding", "set", "index", "label", "x", "y"]),
                                          ("fig3", ["set", "model", "bin_lo", "bin_hi", "count", "stat", "value"]),
                                          ("fig15", ["pair", "kernel", "teacher_layer", "student_layer", "cka"]),
                                          ("fig18", ["class", "teacher_top1_share_pct", "student_acc", "teacher_acc",
                                                     "relative_acc", "n_test"])])
def test_analysis_writes_figure_numbers_and_a_verdict(repo, tmp_path, fake_data, one_thread, name, columns):
    small = {f"{name}.test_images": 100} if "test_images" in EXPERIMENTS.get(name).params.model_fields else {}
    params = config.load(repo / "params.yaml", {"scale": "ci", "data.download": True, "device": "cpu", **small,
                                                 "fig15.batch_size": 50, "fig5.patches": 60, "fig5.iterations": 50,
                                                 "fig16.patches": 50, "fig16.pairs": 500, "fig8.patches": 12})
    ctx = experiments.context(params, name)
    cells = EXPERIMENTS.get(name).cells(ctx)
    out = SimpleNamespace(**{k: str(tmp_path / f"out/{name}.{k}") for k in ("png", "csv", "md")},
                          metrics=str(tmp_path / f"out/metrics/{name}.json"))
    EXPERIMENTS.get(name).analysis(cells, ctx, out, root=tmp_path)  # nothing trained yet
    note = Path(out.md).read_text()
    assert "Not computed here" in note and "missing" in note
    assert json.loads(Path(out.metrics).read_text())["summary"] == {}
    _fake_runs(params, tmp_path, cells)
    EXPERIMENTS.get(name).analysis(cells, ctx, out, root=tmp_path)
    df = pd.read_csv(out.csv)
    assert list(df.columns) == columns and len(df) > 0
    metrics = json.loads(Path(out.metrics).read_text())  # DVC metrics: the figure's headline numbers
    assert metrics["scale"] == "ci" and metrics["summary"] and metrics["seconds"] >= 0
    assert all(v is None or isinstance(v, (int, float)) for v in metrics["summary"].values())
    md = Path(out.md).read_text()
    assert "## What the paper shows" in md and "## Does the paper's claim hold here?" in md
    assert "results/ci/" in md and (tmp_path / f"out/{name}.png").stat().st_size > 1000
    if name == "fig15":
        same = df[(df.teacher_layer == df.student_layer) & (df.kernel == "linear")]
        assert same.cka.between(-1e-9, 1 + 1e-9).all() and len(same) == 2 * 6  # 2 pairs x (conv, 3 blocks, penultimate, logits)
    if name == "fig8":  # the real ImageNet teacher (EfficientNet-Lite0 weights): ImageNet class names, 12 patches
        assert df.patch.nunique() == 12 and "tiger" in patch_predictions.imagenet_classes()
        assert set(df["class"]) <= set(patch_predictions.imagenet_classes())
    if name == "fig18":
        assert df["class"].str.startswith("pearson_r").sum() == 2
        assert df.teacher_top1_share_pct.dropna().sum() == pytest.approx(100, abs=0.01)
    if name == "fig5":
        summary = dict(zip(df[df.embedding == "summary"].set, df[df.embedding == "summary"].x))
        assert {"joint_median_radius_patches", "knn10_acc_2d", "chance"} <= set(summary)
        assert (df.embedding == "joint").sum() == 60 + 100 and (df.embedding == "test").sum() == 100


def test_knn_accuracy_of_separated_clusters():
    import numpy as np

    from augprior.analysis.embedding import knn_accuracy

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    x = rng.normal(size=(60, 2)) * 0.1 + 10 * y[:, None]
    assert knn_accuracy(x, y, 5) == 100.0
    assert 10 < knn_accuracy(rng.normal(size=(60, 2)), y, 5) < 60  # no structure: about chance


def test_top5_probabilities_are_the_largest_tempered_softmax_entries():
    from augprior.analysis.patch_predictions import top5

    logits = torch.tensor([[0.0, 8.0, 16.0, 0.0, 0.0, 0.0, 0.0]])
    p, idx = top5(logits, 8.0)
    assert idx[0, :2].tolist() == [2, 1] and p.shape == (1, 5)
    full = (logits.double() / 8).softmax(1)[0]
    assert p[0, 0] == pytest.approx(float(full[2])) and float(p.sum()) < 1


def test_a_table_block_without_the_figures_cell_leaves_the_plan_standing(repo):
    """`dvc exp run -S table3.images=[noise, animals]` must not break planning of every target."""
    from augprior import config, experiments

    params = config.load(repo / "params.yaml", {"scale": "ci", "data.download": True,
                                                "table3.images": ["noise", "animals"],
                                                "table1.sources": {"CIFAR-10 train": "dataset:cifar10_jpeg"}})
    plan = experiments.plan(params)
    city = next(c for c in plan["fig16"] if c.extra.get("image") == "city")
    assert not city.jobs and "city" in city.reason
    assert all(not c.jobs and "table1" in c.reason for c in plan["fig15"])
    assert any(c.jobs for c in plan["fig16"])


def test_patch_predictions_of_any_image_through_the_cli(tmp_path, one_thread):
    """Figs 8/9 for a user's image: patches of an image file the project never saw, a teacher checkpoint, the
    grid and its numbers (each patch's top-5, descending, from a proper distribution)."""
    from PIL import Image

    from augprior import cli

    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)).save(tmp_path / "mine.png")
    assert cli.main(["patches", "--image", str(tmp_path / "mine.png"), "--num", "30", "--size", "32",
                     "--out", str(tmp_path / "p.npy")]) == 0
    classes = [f"k{i}" for i in range(10)]
    save_model(tmp_path / "t.pt", build_model("resnet8", 10, 3), arch="resnet8", num_classes=10, in_chans=3,
               mean=[0.5] * 3, std=[0.25] * 3, classes=classes)
    out = tmp_path / "grid.png"
    assert cli.main(["patch-predictions", "--teacher", str(tmp_path / "t.pt"), "--patches", str(tmp_path / "p.npy"),
                     "--num", "8", "--temperature", "4", "--out", str(out), "--device", "cpu"]) == 0
    df = pd.read_csv(out.with_suffix(".csv"))
    assert out.stat().st_size > 1000 and df.patch.nunique() == 8 and set(df["class"]) <= set(classes)
    for _, g in df.groupby("patch"):
        assert list(g["rank"]) == [1, 2, 3, 4, 5] and g.prob.is_monotonic_decreasing and g.prob.sum() <= 1 + 1e-4
    again = patch_predictions.from_files(str(tmp_path / "t.pt"), str(tmp_path / "p.npy"), str(tmp_path / "g2.png"),
                                         n=8, temperature=4, device="cpu")
    pd.testing.assert_frame_equal(again, df)  # same seed, same patches, same numbers


def test_figure_titles_carry_dataset_and_scale(repo):
    from augprior.analysis import report

    params = config.load(repo / "params.yaml", {"scale": "ci"})
    title = report.titled("Figure 3: x", experiments.context(params, "fig3"), "T = 8")
    assert title == "Figure 3: x (CIFAR-10 (JPEG), T = 8, scale ci)"
