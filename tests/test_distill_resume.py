"""A distillation process killed with SIGKILL (twice, mid-epoch), or stopped by SIGTERM / SIGINT
(checkpoint, then exit status 143 / 130), and rerun ends bit-identical to an uninterrupted run:
same metrics, same student weights (CPU, fp32, deterministic mode)."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from augprior.checkpoint import save_model
from augprior.models import build_model

# SIGINT back to Python's handler: a shell may start background jobs (and so this test) with SIGINT ignored
RUN = ("import json, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
       "from augprior.distill import distill; distill(json.load(open(sys.argv[1])), sys.argv[2])")
STOPPED = re.compile(r"^distillation: stopped by (SIG\w+) at epoch (\d+), step (\d+); state saved to (.+); "
                     r"rerun the same job to resume \(exit status (\d+)\)$", re.M)


def make_job(root: Path, every: int = 1) -> Path:
    from augprior.patches import PatchSpec, make_patch_set

    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for c in range(3):
            d = root / "folder" / split / f"c{c}"
            d.mkdir(parents=True, exist_ok=True)
            for i in range(4):
                Image.fromarray((rng.random((32, 32, 3)) * 80 + 60 * c).astype(np.uint8)).save(d / f"{i}.png")
    torch.manual_seed(0)
    save_model(root / "teacher.pt", build_model("resnet8", 3), arch="resnet8", num_classes=3, in_chans=3,
               dataset=f"imagefolder:{root / 'folder'}", mean=[0.5] * 3, std=[0.25] * 3)
    image = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    make_patch_set(image, root / "patches.npy", PatchSpec(size=32), num=64, seed=0, engine="reference",
                   progress=False)
    job = {"teacher_path": str(root / "teacher.pt"), "patches_path": str(root / "patches.npy"), "seed": 3,
           "device": "cpu", "precision": "fp32", "num_threads": 1,
           "distill": {"student": "resnet8", "epochs": 3, "batch_size": 16, "checkpoint_every_steps": every,
                       "deterministic": True, "eval_every": 2, "augment": {"mixup": True}}}
    path = root / "job.json"
    path.write_text(json.dumps(job))
    return path


def start(job: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "TQDM_DISABLE": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-c", RUN, str(job), str(out)], cwd=job.parent, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def kill_when(proc: subprocess.Popen, state: Path, ready, timeout: float = 120.0) -> tuple[int, int]:
    """SIGKILL `proc` as soon as its state.pt satisfies ready(epoch, step); returns that position."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"run ended (rc {proc.returncode}) before it could be killed:\n{proc.stdout.read()}")
        if state.exists():
            try:
                s = torch.load(state, weights_only=False)
            except Exception:  # noqa: BLE001 - replaced between exists() and load: try again
                continue
            if ready(s["epoch"], s["step"]):
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return s["epoch"], s["step"]
        time.sleep(0.002)
    proc.kill()
    pytest.fail("timed out waiting for a checkpoint")


def finish(proc: subprocess.Popen) -> None:
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out


@pytest.mark.slow
def test_sigkill_twice_then_rerun_is_bit_identical(tmp_path):
    job = make_job(tmp_path)
    ref_dir, out = tmp_path / "ref", tmp_path / "killed"
    ref_proc = start(job, ref_dir)  # the uninterrupted reference runs alongside
    proc = start(job, out)
    first = kill_when(proc, out / "state.pt", lambda e, s: True)
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "metrics.json").exists() and not (out / "student.pt").exists()

    proc = start(job, out)  # resumes, then is killed again later, mid-epoch
    second = kill_when(proc, out / "state.pt", lambda e, s: (e, s) > first and e >= 1 and 0 < s)
    assert not (out / "metrics.json").exists() and not (out / "student.pt").exists()

    proc = start(job, out)
    finish(proc)
    finish(ref_proc)
    ref = json.loads((ref_dir / "metrics.json").read_text())
    got = json.loads((out / "metrics.json").read_text())
    assert [r["epoch"] for r in got["resumes"]] == [first[0], second[0]] and got["resumes"][1]["step"] == second[1]
    assert_same_run(ref_dir, out, ref, got)


def assert_same_run(ref_dir: Path, out: Path, ref: dict, got: dict) -> None:
    for key in ("top1", "top5", "per_class_top1", "agreement", "teacher_top1", "best", "last", "steps"):
        assert got[key] == ref[key], key
    strip = lambda c: [{k: v for k, v in p.items() if k not in ("epoch_time_s", "samples_per_s")} for p in c]  # noqa: E731
    assert strip(got["curve"]) == strip(ref["curve"]) and len(got["curve"]) == 3
    a = torch.load(ref_dir / "student.pt", weights_only=True)["state_dict"]
    b = torch.load(out / "student.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not (out / "state.pt").exists()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temp files left


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted run of the job without periodic mid-epoch checkpoints (an operational option)."""
    root = tmp_path_factory.mktemp("distill_signal")
    job = make_job(root, every=0)
    from augprior.distill import distill

    return job, root / "ref", distill(json.loads(job.read_text()), root / "ref")  # in-process: one thread too


@pytest.mark.slow
def test_sigterm_checkpoints_then_exits_and_the_rerun_is_bit_identical(reference, tmp_path):
    """SLURM's preemption signal at a random moment after the first epoch: the run writes state.pt where
    it is (mid-epoch: no periodic checkpoints here), says so in one line and exits 143 (128 + SIGTERM).
    SIGINT (exit status 130) is covered by tests/test_teacher.py and tests/test_run_skeleton.py."""
    job, ref_dir, ref = reference
    sig = signal.SIGTERM
    out = tmp_path / "stopped"
    proc = start(job, out)
    deadline = time.time() + 120
    while not (out / "state.pt").exists():  # the end of epoch 1
        assert proc.poll() is None, proc.stdout.read()
        assert time.time() < deadline, "no checkpoint within 120 s"
        time.sleep(0.002)
    proc.send_signal(sig)
    text, _ = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, text
    stopped = STOPPED.search(text)
    assert stopped, text
    assert stopped[1] == signal.Signals(sig).name and int(stopped[5]) == 128 + sig
    assert Path(stopped[4]) == out / "state.pt" and "Traceback" not in text
    state = torch.load(out / "state.pt", weights_only=False)
    position = {"epoch": state["epoch"], "step": state["step"]}
    assert position == {"epoch": int(stopped[2]), "step": int(stopped[3])}
    assert not (out / "metrics.json").exists() and not (out / "student.pt").exists()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]

    finish(start(job, out))  # the requeued job
    got = json.loads((out / "metrics.json").read_text())
    assert got["resumes"] == [position]
    assert_same_run(ref_dir, out, ref, got)
