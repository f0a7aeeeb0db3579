"""A researcher's own image folder and image, end to end on tiny self-made data (issue 16): real-data
distillation takes the teacher's input size, a slow run warns at its start, a collapsed run says so,
and metrics.json records the mirror and the checksums of the data it read."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from augprior import cli, distill, jobs, manifest, runtime
from augprior.checkpoint import save_model
from augprior.models import build_model

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = Path(__file__).resolve().parents[1]
RUN = ["--device", "cpu", "--precision", "fp32", "--threads", "1"]


def make_digits(root: Path, classes: int = 3, n_train: int = 8, n_test: int = 4, side: int = 28) -> Path:
    """Grayscale 28-px 'digits': noise with a bright bar at a row that depends on the class."""
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("test", n_test)):
        for c in range(classes):
            d = root / split / f"d{c}"
            d.mkdir(parents=True)
            for i in range(n):
                a = (rng.random((side, side)) * 60).astype(np.uint8)
                a[3 + 8 * c: 7 + 8 * c] = 250
                Image.fromarray(a, mode="L").save(d / f"{i}.png")
    return root


def run_cli(argv: list[str], capsys) -> dict:
    assert cli.main(argv) == 0, capsys.readouterr().err
    return json.loads((Path(argv[argv.index("--out") + 1]) / "metrics.json").read_text())


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    """A teacher trained by `augprior train-teacher` on the digits folder (ci recipe, one tiny epoch)."""
    root = tmp_path_factory.mktemp("user")
    folder = make_digits(root / "digits")
    out = root / "teacher"
    assert cli.main(["train-teacher", "--dataset", f"imagefolder:{folder}", "--params", str(REPO / "params.yaml"),
                     "--scale", "ci", "--out", str(out), "--arch", "wrn10_1", "--epochs", "1", "--batch-size", "8",
                     *RUN]) == 0
    return {"root": root, "folder": folder, "model": out / "model.pt",
            "metrics": json.loads((out / "metrics.json").read_text())}


def distill_argv(teacher, out: Path, repo, *extra: str) -> list[str]:
    return ["distill", "--teacher", str(teacher["model"]), "--params", str(repo / "params.yaml"), "--scale", "ci",
            "--out", str(out), "--student", "wrn10_1", "--epochs", "1", "--batch-size", "8", *RUN, *extra]


def test_real_data_distillation_takes_the_teachers_input_size_or_the_flag(teacher, repo, tmp_path, capsys):
    assert teacher["metrics"]["image_size"] == 32  # 28-px grayscale images: 32-px RGB for a CIFAR-style net
    m = run_cli(distill_argv(teacher, tmp_path / "s", repo, "--input", "dataset"), capsys)
    assert (m["train_side"], m["test_side"]) == (32, 32) and m["input"]["shape"] == [3, 32, 32]
    assert m["input"]["num"] == 24 and m["n"] == 12
    m16 = run_cli(distill_argv(teacher, tmp_path / "s16", repo, "--input", "dataset", "--image-size", "16"), capsys)
    assert (m16["train_side"], m16["test_side"]) == (16, 16) and m16["config"]["image_size"] == 16
    out = capsys.readouterr().out
    assert "distillation finished: student top-1" in out and "on 12 test images" in out
    with pytest.raises(SystemExit) as bad:  # the declared bound, checked as the flag is parsed
        cli.main(distill_argv(teacher, tmp_path / "bad", repo, "--image-size", "4"))
    assert bad.value.code == 2 and "--image-size: 4: expected null or an integer >= 8" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["distill", "--help"])
    assert "--image-size IMAGE_SIZE side in pixels of imagefolder" in " ".join(capsys.readouterr().out.split())


def test_a_run_far_slower_than_its_scale_allows_warns_at_the_start(teacher, repo, tmp_path, capsys, monkeypatch):
    assert runtime.epoch_time_warning("x", "ci", 0.01, 100, 5) is None  # 1 s per epoch: fine at ci
    assert "about 13 min and 6 epochs about 80 min" in runtime.epoch_time_warning("x", "ci", 4.0, 200, 6)
    monkeypatch.setitem(runtime.EPOCH_TIME_BUDGET_S, "ci", 1e-6)
    m = run_cli(distill_argv(teacher, tmp_path / "slow", repo, "--input", "dataset"), capsys)
    err = capsys.readouterr().err
    assert m["warnings"][0].startswith("slow run: the first steps of this distillation took")
    assert "expected at scale ci" in m["warnings"][0] and "inputs are 32 px" in m["warnings"][0]
    assert "warning: slow run" in err


def test_metrics_record_the_mirror_from_the_environment_and_the_data_read(teacher, repo, tmp_path, capsys,
                                                                         monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    monkeypatch.setenv("AUGPRIOR_MIRROR", str(mirror))
    image = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(3).integers(0, 256, (90, 120, 3), dtype=np.uint8)).save(image)
    assert cli.main(["patches", "--image", str(image), "--num", "16", "--out", str(tmp_path / "p.npy")]) == 0
    m = run_cli(distill_argv(teacher, tmp_path / "s", repo, "--patches", str(tmp_path / "p.npy")), capsys)
    data = m["provenance"]["data"]
    assert data["mirror"] == str(mirror.resolve()) and data["mirror_from"] == "AUGPRIOR_MIRROR"
    assert data["dataset"]["fingerprint"] == jobs.folder_fingerprint(teacher["folder"]) is not None
    assert data["inputs"]["source_image"]["md5"] == manifest.md5sum(image)
    assert data["inputs"]["npy_md5"] == manifest.md5sum(tmp_path / "p.npy")
    t = teacher["metrics"]["provenance"]["data"]
    assert t["dataset"]["fingerprint"] == data["dataset"]["fingerprint"]
    monkeypatch.delenv("AUGPRIOR_MIRROR")
    from augprior.provenance import dataset_record, mirror_record

    assert mirror_record(None) == {"mirror": None, "mirror_from": None}
    assert mirror_record(str(mirror)) == {"mirror": str(mirror.resolve()), "mirror_from": "params"}
    rec = dataset_record("cifar10_jpeg")
    assert rec["md5"] == {e.name: e.md5 for e in manifest.dataset_files("cifar10_jpeg")}


def test_a_collapsed_teacher_and_student_are_warnings_in_log_and_metrics(teacher, tmp_path, capsys):
    """A teacher whose head always says class 1: its top-1 on the patches and the student that copies it
    put all their mass on one class."""
    torch.manual_seed(0)
    collapsed = build_model("resnet8", 3)
    with torch.no_grad():
        head = [m for m in collapsed.modules() if isinstance(m, torch.nn.Linear)][-1]
        head.weight.zero_()
        head.bias.copy_(torch.tensor([0.0, 50.0, 0.0]))
    save_model(tmp_path / "collapsed.pt", collapsed, arch="resnet8", num_classes=3, in_chans=3,
               dataset=f"imagefolder:{teacher['folder']}", image_size=32)
    from augprior.patches import PatchSpec, make_patch_set

    image = np.random.default_rng(1).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    make_patch_set(image, tmp_path / "p.npy", PatchSpec(size=32), num=64, seed=0, engine="reference", progress=False)
    job = {"teacher_path": str(tmp_path / "collapsed.pt"), "patches_path": str(tmp_path / "p.npy"), "seed": 0,
           "device": "cpu", "precision": "fp32", "scale": "test", "num_threads": 1,
           "distill": {"student": "resnet8", "epochs": 3, "batch_size": 16, "lr": 0.05}}
    m = distill.distill(job, tmp_path / "out")
    assert m["teacher_top1_histogram"] == [0, 3 * 64, 0]  # every augmented patch of every step
    hist = m["student_prediction_histogram"]
    assert sum(hist) == m["n"] == 12 and hist[1] == 12
    assert [w.split(" put")[0] for w in m["warnings"]] == [
        "collapse: the teacher's top-1 on the distillation inputs", "collapse: the student's predictions on the test set"]
    assert "100% on class 1 (d1)" in m["warnings"][1]
    assert capsys.readouterr().err.count("warning: collapse:") == 2
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["warnings"] == m["warnings"]
