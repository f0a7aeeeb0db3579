"""Table 15's CIFAR-scale analogue (augprior.analysis.transfer): the probes separate what is separable and not
what is not, and the analysis reads Table 1's runs and writes one accuracy per model, dataset and probe."""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from augprior import config, experiments, jobs
from augprior.analysis import inputs, transfer
from augprior.checkpoint import save_model
from augprior.experiments import EXPERIMENTS
from augprior.models import build_model

pytestmark = pytest.mark.usefixtures("one_thread")


def _blobs(n, classes=10, dim=16, spread=0.3, seed=0):
    centres = np.random.default_rng(0).normal(size=(classes, dim)) * 3  # the same classes for every split
    rng = np.random.default_rng(seed + 1)
    y = np.arange(n) % classes
    return centres[y] + rng.normal(size=(n, dim)) * spread, y


def test_probes_separate_separable_features_and_not_noise():
    f_tr, y_tr = _blobs(400)
    f_te, y_te = _blobs(200, seed=1)
    assert transfer.linear_probe(f_tr, y_tr, f_te, y_te) > 95
    assert transfer.few_shot_svm(f_tr, y_tr, f_te, y_te, shots=4, trials=3, cost=0.5) > 90
    rng = np.random.default_rng(2)
    noise_tr, noise_te = rng.normal(size=(400, 16)), rng.normal(size=(200, 16))
    assert transfer.linear_probe(noise_tr, y_tr, noise_te, y_te) < 25  # chance: 10%
    assert transfer.few_shot_svm(noise_tr, y_tr, noise_te, y_te, shots=16, trials=3, cost=0.5) < 25
    with pytest.raises(ValueError):  # more shots than a class has
        transfer.few_shot_svm(f_tr, y_tr, f_te, y_te, shots=41, trials=1, cost=0.5)


def test_the_analogue_reads_table1s_runs_and_writes_every_probe(repo, tmp_path, monkeypatch):
    params = config.load(repo / "params.yaml", {"scale": "ci", "data.download": True, "device": "cpu"})
    ctx = experiments.context(params, "table15_cifar")
    cells = EXPERIMENTS.get("table15_cifar").cells(ctx)
    table1 = {c.setting: c.jobs[0] for c in experiments.cells("table1", params) if c.dataset == "cifar10_jpeg"}
    assert inputs.by_role(cells)[inputs.ONE_IMAGE].jobs[0].id == table1["1 image (Animals) + augmentations"].id
    out = SimpleNamespace(**{k: str(tmp_path / f"out/t15.{k}") for k in ("png", "csv", "md")},
                          metrics=str(tmp_path / "out/metrics/t15.json"))
    EXPERIMENTS.get("table15_cifar").analysis(cells, ctx, out, root=tmp_path)  # nothing trained yet
    assert "Not computed here" in Path(out.md).read_text()

    torch.manual_seed(0)
    for cell in cells:
        for job in cell.jobs:
            if job.kind == "patches":  # read by no probe; its file marks Table 1's run as finished
                (tmp_path / jobs.job_path(job)).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / jobs.job_path(job)).write_bytes(b"")
            else:
                path = tmp_path / jobs.job_path(job, "model.pt" if job.kind == "teacher" else "student.pt")
                path.parent.mkdir(parents=True, exist_ok=True)
                save_model(path, build_model("resnet8", 10, 3), arch="resnet8", num_classes=10, in_chans=3)
    seen = []

    def images(dataset, split, n, mirror):  # class-coloured images: separable even for random features
        seen.append((dataset, split, n))
        g = torch.Generator().manual_seed(len(seen))
        side, chans = (28, 1) if dataset == "fashion_mnist" else (32, 3)
        y = torch.arange(200) % 10
        x = torch.randint(0, 60, (200, chans, side, side), dtype=torch.uint8, generator=g) + (y * 19).to(
            torch.uint8)[:, None, None, None]
        return (x.repeat(1, 3 // chans, 1, 1), y)

    monkeypatch.setattr(transfer, "_images", images)
    EXPERIMENTS.get("table15_cifar").analysis(cells, ctx, out, root=tmp_path)
    df = pd.read_csv(out.csv)
    assert list(df.columns) == transfer.COLUMNS and len(df) == 2 * 3 * 3  # datasets x models x probes
    assert set(df.dataset) == {"cifar10_jpeg", "fashion_mnist"} and df.accuracy.between(0, 100).all()
    assert sorted(df.shots.dropna().unique()) == [4, 16]
    assert {(d, s, n) for d, s, n in seen} == {("cifar10_jpeg", "train", 1000), ("cifar10_jpeg", "test", 1000),
                                               ("fashion_mnist", "train", 1000), ("fashion_mnist", "test", 1000)}
    md = Path(out.md).read_text()
    assert "## Does the paper's claim hold here?" in md and "random" in md
    assert json.loads(Path(out.metrics).read_text())["summary"]
