"""Teacher training: schedules, a real run on a tiny image folder, exact resume after SIGKILL and
after a SIGTERM / SIGINT checkpoint (mid-epoch), evaluation-only export of an external checkpoint."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from augprior import teacher as T
from augprior.checkpoint import load_model, save_state

COLOURS = {"blue": (30, 60, 200), "green": (40, 180, 60), "red": (200, 40, 40)}


def make_folder(root: Path, n_train: int = 12, n_test: int = 4, side: int = 16) -> None:
    """Three classes told apart by colour, with noise, random brightness and a random bright square."""
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("test", n_test)):
        for cls, rgb in COLOURS.items():
            (root / split / cls).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                img = np.clip(np.array(rgb) * rng.uniform(0.6, 1.2) + rng.normal(0, 25, (side, side, 3)), 0, 255)
                y, x = rng.integers(0, side - 4, 2)
                img[y:y + 4, x:x + 4] = 255
                Image.fromarray(img.astype(np.uint8)).save(root / split / cls / f"{i:03d}.png")


def make_job(root: Path, **teacher) -> dict:
    cfg = {"arch": "wrn10_1", "schedule": "onecycle", "epochs": 12, "steps_per_epoch": None, "batch_size": 9,
           "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4, "label_smoothing": 0.1,
           "cutout": 4, "train_subset": None, "image_size": 16, "eval_every": 4}
    cfg.update(teacher)
    return {"dataset": f"imagefolder:{root}", "seed": 3, "scale": "ci", "device": "cpu", "precision": "fp32",
            "mirror": None, "num_threads": 1, "teacher": cfg}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A tiny dataset, a private cache, one thread, and one uninterrupted reference run."""
    tmp = tmp_path_factory.mktemp("teacher")
    old_env, old_threads = os.environ.get("AUGPRIOR_CACHE"), torch.get_num_threads()
    os.environ["AUGPRIOR_CACHE"] = str(tmp / "cache")
    torch.set_num_threads(1)
    make_folder(tmp / "data")
    job = make_job(tmp / "data")
    metrics = T.train_teacher(copy.deepcopy(job), tmp / "ref")
    yield {"tmp": tmp, "job": job, "ref": tmp / "ref", "metrics": metrics}
    torch.set_num_threads(old_threads)
    if old_env is None:
        os.environ.pop("AUGPRIOR_CACHE", None)
    else:
        os.environ["AUGPRIOR_CACHE"] = old_env


def test_reference_run_learns_and_writes_outputs(env):
    m = env["metrics"]
    assert m["top1"] >= 90.0, m["top1"]  # 3 colour classes: chance is 33%
    assert m["n"] == 12 and len(m["per_class_top1"]) == 3
    assert set(m["per_class_top1_by_name"]) == set(COLOURS) and m["classes"] == sorted(COLOURS)
    curve = m["curve"]
    assert [p["epoch"] for p in curve] == list(range(1, 13)) and curve[-1]["step"] == 12 * 4
    assert curve[-1]["train_loss"] < curve[0]["train_loss"]
    assert "test_top1" in curve[3] and "test_top1" in curve[7] and "test_top1" not in curve[4]
    assert curve[-1]["test_top1"] == m["top1"] and curve[-1]["lr"] < 1e-3
    prov = m["provenance"]
    assert prov["seed"] == 3 and prov["scale"] == "ci" and prov["params"]["teacher"]["arch"] == "wrn10_1"
    assert len(prov["params_hash"]) == 12 and "torch" in prov["versions"] and prov["wall_time_s"] > 0
    on_disk = json.loads((env["ref"] / "metrics.json").read_text())
    assert on_disk["top1"] == m["top1"] and on_disk["curve"] == curve
    assert not (env["ref"] / "state.pt").exists()
    model, meta = load_model(env["ref"] / "model.pt")
    assert meta["arch"] == "wrn10_1" and meta["num_classes"] == 3 and meta["classes"] == sorted(COLOURS)
    assert meta["image_size"] == 16 and m["image_size"] == 16 and m["train_images"] == 36


def assert_matches_reference(env, out: Path, metrics: dict) -> None:
    """The model and metrics of a resumed run in `out` equal the uninterrupted reference run's, bit for bit."""
    ref_model, _ = load_model(env["ref"] / "model.pt")
    got_model, _ = load_model(out / "model.pt")
    for (k, a), (_, b) in zip(ref_model.state_dict().items(), got_model.state_dict().items()):
        assert torch.equal(a, b), k
    ref = env["metrics"]
    assert metrics["top1"] == ref["top1"] and metrics["per_class_top1"] == ref["per_class_top1"]
    strip = ("epoch_time_s", "images_per_s")
    assert [{k: v for k, v in p.items() if k not in strip} for p in metrics["curve"]] == \
           [{k: v for k, v in p.items() if k not in strip} for p in ref["curve"]]


def test_sigkill_then_resume_is_bit_identical(env):
    out = env["tmp"] / "killed"
    job = env["job"]
    code = ("import json, sys, torch; torch.set_num_threads(1); from augprior.teacher import train_teacher; "
            "train_teacher(json.loads(sys.argv[1]), sys.argv[2])")
    proc = subprocess.Popen([sys.executable, "-c", code, json.dumps(job), str(out)],
                            env={**os.environ, "TQDM_DISABLE": "1"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while not (out / "state.pt").exists():
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.time() < deadline, "no checkpoint within 60 s"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "metrics.json").exists(), "the run finished before it could be killed"
    saved = torch.load(out / "state.pt", weights_only=False)
    assert 1 <= saved["epoch"] < 12 and set(saved["rng"]) >= {"python", "numpy", "torch"}

    metrics = T.train_teacher(copy.deepcopy(job), out)
    assert_matches_reference(env, out, metrics)


# the child signals itself in the augmentation of its N-th step (1-based): a fixed position to stop at
SIGNAL_AT = """
import json, os, signal, sys, torch
signal.signal(signal.SIGINT, signal.default_int_handler)  # a shell may start background jobs with SIGINT ignored
torch.set_num_threads(1)
import augprior.teacher as T
calls, real = [0], T.augment_batch

def augment_batch(*args, **kwargs):
    calls[0] += 1
    if calls[0] == int(sys.argv[3]):
        os.kill(os.getpid(), getattr(signal, sys.argv[4]))
    return real(*args, **kwargs)

T.augment_batch = augment_batch
T.train_teacher(json.loads(sys.argv[1]), sys.argv[2])
"""


@pytest.mark.slow
@pytest.mark.parametrize("name, call, position", [("SIGTERM", 23, (5, 3)), ("SIGINT", 24, (6, 0))])
def test_signal_checkpoints_mid_epoch_then_resume_is_bit_identical(env, tmp_path, name, call, position):
    """SIGTERM in step 3 of 4 of epoch 6 checkpoints mid-epoch (the epoch generator's state included);
    SIGINT in the last step of an epoch stops at the epoch boundary. Exit status 128 + signal."""
    out = tmp_path / "stopped"
    job = env["job"]
    proc = subprocess.run([sys.executable, "-c", SIGNAL_AT, json.dumps(job), str(out), str(call), name],
                          env={**os.environ, "TQDM_DISABLE": "1"}, capture_output=True, text=True, timeout=300)
    status = 128 + getattr(signal, name)
    assert proc.returncode == status, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f"teacher: stopped by {name} at epoch {position[0]}, step {position[1]}; state saved to {out / 'state.pt'}; "
        f"rerun the same job to resume (exit status {status})")
    assert "Traceback" not in proc.stderr and not (out / "metrics.json").exists() and not (out / "model.pt").exists()
    saved = torch.load(out / "state.pt", weights_only=False)
    assert (saved["epoch"], saved["step"]) == position and len(saved["curve"]) == position[0]
    assert (saved["extras"]["gen_state"] is None) == (position[1] == 0)

    metrics = T.train_teacher(copy.deepcopy(job), out)  # the requeued job
    assert metrics["resumes"] == [{"epoch": position[0], "step": position[1]}]
    assert_matches_reference(env, out, metrics)
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "model.pt"]


def test_state_of_another_job_is_refused(env, tmp_path):
    job = env["job"]
    out = tmp_path / "stale"
    short = make_job(Path(job["dataset"].split(":", 1)[1]), epochs=2, eval_every=0)
    T.train_teacher(copy.deepcopy(short), out)  # finishes: state.pt removed
    save_state(out / "state.pt", {"version": T.STATE_VERSION, "fingerprint": "0" * 12, "epoch": 1})
    with pytest.raises(RuntimeError, match="different teacher job"):
        T.train_teacher(copy.deepcopy(short), out)
    other = copy.deepcopy(short)
    other["teacher"]["lr"] = 0.05
    save_state(out / "state.pt", {"version": T.STATE_VERSION, "fingerprint": T._job_fingerprint(other),
                                  "resume_key": T._resume_key(other), "epoch": 1})
    with pytest.raises(RuntimeError, match="differing keys: teacher.lr"):
        T.train_teacher(copy.deepcopy(short), out)


def test_resume_fingerprint_ignores_evaluation_and_runtime_keys(env):
    job = env["job"]
    fp = T._job_fingerprint(job)
    changed = copy.deepcopy(job)
    changed.update(device="cuda", num_threads=8, mirror="/elsewhere", precision="fp32")
    changed["teacher"]["eval_every"] = 1
    assert T._job_fingerprint(changed) == fp
    no_optional = copy.deepcopy(job)
    no_optional["teacher"].update(pretrained=False, checkpoint=None)
    assert T._job_fingerprint(no_optional) == fp
    for key, value in (("cutout", 0), ("label_smoothing", 0.0), ("epochs", 13)):
        other = copy.deepcopy(job)
        other["teacher"][key] = value
        assert T._job_fingerprint(other) != fp, key
    assert T._job_fingerprint({**job, "seed": 4}) != fp


def test_external_checkpoint_evaluate_only(env, tmp_path):
    job = make_job(Path(env["job"]["dataset"].split(":", 1)[1]), epochs=0, checkpoint=str(env["ref"] / "model.pt"))
    metrics = T.train_teacher(job, tmp_path / "ext")
    assert metrics["top1"] == env["metrics"]["top1"] and metrics["curve"] == []
    assert (tmp_path / "ext" / "model.pt").exists()


def test_batch_larger_than_data_is_an_error(env, tmp_path):
    job = make_job(Path(env["job"]["dataset"].split(":", 1)[1]), batch_size=64)
    with pytest.raises(ValueError, match="batch_size 64 exceeds the 36 training images"):
        T.train_teacher(job, tmp_path / "x")


@pytest.mark.parametrize("arch,points", [
    ("resnet56", {0: 0.01, 399: 0.01, 400: 0.1, 31999: 0.1, 32000: 0.01, 47999: 0.01, 48000: 0.001,
                  64000: 0.001, 199999: 0.001}),
    ("vgg16_bn", {0: 0.01, 400: 0.1, 48000: 0.001}),
    ("wrn40_4", {0: 0.1, 23999: 0.1, 24000: 0.02, 48000: 0.004, 64000: 0.0008, 80000: 0.0008, 199999: 0.0008}),
])
def test_paper_schedules(arch, points):
    base = 0.1
    f = T.lr_factor("paper", arch, base, 200_000)
    for step, lr in points.items():
        assert base * f(step) == pytest.approx(lr), step
    cfg = {"arch": arch, "schedule": "paper", "lr": base, "momentum": 0.9, "weight_decay": 5e-4, "nesterov": False}
    opt = T.make_optimizer(torch.nn.Linear(2, 2), cfg)
    assert opt.param_groups[0]["nesterov"] is arch.startswith("wrn")
    assert opt.param_groups[0]["weight_decay"] == 5e-4 and opt.param_groups[1]["weight_decay"] == 0.0


def test_onecycle_schedule():
    total = 1000
    f = T.lr_factor("onecycle", "wrn16_2", 0.2, total)
    values = [f(s) for s in range(total)]
    peak = int(np.argmax(values))
    assert values[0] < 0.01 and values[peak] == pytest.approx(1.0) and peak == 149
    assert all(a >= b for a, b in zip(values[peak:], values[peak + 1:]))
    assert values[-1] < 1e-4 and f(total) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="unknown teacher schedule"):
        T.lr_factor("linear", "wrn16_2", 0.1, 10)


def test_augment_batch_is_seeded_and_keeps_shape():
    x = torch.rand(6, 3, 32, 32)
    a = T.augment_batch(x, torch.Generator().manual_seed(0), (0.5,) * 3, (0.25,) * 3, cutout=16)
    b = T.augment_batch(x, torch.Generator().manual_seed(0), (0.5,) * 3, (0.25,) * 3, cutout=16)
    c = T.augment_batch(x, torch.Generator().manual_seed(1), (0.5,) * 3, (0.25,) * 3, cutout=16)
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    # cutout sets pixels to 0 before normalisation: (0 - 0.5) / 0.25 = -2
    assert ((a == -2.0).all(dim=1).flatten(1).sum(1) >= 8 * 8).all()
