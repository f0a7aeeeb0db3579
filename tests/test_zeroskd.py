"""Zero-shot KD with an adversarial generator (Table 2 "ZeroSKD"): pieces, a tiny run, resume, failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from augprior.checkpoint import load_model, save_model
from augprior.datasets import ImageDataset
from augprior.evaluate import predict_logits
from augprior.models import build_model
import augprior.synthetic.zeroskd as zs_pkg
from augprior.synthetic.zeroskd import (
    ZEROSKD_DEFAULTS, Generator, ZeroShotStep, attention_groups, attention_loss, attention_map, kl_divergence,
    noise_batch, resolve_config, zeroskd,
)

MEAN, STD = [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]
CPU = torch.device("cpu")


pytestmark = pytest.mark.usefixtures("one_thread")


def _toy(tmp_path, arch: str = "wrn10_1", classes: int = 5, n: int = 128, side: int = 16):
    """A random teacher whose head is calibrated so that its classes are balanced on a small set
    of smooth random images, and that set labelled by the teacher (student top-1 = agreement)."""
    torch.manual_seed(123)
    teacher = build_model(arch, classes, 3).eval()
    g = torch.Generator().manual_seed(1)
    imgs = F.interpolate(torch.rand(n, 3, 4, 4, generator=g) * 255, size=side, mode="bilinear")
    imgs = imgs.clamp(0, 255).to(torch.uint8)
    with torch.no_grad():
        logits = predict_logits(teacher, imgs, MEAN, STD, CPU, False)
        sd = logits.std(0)
        teacher.fc.weight /= sd[:, None]
        teacher.fc.bias.sub_(logits.mean(0)).div_(sd)
        labels = predict_logits(teacher, imgs, MEAN, STD, CPU, False).argmax(1)
    path = tmp_path / "teacher.pt"
    save_model(path, teacher, arch=arch, num_classes=classes, in_chans=3, dataset="toy", mean=MEAN, std=STD,
               classes=[str(i) for i in range(classes)])
    return path, ImageDataset("toy", "test", imgs, labels, [str(i) for i in range(classes)])


def _job(teacher_path, **zs):
    cfg = {"student": "wrn10_1", "iterations": 6, "batch_size": 16, "n_s": 2, "log_every": 2, "checkpoint_every": 0}
    return {"teacher_path": str(teacher_path), "dataset": "toy", "seed": 7, "scale": "test", "device": "cpu",
            "precision": "fp32", "num_threads": 1, "mirror": None, "zeroskd": {**cfg, **zs}}


# ----------------------------------------------------------------------------- pieces

def test_defaults_are_the_papers():
    d = ZEROSKD_DEFAULTS
    assert (d["iterations"], d["batch_size"], d["n_g"], d["n_s"]) == (80_000, 128, 1, 10)
    assert (d["lr_g"], d["lr_s"], d["beta"], d["z_dim"], d["temperature"]) == (1e-3, 2e-3, 250.0, 100, 1.0)
    assert d["student"] == "wrn40_1" and d["lr_schedule"] == "cosine" and d["grad_clip"] == 5.0
    with pytest.raises(ValueError, match="unknown key"):
        resolve_config({"lr": 1})
    with pytest.raises(ValueError, match="zeroskd.n_s"):
        resolve_config({"n_s": 0})
    with pytest.raises(ValueError, match="kl_reduction"):
        resolve_config({"kl_reduction": "sum"})


def test_generator_architecture():
    gen = Generator(100, 32, 3)
    x = gen(torch.randn(8, 100))
    assert x.shape == (8, 3, 32, 32)
    assert x.mean().abs() < 0.2 and (x.std((0, 2, 3)) - 1).abs().max() < 0.1  # output batch norm
    assert gen.fc.out_features == 128 * 8 * 8
    assert isinstance(gen.body[-1], torch.nn.BatchNorm2d) and gen.body[-1].affine
    with pytest.raises(ValueError):
        Generator(10, 30)


def test_attention_groups_are_the_three_wrn_groups():
    wrn = build_model("wrn40_1", 10)
    groups = attention_groups(wrn)
    assert [list(wrn.blocks).index(m) for m in groups] == [5, 11, 17]
    feats = []
    hooks = [m.register_forward_hook(lambda _m, _i, o: feats.append(o)) for m in groups]
    wrn(torch.randn(2, 3, 32, 32))
    for h in hooks:
        h.remove()
    assert [tuple(f.shape[1:]) for f in feats] == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]
    wide = build_model("wrn40_2", 10)
    assert [list(wide.blocks).index(m) for m in attention_groups(wide)] == [5, 11, 17]
    assert len(attention_groups(build_model("resnet20", 10))) == 3
    with pytest.raises(ValueError, match="beta"):
        attention_groups(build_model("vgg11_bn", 10))


def test_attention_and_kl():
    a = torch.randn(4, 8, 5, 5)
    m = attention_map(a)
    assert m.shape == (4, 25) and torch.allclose(m.norm(dim=1), torch.ones(4))
    assert torch.allclose(m, attention_map(3 * a))  # scale-free
    assert attention_loss([a], [a]) == 0 and attention_loss([a], [torch.randn(4, 8, 5, 5)]) > 0
    with pytest.raises(ValueError, match="differ in size"):
        attention_loss([a], [torch.randn(4, 8, 4, 4)])
    s, t = torch.randn(6, 10), torch.randn(6, 10)
    ref = F.kl_div(F.log_softmax(s, 1), F.softmax(t, 1), reduction="batchmean")
    assert torch.allclose(kl_divergence(s, t, 1.0, "batchmean"), ref)
    assert torch.allclose(kl_divergence(s, t, 1.0, "elementwise"), ref / 10)  # the official code's 'mean'
    assert kl_divergence(t, t, 4.0) < 1e-6


def test_noise_is_a_function_of_seed_and_iteration():
    assert torch.equal(noise_batch(3, 10, 4, 100), noise_batch(3, 10, 4, 100))
    assert not torch.equal(noise_batch(3, 10, 4, 100), noise_batch(3, 11, 4, 100))
    assert not torch.equal(noise_batch(3, 10, 4, 100), noise_batch(4, 10, 4, 100))


def test_one_iteration_is_adversarial(tmp_path):
    """The generator step raises the teacher-student KL on the same z; the student steps lower it."""
    teacher_path, _ = _toy(tmp_path)
    teacher, _ = load_model(teacher_path)
    torch.manual_seed(0)
    student = build_model("wrn10_1", 5).train()
    gen = Generator(100, 16).train()
    cfg = resolve_config({"student": "wrn10_1", "n_s": 3})
    # a small first Adam step (lr_g 1e-4) follows the gradient's sign closely enough that the
    # direction is measurable: ascent raises the KL (0.06 -> 0.15), descent would lower it (-> 0.04)
    step = ZeroShotStep(teacher, student, gen, torch.optim.Adam(gen.parameters(), 1e-4),
                        torch.optim.Adam(student.parameters(), 2e-3), cfg, device=CPU, bf16=False)
    z = torch.randn(16, 100)

    def kl_now() -> float:
        s_state = {k: v.clone() for k, v in student.state_dict().items()}
        with torch.no_grad():
            value = float(kl_divergence(student(gen(z)), teacher(gen(z)), 1.0))
        student.load_state_dict(s_state)  # undo the batch-norm statistics update of this probe
        return value

    before = kl_now()
    student_before = [p.detach().clone() for p in student.parameters()]
    kl0, _ = step.generator_step(z)
    assert kl0 == pytest.approx(before, rel=1e-4)
    after_g = kl_now()
    assert after_g > before  # gradient ascent on the disagreement
    assert all(torch.equal(a, b) for a, b in zip(student_before, student.parameters()))  # G step leaves S alone
    stats = step.student_steps(z)
    assert stats["student_kl_first"] == pytest.approx(after_g, rel=1e-4)
    assert stats["student_kl_last"] < stats["student_kl_first"]
    assert stats["at_loss"] > 0
    step.close()


# ----------------------------------------------------------------------------- runs

def test_tiny_run_writes_outputs_and_the_student_catches_up(tmp_path):
    teacher_path, test = _toy(tmp_path)
    out = tmp_path / "run"
    job = _job(teacher_path, iterations=20, batch_size=32, n_s=5, log_every=4)
    m = zeroskd(job, out, test_set=test)
    assert sorted(p.name for p in out.iterdir()) == ["generator.pt", "metrics.json", "student.pt"]
    on_disk = json.loads((out / "metrics.json").read_text())
    for key in ("top1", "top5", "per_class_top1", "agreement", "teacher_top1", "curve", "provenance", "config",
                "iterations", "train_time_s", "iterations_per_s", "method"):
        assert key in on_disk, key
    assert on_disk["method"] == "zeroskd" and on_disk["iterations"] == 20
    assert on_disk["teacher_top1"] == 100.0  # the toy test set is labelled by the teacher
    assert len(on_disk["per_class_top1"]) == 5 and on_disk["provenance"]["seed"] == 7
    curve = m["curve"]
    assert [p["iteration"] for p in curve] == [4, 8, 12, 16, 20] and "test_top1" in curve[-1]
    # the adversarial loop: every generator step raised the disagreement it started from, and
    # every block of student steps lowered it
    assert all(p["student_kl_first"] > p["gen_kl"] for p in curve)
    assert all(p["student_kl_last"] < p["student_kl_first"] for p in curve)
    assert curve[-1]["lr_s"] == pytest.approx(0.0, abs=1e-12)  # cosine annealing to 0
    # the student file loads and is the evaluated student
    student, meta = load_model(out / "student.pt")
    assert meta["arch"] == "wrn10_1" and meta["mean"] == MEAN
    logits = predict_logits(student, test.images, MEAN, STD, CPU, False)
    assert float((logits.argmax(1) == test.labels).float().mean() * 100) == pytest.approx(m["top1"])
    # on 512 images of the final generator, the trained student agrees with the teacher far more
    # often than the same student at initialisation (measured over 8 seeds: 4-39% -> 57-69%)
    teacher, _ = load_model(teacher_path)
    torch.manual_seed(job["seed"])
    initial = build_model("wrn10_1", 5).eval()
    blob = torch.load(out / "generator.pt", weights_only=True)
    gen = Generator(blob["z_dim"], blob["img_size"], blob["channels"])
    gen.load_state_dict(blob["state_dict"])
    with torch.no_grad():
        x = gen.train()(torch.randn(512, 100, generator=torch.Generator().manual_seed(99)))
        target = teacher(x).argmax(1)
        before = float((initial(x).argmax(1) == target).float().mean() * 100)
        after = float((student(x).argmax(1) == target).float().mean() * 100)
    assert after > before + 15, (before, after)


def test_resume_matches_an_uninterrupted_run(tmp_path, monkeypatch):
    teacher_path, test = _toy(tmp_path)
    full = zeroskd(_job(teacher_path), tmp_path / "full", test_set=test)

    real = zs_pkg.noise_batch

    def dies_at_4(seed, it, *a):
        if it == 4:
            raise KeyboardInterrupt("killed")
        return real(seed, it, *a)

    monkeypatch.setattr(zs_pkg, "noise_batch", dies_at_4)
    out = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        zeroskd(_job(teacher_path, checkpoint_every=3), out, test_set=test)
    assert [p.name for p in out.iterdir()] == ["state.pt"]
    monkeypatch.setattr(zs_pkg, "noise_batch", real)
    resumed = zeroskd(_job(teacher_path, checkpoint_every=3), out, test_set=test)
    assert resumed["resumes"] == [{"iteration": 3}] and not (out / "state.pt").exists()
    a = torch.load(tmp_path / "full" / "student.pt", weights_only=True)["state_dict"]
    b = torch.load(out / "student.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed["curve"] == full["curve"] and resumed["top1"] == full["top1"]
    # a state of another job is refused, not silently mixed in
    monkeypatch.setattr(zs_pkg, "noise_batch", dies_at_4)
    with pytest.raises(KeyboardInterrupt):
        zeroskd(_job(teacher_path, checkpoint_every=3), out, test_set=test)
    monkeypatch.setattr(zs_pkg, "noise_batch", real)
    with pytest.raises(RuntimeError, match="different ZeroSKD job"):
        zeroskd(_job(teacher_path, checkpoint_every=3, lr_s=1e-3), out, test_set=test)


# the child rebuilds the toy test set and signals itself when iteration N draws its noise
SIGNAL_AT = """
import json, os, signal, sys, torch
torch.set_num_threads(1)
from augprior.datasets import ImageDataset
import augprior.synthetic.zeroskd as zs
blob = torch.load(sys.argv[3])
test = ImageDataset("toy", "test", blob["images"], blob["labels"], blob["classes"])
real = zs.noise_batch

def noise_batch(seed, it, *args):
    if it == int(sys.argv[4]):
        os.kill(os.getpid(), signal.SIGTERM)
    return real(seed, it, *args)

zs.noise_batch = noise_batch
zs.zeroskd(json.loads(sys.argv[1]), sys.argv[2], test_set=test)
"""


@pytest.mark.slow
def test_sigterm_checkpoints_then_resume_matches_an_uninterrupted_run(tmp_path):
    """SIGTERM during iteration 3 (no periodic checkpoints): state.pt at iteration 3, with the curve
    window half full; exit status 143; the rerun ends identical to an uninterrupted run."""
    teacher_path, test = _toy(tmp_path)
    job = _job(teacher_path, eval_every=4)
    full = zeroskd(job, tmp_path / "full", test_set=test)
    torch.save({"images": test.images, "labels": test.labels, "classes": test.classes}, tmp_path / "test.pt")
    out = tmp_path / "stopped"
    proc = subprocess.run([sys.executable, "-c", SIGNAL_AT, json.dumps(job), str(out), str(tmp_path / "test.pt"), "2"],
                          env={**os.environ, "TQDM_DISABLE": "1"}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 143, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f"ZeroSKD: stopped by SIGTERM at iteration 3; state saved to {out / 'state.pt'}; rerun the same job to "
        "resume (exit status 143)")
    assert [p.name for p in out.iterdir()] == ["state.pt"]
    state = torch.load(out / "state.pt", weights_only=False)
    assert state["iteration"] == 3 and len(state["extras"]["window"]) == 1 and len(state["curve"]) == 1

    resumed = zeroskd(job, out, test_set=test)
    assert resumed["resumes"] == [{"iteration": 3}] and not (out / "state.pt").exists()
    a = torch.load(tmp_path / "full" / "student.pt", weights_only=True)["state_dict"]
    b = torch.load(out / "student.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed["curve"] == full["curve"] and resumed["top1"] == full["top1"]
    ga = torch.load(tmp_path / "full" / "generator.pt", weights_only=True)["state_dict"]
    gb = torch.load(out / "generator.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(ga[k], gb[k]) for k in ga)


def test_package_level_call(tmp_path):
    """`from augprior.synthetic import zeroskd; zeroskd(job, out_dir)` (the workflow script's form)."""
    from augprior import synthetic

    assert synthetic.zeroskd is zs_pkg and zs_pkg.Generator is Generator
    teacher_path, test = _toy(tmp_path)
    m = synthetic.zeroskd(_job(teacher_path, iterations=1, n_s=1), tmp_path / "out", test_set=test)
    assert m["iterations"] == 1 and (tmp_path / "out" / "metrics.json").is_file()


def test_nan_loss_stops_with_a_clear_error(tmp_path):
    teacher_path, test = _toy(tmp_path)
    blob = torch.load(teacher_path, weights_only=True)
    blob["state_dict"]["fc.weight"][0, 0] = float("nan")
    torch.save(blob, teacher_path)
    out = tmp_path / "nan"
    with pytest.raises(FloatingPointError, match=r"loss is nan at iteration 1/6"):
        zeroskd(_job(teacher_path), out, test_set=test)
    assert not (out / "metrics.json").exists() and not (out / "student.pt").exists()


def test_real_cifar10_evaluation(tmp_path, mirror):
    """With the offline mirror: a couple of iterations, evaluated on the real CIFAR-10 test set."""
    torch.manual_seed(0)
    teacher = build_model("wrn10_1", 10)
    path = tmp_path / "teacher.pt"
    from augprior.datasets import normalization

    mean, std = normalization("cifar10_jpeg")
    save_model(path, teacher, arch="wrn10_1", num_classes=10, in_chans=3, dataset="cifar10_jpeg",
               mean=list(mean), std=list(std))
    job = {**_job(path, iterations=2, eval_subset=200), "dataset": "cifar10_jpeg", "mirror": str(mirror)}
    m = zeroskd(job, tmp_path / "run")
    assert m["n"] == 200 and m["image_side"] == 32 and 0 <= m["top1"] <= 100
