"""Table 16's CIFAR-scale analogue: the corruptions (augprior.corruptions) follow their definitions and grow with
severity, reproducibly; the analysis reads Table 1's runs and writes errors, CE and mCE relative to the teacher."""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from augprior import config, corruptions, experiments, jobs
from augprior.analysis import inputs, robustness
from augprior.checkpoint import save_model
from augprior.datasets import ImageDataset
from augprior.experiments import EXPERIMENTS
from augprior.models import build_model

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    base = rng.integers(40, 200, size=(12, 1, 1, 3))
    return np.clip(base + rng.integers(-40, 40, size=(12, 32, 32, 3)), 0, 255).astype(np.uint8)


# elastic's affine part shrinks as its elastic part grows and frost's blend depends on its random crop, so their
# pixel distance is not monotone in severity (tests/test_corruptions.py checks them by their definitions)
@pytest.mark.parametrize("name", [c for c in corruptions.CORRUPTIONS if c not in ("elastic", "frost")])
def test_each_corruption_grows_with_severity_and_is_reproducible(images, name):
    dist = []
    for s in range(1, 6):
        out = corruptions.corrupt(name, images, s, seed=3)
        assert out.shape == images.shape and out.dtype == np.uint8
        np.testing.assert_array_equal(out, corruptions.corrupt(name, images, s, seed=3))
        dist.append(np.abs(out.astype(float) - images).mean())
    assert dist[-1] > dist[0] > 0, dist
    assert dist[-1] >= 0.9 * max(dist)  # severity 5 is (about) the strongest


def test_corruptions_match_their_definitions(images):
    f = images / 255.0
    c = corruptions.corrupt("contrast", images, 5) / 255.0  # (x - mean) * 0.15 + mean
    mean = f.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(c, np.clip((f - mean) * 0.15 + mean, 0, 1), atol=0.5 / 255 + 1e-9)
    imp = corruptions.corrupt("impulse", images, 5)  # 7% of the values set to 0 or 255
    changed = imp != images
    assert 0.05 < changed.mean() < 0.08 and set(np.unique(imp[changed])) <= {0, 255}
    g = corruptions.corrupt("gaussian", np.full((50, 32, 32, 3), 128, np.uint8), 5).astype(float)
    assert abs(g.std() / 255 - 0.10) < 0.005  # sigma 0.10 at severity 5
    with pytest.raises(ValueError, match="not available"):
        corruptions.corrupt("speckle", images, 1)
    with pytest.raises(ValueError, match="severity must be 1..5"):
        corruptions.corrupt("jpeg", images, 6)


def test_the_analogue_reads_table1s_runs_and_writes_ce_and_mce(repo, tmp_path, monkeypatch):
    params = config.load(repo / "params.yaml", {"scale": "ci", "data.download": True, "device": "cpu",
                                                 "table16_cifar.corruptions": ["contrast", "jpeg"]})
    ctx = experiments.context(params, "table16_cifar")
    cells = EXPERIMENTS.get("table16_cifar").cells(ctx)
    roles = inputs.by_role(cells)
    table1 = {c.setting: c.jobs[0] for c in experiments.cells("table1", params) if c.dataset == "cifar10_jpeg"}
    assert roles[inputs.FULL_DATA].jobs[0].id == table1["CIFAR-10 train"].id
    assert roles[inputs.ONE_IMAGE].jobs[0].id == table1["1 image (Animals) + augmentations"].id
    torch.manual_seed(0)
    for cell in cells:
        for job in cell.jobs:
            path = tmp_path / (jobs.job_path(job) if job.kind == "patches" else
                               jobs.job_path(job, "model.pt" if job.kind == "teacher" else "student.pt"))
            path.parent.mkdir(parents=True, exist_ok=True)
            if job.kind == "patches":
                path.write_bytes(b"")
            else:
                save_model(path, build_model("resnet8", 10, 3), arch="resnet8", num_classes=10, in_chans=3)
    g = torch.Generator().manual_seed(1)
    test = ImageDataset("cifar10_jpeg", "test", torch.randint(0, 256, (60, 3, 32, 32), dtype=torch.uint8, generator=g),
                        torch.arange(60) % 10, [f"c{i}" for i in range(10)])
    monkeypatch.setattr(inputs, "test_set", lambda dataset, rt, n: test)
    out = SimpleNamespace(**{k: str(tmp_path / f"out/t16.{k}") for k in ("png", "csv", "md")},
                          metrics=str(tmp_path / "out/metrics/t16.json"))
    EXPERIMENTS.get("table16_cifar").analysis(cells, ctx, out, root=tmp_path)
    df = pd.read_csv(out.csv)
    assert list(df.columns) == robustness.COLUMNS and len(df) == 3 * (1 + 2 * 5)
    ce = robustness.corruption_errors(df)
    assert ce.loc[robustness.BASELINE].round(9).tolist() == [100.0, 100.0, 100.0]  # contrast, jpeg, mce
    assert ce.loc["one-image student", "mce"] == pytest.approx(ce.loc["one-image student", ["contrast", "jpeg"]].mean())
    md = Path(out.md).read_text()
    assert "mCE" in md and "## Does the paper's claim hold here?" in md
    summary = json.loads(Path(out.metrics).read_text())["summary"]
    assert summary["mce_supervised"] == pytest.approx(100.0)
