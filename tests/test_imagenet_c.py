"""Table 16's engine (augprior.imagenet_c): CE / mCE normalised by AlexNet's errors, the reader of the released
ImageNet-C folders and the generation of absent ones, end to end on tiny real-format folders and a tiny model;
the table's plan (jobs at paper scale, empty cells with the reason at ci)."""

import numpy as np
import pytest
import torch
from PIL import Image

from augprior import config, corruptions, experiments, imagenet_c, jobs, tables
from augprior.checkpoint import save_model
from augprior.datasets import IMAGENET_NORMALIZATION, ImageFolderDataset
from augprior.evaluate import predict_logits
from augprior.models import build_model

pytestmark = pytest.mark.usefixtures("one_thread")
WNIDS = ["n01440764", "n01443537"]


def test_ce_and_mce_follow_hendrycks_and_dietterich():
    ce, mce = imagenet_c.corruption_errors({"gaussian": {1: 50.0, 2: 70.0}, "jpeg": {1: 20.0, 2: 40.0}})
    assert ce["gaussian"] == pytest.approx(60.0 / 0.886428) and ce["jpeg"] == pytest.approx(30.0 / 0.606500)
    assert mce == pytest.approx((60.0 / 0.886428 + 30.0 / 0.606500) / 2)
    ref = imagenet_c.reference()
    assert set(ref["errors"]) == set(corruptions.CORRUPTIONS) and "augmix" in ref["source"]


def _tiny_imagenet(tmp_path):
    """<in>/train and <in>/val (3 images per class, not 224 px), and ImageNet-C <c>/gaussian_noise/{1,2}/<wnid>."""
    rng = np.random.default_rng(0)
    root, croot = tmp_path / "in", tmp_path / "in-c"
    for split, n in (("train", 1), ("val", 3)):
        for k, wnid in enumerate(WNIDS):
            (root / split / wnid).mkdir(parents=True)
            for i in range(n):
                base = np.full((260, 300, 3), 60 + 120 * k, np.uint8)
                img = np.clip(base + rng.integers(-50, 50, base.shape), 0, 255).astype(np.uint8)
                Image.fromarray(img).save(root / split / wnid / f"{wnid}_{i}.JPEG", quality=90)
    val = ImageFolderDataset(root, "val", 224, resize=256)
    x = val.load_batch(range(len(val))).permute(0, 2, 3, 1).numpy()
    for s in (1, 2):
        xc = corruptions.corrupt("gaussian", x, s, seed=5, preset="imagenet")
        for img, path, y in zip(xc, val.paths, val.labels.tolist()):
            d = croot / "gaussian_noise" / str(s) / WNIDS[y]
            d.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(d / path.name, quality=85)
    return root, croot, val


def test_engine_reads_released_folders_makes_absent_ones_and_computes_mce(repo, tmp_path, monkeypatch):
    root, croot, val = _tiny_imagenet(tmp_path)
    monkeypatch.chdir(tmp_path)
    params = config.load(repo / "params.yaml", {"scale": "ci", "device": "cpu"})
    model_job = jobs.Job("teacher", "tiny/resnet8", {"seed": 0, "scale": "ci"})
    torch.manual_seed(0)
    net = build_model("resnet8", 2, 3).eval()
    mean, std = IMAGENET_NORMALIZATION
    (tmp_path / jobs.job_dir(model_job)).mkdir(parents=True)
    save_model(jobs.job_path(model_job, "model.pt"), net, arch="resnet8", num_classes=2, in_chans=3, mean=mean, std=std)
    absent = imagenet_c.missing(croot, ["gaussian", "jpeg"], [1, 2])
    assert absent == ["jpeg/1", "jpeg/2"]  # gaussian is released, jpeg is made here
    job = imagenet_c.job(params, model_job, f"imagefolder:{root}",
                         root=croot, names=["gaussian", "jpeg"], severities=[1, 2], generate=absent, batch_size=4,
                         workers=1, max_images=None)
    assert jobs.inputs(job) == {"model": jobs.job_path(model_job, "model.pt")}
    m = imagenet_c.evaluate(job.spec, tmp_path / jobs.job_dir(job))
    assert (tmp_path / jobs.job_path(job)).exists() and m["n"] == 6 and m["counts"]["gaussian/1"] == 6
    assert m["sources"] == {"gaussian/1": "released", "gaussian/2": "released", "jpeg/1": "generated",
                            "jpeg/2": "generated"}

    def error(x, y):  # by hand: the model's top-1 error on uint8 (N, 3, 224, 224) images
        return 100.0 * float((predict_logits(net, x, mean, std, torch.device("cpu"), False).argmax(1) != y)
                             .float().mean())

    clean = val.load_batch(range(len(val)))
    want = {"clean": error(clean, val.labels)}
    for s in (1, 2):
        files = sorted((croot / "gaussian_noise" / str(s)).rglob("*.JPEG"))
        x = torch.from_numpy(np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files])).permute(0, 3, 1, 2)
        y = torch.tensor([WNIDS.index(f.parent.name) for f in files])
        want[f"gaussian/{s}"] = error(x, y)
        xc = corruptions.corrupt("jpeg", clean.permute(0, 2, 3, 1).numpy(), s, seed=(0, 0), preset="imagenet")
        want[f"jpeg/{s}"] = error(torch.from_numpy(imagenet_c._jpeg(xc, 85)).permute(0, 3, 1, 2), val.labels)
    assert m["clean_error"] == pytest.approx(want["clean"]) and m["top1"] == pytest.approx(100 - want["clean"])
    for k in ("gaussian/1", "gaussian/2", "jpeg/1", "jpeg/2"):
        assert m["errors"][k] == pytest.approx(want[k]), k
    ce_g = (want["gaussian/1"] + want["gaussian/2"]) / 2 / 0.886428
    ce_j = (want["jpeg/1"] + want["jpeg/2"]) / 2 / 0.606500
    assert m["ce_gaussian"] == pytest.approx(ce_g) and m["ce_jpeg"] == pytest.approx(ce_j)
    assert m["mce"] == pytest.approx((ce_g + ce_j) / 2)
    cell = experiments.cells("table16", params)[0]  # a table row reads its column's key of metrics.json
    cell.jobs, cell.reason, cell.extra = [job], "", {"metric": "mce"}
    assert tables.build_rows([cell], tmp_path).reproduced.iloc[0] == pytest.approx(round(m["mce"], 2))
    with pytest.raises(Exception, match="jpeg_compression/1 is missing"):  # planned as released, but absent
        spec = {**job.spec, "imagenet_c": {**job.spec["imagenet_c"], "generate": []}}
        imagenet_c.evaluate(spec, tmp_path / "other")


def test_table16_plans_one_job_per_model_at_paper_scale_and_says_why_not_below(repo, tmp_path):
    ci = experiments.cells("table16", config.load(repo / "params.yaml", {"scale": "ci"}))
    assert len(ci) == 3 * 17 and all(not c.jobs and c.reason for c in ci)
    paper = config.load(repo / "params.yaml", {"scale": "paper", "table16.root": str(tmp_path / "none")})
    cells = experiments.cells("table16", paper)
    assert all(c.jobs and not c.reason for c in cells)
    by_row = {}
    for c in cells:
        by_row.setdefault(c.part, set()).add(c.jobs[0].id)
        assert c.extra["metric"] == imagenet_c.metric_key(c.setting) and c.paper is not None
    assert len(by_row) == 3 and all(len(ids) == 1 for ids in by_row.values())
    job = cells[0].jobs[0]
    assert job.kind == "imagenet_c" and len(job.spec["imagenet_c"]["generate"]) == 75  # nothing released there
    assert {n.kind for c in cells for n in c.jobs[0].needs} == {"teacher", "distill"}
    off = config.load(repo / "params.yaml", {"scale": "paper", "table16.root": str(tmp_path / "none"),
                                             "table16.generate_missing": False})
    assert all(not c.jobs and "generate_missing is false" in c.reason for c in experiments.cells("table16", off))
