"""Fault injection, runtime (issue 10 items 4-6): bad command-line values, NaN / diverging losses,
unwritable output folders, full disks while checkpointing, damaged state / patch / teacher files,
two runs into one folder. Each fault must end in one line naming the file, option or step, with no
traceback, no finished output written and state.pt the last good checkpoint.

Tests run as root here, so chmod cannot make a folder read-only: an output folder under a regular
file (ENOTDIR, real) and a monkeypatched tempfile.mkstemp / os.fsync (EROFS, ENOSPC, EIO) stand in."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from augprior import cli, fileio
from augprior import distill as D
from augprior import teacher as T
from augprior.checkpoint import load_model, load_state, save_model, save_state
from augprior.models import CheckpointError, build_model
from augprior.patches import PatchError, load_patch_set
from augprior.runner import DIVERGENCE_FACTOR, LossDiverged, ResumableRun, RunLocked
from augprior.synthetic import zeroskd as ZS
from test_distill import make_world
from test_teacher import make_folder, make_job
from test_zeroskd import _job as zs_job
from test_zeroskd import _toy as zs_toy

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A tiny 3-class image folder (teacher runs) and a private cache."""
    tmp = tmp_path_factory.mktemp("faults")
    old = os.environ.get("AUGPRIOR_CACHE")
    os.environ["AUGPRIOR_CACHE"] = str(tmp / "cache")
    make_folder(tmp / "data")
    yield tmp / "data"
    if old is None:
        os.environ.pop("AUGPRIOR_CACHE", None)
    else:
        os.environ["AUGPRIOR_CACHE"] = old


def tiny_teacher(data: Path, **teacher) -> dict:
    return make_job(data, **{"epochs": 2, "steps_per_epoch": 3, "eval_every": 0, **teacher})


def finished(out: Path, *outputs: str) -> list[str]:
    return [name for name in ("metrics.json", *outputs) if (out / name).exists()]


# ----------------------------------------------------------------------------- item 4: bad CLI values

BAD_TEACHER_OPTIONS = [
    (["--epochs", "-3"], "--epochs"),
    (["--arch", "no_such_net"], "--arch"),
    (["--batch-size", "0"], "--batch-size"),
    (["--lr", "-0.1"], "--lr"),
    (["--lr", "inf"], "--lr"),
    (["--lr", "nan"], "--lr"),
    (["--momentum", "-1"], "--momentum"),
    (["--label-smoothing", "2"], "--label-smoothing"),
    (["--weight-decay", "-1"], "--weight-decay"),
]


@pytest.mark.parametrize("argv,option", BAD_TEACHER_OPTIONS, ids=[" ".join(a[0]) for a in BAD_TEACHER_OPTIONS])
def test_bad_teacher_option_is_a_one_line_error_naming_it(tmp_path, capsys, argv, option):
    with pytest.raises(SystemExit) as exc:
        cli.main(["train-teacher", "--params", str(REPO / "params.yaml"), "--out", str(tmp_path / "t"), *argv])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("augprior train-teacher: error: ") and option in last, err
    assert "Traceback" not in err and not (tmp_path / "t").exists()


def test_device_cuda_without_a_gpu_is_a_one_line_error(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    rc = cli.main(["train-teacher", "--params", str(REPO / "params.yaml"), "--out", str(tmp_path / "t"),
                   "--device", "cuda"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "--device cuda" in err[0], err
    assert not (tmp_path / "t").exists()


# ----------------------------------------------------------------------------- item 4: NaN and divergence

def test_check_loss_nan_inf_and_divergence(tmp_path):
    with ResumableRun(tmp_path / "r", kind="toy", version=1) as run:
        run.resume({"k": 1}, {}, {"step": 0})
        assert run.check_loss(torch.tensor(2.0), "step 1", "hint") == 2.0 and run.loss_ref == 2.0
        assert run.check_loss(2.0 * DIVERGENCE_FACTOR, "step 2", "hint") == 2.0 * DIVERGENCE_FACTOR  # at the bound
        for bad, what in ((float("nan"), "loss is nan"), (float("inf"), "loss is inf"),
                          (2.1 * DIVERGENCE_FACTOR, "diverging")):
            with pytest.raises(LossDiverged, match=rf"toy: .*{what}.* at step 3: stopping; no metrics.json written "
                                                   r"\(lower it; no checkpoint was saved yet\)"):
                run.check_loss(bad, "step 3", "lower it")


def test_divergence_reference_survives_a_resume(tmp_path):
    out = tmp_path / "r"
    with ResumableRun(out, kind="toy", version=1) as run:
        run.resume({"k": 1}, {}, {"step": 0})
        run.check_loss(0.5, "step 1", "h")
        run.boundary({"step": 1}, save=True)
    with ResumableRun(out, kind="toy", version=1) as run:
        run.resume({"k": 1}, {}, {"step": 0})
        assert run.loss_ref == 0.5
        with pytest.raises(LossDiverged, match=r"over 1e\+06 x the first step's loss 0.5 .*state.pt holds the last"):
            run.check_loss(1e6, "step 2", "h")  # 2e6 x 0.5: diverging, although the first loss after resume


def test_deferred_check_names_its_step_and_is_never_saved(tmp_path):
    """check_loss(defer=True) (the teacher's GPU path, exercised here on CPU tensors)."""
    out = tmp_path / "r"
    with ResumableRun(out, kind="toy", version=1) as run:
        run.resume({"k": 1}, {}, {"step": 0})
        assert run.check_loss(torch.tensor(1.0), "step 1", "h", defer=True) is None
        assert run.check_loss(torch.tensor(float("nan")), "step 2", "h", defer=True) is None  # step 1 checked: fine
        with pytest.raises(LossDiverged, match=r"toy: loss is nan at step 2: stopping"):
            run.check_loss(torch.tensor(1.0), "step 3", "h", defer=True)
        run.check_loss(torch.tensor(5e6), "step 4", "h", defer=True)
        with pytest.raises(LossDiverged, match=r"toy: loss 5e\+06 .*\(diverging\) at step 4: stopping"):
            run.boundary({"step": 4}, save=True)  # flushed before the checkpoint: nothing saved
    assert not (out / "state.pt").exists()


def _poisoned_cross_entropy(at_call: int, value: float):
    """F for teacher.py whose cross_entropy returns `value` (times the true loss, for big values) at one call."""
    import torch.nn.functional as F

    calls = {"n": 0}

    def cross_entropy(*args, **kwargs):
        calls["n"] += 1
        loss = F.cross_entropy(*args, **kwargs)
        if calls["n"] == at_call:
            return loss * 0 + value if not np.isfinite(value) else loss * value
        return loss

    return types.SimpleNamespace(cross_entropy=cross_entropy)


@pytest.mark.parametrize("value,what", [(float("nan"), "loss is nan"), (float("inf"), "loss is inf"),
                                        (1e9, "diverging")])
def test_teacher_stops_at_the_bad_step(data, tmp_path, monkeypatch, value, what):
    out = tmp_path / "t"
    monkeypatch.setattr(T, "F", _poisoned_cross_entropy(5, value))  # epoch 2, step 2 of 3
    with pytest.raises(LossDiverged, match=rf"teacher: .*{what}.* at epoch 2, step 2/3: stopping; no model.pt or "
                                           r"metrics.json written \(lower teacher.lr.*state.pt holds the last good"):
        T.train_teacher(tiny_teacher(data), out)
    assert finished(out, "model.pt") == []
    state = load_state(out / "state.pt")
    assert (state["epoch"], state["step"]) == (1, 0)  # the end of epoch 1: the last good checkpoint


def test_teacher_with_a_huge_lr_stops_early(data, tmp_path):
    out = tmp_path / "t"
    with pytest.raises(LossDiverged, match=r"teacher: loss .* at epoch 1, step \d/3"):
        T.train_teacher(tiny_teacher(data, lr=1e10, label_smoothing=0.0), out)
    assert finished(out, "model.pt") == [] and not (out / "state.pt").exists()


@pytest.mark.parametrize("value,what", [(float("nan"), "loss is nan"), (1e9, "diverging")])
def test_distillation_stops_at_the_bad_step(tmp_path, monkeypatch, value, what):
    world = make_world(tmp_path)
    real, calls = D.losses.loss_from_targets, {"n": 0}

    def poisoned(*args, **kwargs):
        calls["n"] += 1
        loss = real(*args, **kwargs)
        return loss * value if calls["n"] == 6 else loss  # epoch 2 (4 steps each), step 2

    monkeypatch.setattr(D.losses, "loss_from_targets", poisoned)
    out = tmp_path / "d"
    with pytest.raises(LossDiverged, match=rf"distillation: .*{what}.* at epoch 2, step 2/4: stopping; no student.pt "
                                           r"or metrics.json written .*state.pt holds the last good checkpoint"):
        D.distill(world, out)
    assert finished(out, "student.pt") == []
    state = load_state(out / "state.pt")
    assert (state["epoch"], state["step"]) == (1, 0)


def test_zeroskd_divergence_stops_at_the_iteration(tmp_path, monkeypatch):
    teacher_path, test = zs_toy(tmp_path)
    real, calls = ZS.ZeroShotStep.__call__, {"n": 0}

    def blown(self, z):
        calls["n"] += 1
        stats = real(self, z)
        if calls["n"] == 4:
            stats["student_loss"] *= 1e9
        return stats

    monkeypatch.setattr(ZS.ZeroShotStep, "__call__", blown)
    out = tmp_path / "z"
    with pytest.raises(LossDiverged, match=r"ZeroSKD: loss .* \(diverging\) at iteration 4/6: stopping; no "
                                           r"student.pt or generator.pt or metrics.json written"):
        ZS.zeroskd(zs_job(teacher_path, checkpoint_every=2), out, test_set=test)
    assert finished(out, "student.pt", "generator.pt") == []
    assert load_state(out / "state.pt")["iteration"] == 2


# ----------------------------------------------------------------------------- item 5: unwritable folders

def test_output_folder_under_a_regular_file_is_refused_before_training(data, tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" / "t"
    monkeypatch.setattr(T, "build_model", lambda *a, **k: pytest.fail("trained into an unwritable folder"))
    with pytest.raises(fileio.StorageError, match=rf"output folder {out} is not writable: Not a directory"):
        T.train_teacher(tiny_teacher(data), out)


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES])
def test_read_only_output_folder_is_refused_before_training(data, tmp_path, monkeypatch, code):
    import tempfile

    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)  # root ignores chmod: a read-only mount, simulated
    monkeypatch.setattr(T, "build_model", lambda *a, **k: pytest.fail("trained into an unwritable folder"))
    out = tmp_path / "ro"
    with pytest.raises(fileio.StorageError, match=rf"output folder {out} is not writable: {os.strerror(code)}"):
        T.train_teacher(tiny_teacher(data), out)
    assert list(out.iterdir()) == []


# ----------------------------------------------------------------------------- item 5: full disk when saving

def _fail_fsync_for(monkeypatch, fragment: str, code: int) -> None:
    """os.fsync raises `code` for files whose (temp) name contains `fragment`."""
    real = os.fsync

    def fsync(fd):
        if fragment in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(code, os.strerror(code))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def _fail_write(monkeypatch, code: int) -> None:
    """Files fileio opens for writing raise `code` on write (a disk that fills while writing)."""
    import builtins

    class Full:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            self.f.write(bytes(data)[:10])
            raise OSError(code, os.strerror(code))

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(fileio, "open", lambda *a, **k: Full(builtins.open(*a, **k)), raising=False)


@pytest.mark.parametrize("code,where", [(errno.ENOSPC, "fsync"), (errno.EIO, "fsync"), (errno.ENOSPC, "write"),
                                        (errno.EDQUOT, "write")])
def test_full_disk_saving_state_and_model_names_the_file(tmp_path, monkeypatch, code, where):
    if where == "fsync":
        _fail_fsync_for(monkeypatch, ".pt.", code)
    else:
        _fail_write(monkeypatch, code)
    with pytest.raises(fileio.StorageError, match=rf"cannot write {tmp_path / 'state.pt'}: {os.strerror(code)}"):
        save_state(tmp_path / "state.pt", {"version": 1, "objects": {}})
    with pytest.raises(fileio.StorageError, match=rf"cannot write {tmp_path / 'model.pt'}: {os.strerror(code)}"):
        save_model(tmp_path / "model.pt", build_model("resnet8", 3), arch="resnet8", num_classes=3, in_chans=3)
    assert list(tmp_path.iterdir()) == []  # no temp file left


def test_full_disk_during_teacher_checkpoint_and_final_save(data, tmp_path, monkeypatch):
    out = tmp_path / "t"
    with monkeypatch.context() as m:
        _fail_fsync_for(m, ".state.pt.", errno.ENOSPC)
        with pytest.raises(fileio.StorageError, match=rf"cannot write {out / 'state.pt'}: No space left on device "
                                                      r"\(free some space"):
            T.train_teacher(tiny_teacher(data), out)
    assert sorted(p.name for p in out.iterdir()) == []
    with monkeypatch.context() as m:
        _fail_fsync_for(m, ".model.pt.", errno.ENOSPC)
        with pytest.raises(fileio.StorageError, match=rf"cannot write {out / 'model.pt'}: No space left"):
            T.train_teacher(tiny_teacher(data), out)
    assert sorted(p.name for p in out.iterdir()) == ["state.pt"]  # the last checkpoint, no temp, no metrics
    m = T.train_teacher(tiny_teacher(data), out)  # space again: the rerun finishes from the state
    assert m["resumes"] == [{"epoch": 2, "step": 0}] and (out / "model.pt").is_file()


def test_full_disk_during_distillation_names_the_student_file(tmp_path, monkeypatch):
    world = make_world(tmp_path)
    out = tmp_path / "d"
    _fail_fsync_for(monkeypatch, ".student.pt.", errno.ENOSPC)
    with pytest.raises(fileio.StorageError, match=rf"cannot write {out / 'student.pt'}: No space left on device"):
        D.distill(world, out)
    assert finished(out, "student.pt") == [] and (out / "state.pt").is_file()


# ----------------------------------------------------------------------------- item 6: damaged files

def _real_state(tmp_path: Path) -> bytes:
    with ResumableRun(tmp_path / "src", kind="toy", version=1) as run:
        run.resume({"k": 1}, {"m": torch.nn.Linear(20, 20)}, {"step": 0})
        run.boundary({"step": 1}, save=True)
    return (tmp_path / "src" / "state.pt").read_bytes()


@pytest.mark.parametrize("damage", ["random", "truncated_zip", "text"])
def test_corrupt_state_names_the_file_and_what_was_expected(tmp_path, damage):
    blob = _real_state(tmp_path)
    out = tmp_path / "r"
    out.mkdir()
    (out / "state.pt").write_bytes({"random": np.random.default_rng(0).bytes(3000),
                                    "truncated_zip": blob[:len(blob) // 2], "text": b"hello\n"}[damage])
    with pytest.raises(CheckpointError) as exc, ResumableRun(out, kind="toy", version=1) as run:
        run.resume({"k": 1}, {"m": torch.nn.Linear(20, 20)}, {"step": 0})
    text = str(exc.value)
    assert text.startswith(f"{out / 'state.pt'}: cannot read the saved toy state (") and "\n" not in text
    assert "expected a training state written by an augprior run" in text and "delete it to start over" in text


@pytest.mark.parametrize("cut", ["body", "header"])
def test_truncated_patch_file_names_it(tmp_path, cut):
    npy = tmp_path / "p.npy"
    _save_patch_set(npy, np.zeros((20, 8, 8, 3), np.uint8))
    assert load_patch_set(npy).shape == (20, 3, 8, 8)
    raw = npy.read_bytes()
    npy.write_bytes(raw[:len(raw) - 100] if cut == "body" else raw[:40])
    with pytest.raises(PatchError, match=rf"{npy}: not a readable patch file .*truncated or damaged\?\); expected a "
                                         r"uint8 \[20, 8, 8, 3\] .npy"):
        load_patch_set(npy)


def _save_patch_set(path: Path, arr: np.ndarray) -> None:
    from augprior.patches.store import FORMAT, meta_path

    np.save(path, arr)
    fileio.write_json(meta_path(path), {"format": FORMAT, "kind": "npy", "shape": list(arr.shape),
                                        "count": len(arr), "size": arr.shape[1]})


def test_text_file_and_bare_state_dict_as_teacher(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a model\n")
    with pytest.raises(CheckpointError, match=rf"{text}: cannot read the model file .*expected a model file written "
                                              r"by augprior"):
        load_model(text)
    bare = tmp_path / "bare.pt"
    torch.save(build_model("resnet8", 3).state_dict(), bare)
    with pytest.raises(CheckpointError, match=rf"{bare}: a bare state_dict \(\d+ tensors\), without the architecture "
                                              r"to rebuild it; expected a model file .*torch.save\("):
        load_model(bare)
    wrong = tmp_path / "wrong.pt"
    save_model(wrong, build_model("resnet8", 3), arch="resnet20", num_classes=3, in_chans=3)
    with pytest.raises(CheckpointError, match=rf"{wrong}: its weights do not fit a resnet20 with 3 classes"):
        load_model(wrong)
    with pytest.raises(CheckpointError, match=r"missing.pt: no such file \(model file\)"):
        load_model(tmp_path / "missing.pt")


def test_bad_teacher_file_through_the_cli_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no params.yaml: the declared defaults
    world = make_world(tmp_path)
    (tmp_path / "notes.txt").write_text("not a model\n")
    torch.save(build_model("resnet8", 3).state_dict(), tmp_path / "bare.pt")
    for name, expected in (("notes.txt", "cannot read the model file"), ("bare.pt", "a bare state_dict")):
        rc = cli.main(["distill", "--teacher", name, "--patches", world["patches_path"], "--out", "o",
                       "--device", "cpu", "--epochs", "1"])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 1 and len(err) == 1 and err[0].startswith("augprior distill: failed: ") and name in err[0]
        assert expected in err[0], err


# ----------------------------------------------------------------------------- item 6: one run per folder

def test_second_run_into_a_locked_folder_is_refused(tmp_path):
    out = tmp_path / "r"
    with ResumableRun(out, kind="toy", version=1):
        assert "toy run, pid" in (out / ".lock").read_text()
        for kind in ("toy", "teacher"):
            with pytest.raises(RunLocked, match=rf"{out} is in use by another run \(toy run, pid {os.getpid()}"):
                with ResumableRun(out, kind=kind, version=1):
                    pytest.fail("two runs in one folder")
    assert not (out / ".lock").exists()  # released and removed on exit
    with pytest.raises(ValueError), ResumableRun(out, kind="toy", version=1):
        raise ValueError("a failing run")
    with ResumableRun(out, kind="toy", version=1):  # released on the error path too
        pass


def test_lock_of_a_killed_process_does_not_block(tmp_path):
    out = tmp_path / "r"
    code = ("import sys, time; from augprior.runner import ResumableRun\n"
            f"r = ResumableRun({str(out)!r}, kind='toy', version=1).__enter__(); print('held', flush=True); "
            "time.sleep(60)")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "held"
        with pytest.raises(RunLocked, match=rf"pid {p.pid}"), ResumableRun(out, kind="toy", version=1):
            pass
    finally:
        p.kill()
        p.wait()
    assert (out / ".lock").exists()  # SIGKILL: the file stays, the kernel dropped the lock
    with ResumableRun(out, kind="toy", version=1):
        pass


def _cli(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "augprior.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kw)


@pytest.mark.slow
def test_two_cli_teacher_runs_into_one_folder(data, tmp_path):
    out = tmp_path / "t"
    common = ["train-teacher", "--params", str(REPO / "params.yaml"), "--dataset", f"imagefolder:{data}",
              "--out", str(out), "--arch", "wrn10_1", "--batch-size", "9", "--image-size", "16", "--threads", "1",
              "--device", "cpu"]
    first = _cli(*common, "--epochs", "400", "--steps-per-epoch", "4")
    try:
        deadline = time.time() + 60
        while not (out / "state.pt").exists() and time.time() < deadline:
            time.sleep(0.2)
        assert (out / ".lock").exists()
        second = _cli(*common, "--epochs", "1")
        _, err = second.communicate(timeout=60)
        assert second.returncode == 1, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and f"{out} is in use by another run (teacher run, pid {first.pid}" in lines[0]
    finally:
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=60)
    assert first.returncode == 143 and "stopped by SIGTERM" in err


@pytest.mark.slow
def test_cli_runtime_faults_are_one_line(data, tmp_path):
    """Through a real process: a diverging teacher, an unwritable folder, a corrupt state.pt."""
    common = ["train-teacher", "--params", str(REPO / "params.yaml"), "--dataset", f"imagefolder:{data}",
              "--arch", "wrn10_1", "--batch-size", "9", "--image-size", "16", "--threads", "1", "--device", "cpu",
              "--epochs", "2", "--steps-per-epoch", "3"]
    (tmp_path / "file").write_text("x")
    bad_state = tmp_path / "bad"
    bad_state.mkdir()
    (bad_state / "state.pt").write_bytes(b"PK\x03\x04 truncated")
    cases = [
        (["--out", str(tmp_path / "lr"), "--lr", "1e10", "--schedule", "onecycle", "--label-smoothing", "0"],
         "teacher: loss", "at epoch 1, step"),
        (["--out", str(tmp_path / "file" / "t")], "output folder", "is not writable: Not a directory"),
        (["--out", str(bad_state)], f"{bad_state / 'state.pt'}: cannot read the saved teacher state", "delete it"),
    ]
    for extra, *expected in cases:
        p = _cli(*common, *extra)
        _, err = p.communicate(timeout=120)
        lines = err.strip().splitlines()
        assert p.returncode == 1 and len(lines) == 1 and "Traceback" not in err, err
        assert lines[0].startswith("augprior train-teacher: failed: ") and all(e in lines[0] for e in expected), err
    assert not (tmp_path / "lr" / "model.pt").exists() and not (tmp_path / "lr" / "metrics.json").exists()


# ----------------------------------------------------------------------------- item 5: rule logs

def test_rule_log_is_appended_per_attempt_and_one_line_errors(tmp_path, capfd):
    sys.path.insert(0, str(REPO / "workflow" / "scripts"))
    try:
        import _common
    finally:
        sys.path.pop(0)
    log = tmp_path / "logs" / "job.log"
    smk = types.SimpleNamespace(threads=1, log=[str(log)], rule="train_teacher")
    with pytest.raises(SystemExit) as exc, _common.job_context(smk):
        print("first attempt")
        raise fileio.StorageError(errno.ENOSPC, "cannot write x/state.pt: No space left on device")
    assert exc.value.code == 1
    assert capfd.readouterr().err.strip() == f"error: cannot write x/state.pt: No space left on device (log: {log})"
    with pytest.raises(RuntimeError), _common.job_context(smk):
        print("second attempt")
        raise RuntimeError("something unexpected")
    text = log.read_text()
    assert text.count("===== attempt started") == 2 and "(rule train_teacher)" in text
    assert text.index("first attempt") < text.index("error: cannot write x/state.pt") < text.index("second attempt")
    assert "Traceback" in text.split("second attempt")[1] and "Traceback" not in text.split("second attempt")[0]
