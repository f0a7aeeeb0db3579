"""augprior.runner: the resumable-run skeleton on a toy model (state round trip, fingerprint refusal,
stale outputs and temp files, finalisation order, and the SIGTERM / SIGINT checkpoint-then-exit)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading

import pytest
import torch

from augprior.runner import Preempted, ResumableRun, due, exit_status, key_diff


@pytest.fixture(autouse=True)
def default_sigint():
    """Python's own SIGINT handler for each test (a shell may start background jobs with SIGINT ignored)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


KEY = {"seed": 1, "cfg": {"lr": 0.1, "aug": {"mixup": True}}}


def toy():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1 + s))
    return model, opt, sched


def train_step(model, opt, sched) -> None:
    x = torch.randn(4, 3)  # the global torch RNG: its state must round-trip too
    opt.zero_grad()
    model(x).pow(2).mean().backward()
    opt.step()
    sched.step()


def start(run: ResumableRun, key=KEY):
    model, opt, sched = toy()
    run.resume(key, {"model": model, "optimizer": opt, "scheduler": sched}, {"epoch": 0, "step": 0}, total=0.0)
    return model, opt, sched


def write_marker(path) -> None:
    path.write_text("done")


def test_due_and_key_diff():
    assert [d for d in range(1, 10) if due(3, d, 9)] == [3, 6]  # never at the end
    assert not any(due(0, d, 9) for d in range(1, 10))
    assert key_diff(KEY, KEY) == []
    other = {"seed": 2, "cfg": {"lr": 0.1, "aug": {"mixup": False}, "new": 1}}
    assert key_diff(KEY, other) == ["cfg.aug.mixup", "cfg.new", "seed"]
    assert exit_status(signal.SIGTERM) == 143 and exit_status(signal.SIGINT) == 130


def test_state_round_trip_resumes_exactly(tmp_path, capsys):
    with ResumableRun(tmp_path, kind="toy", version=1, outputs=("model.bin",)) as run:
        model, opt, sched = start(run)
        assert not run.resumed and run.position == {"epoch": 0, "step": 0}
        for s in range(3):
            train_step(model, opt, sched)
        run.add_point({"epoch": 1, "loss": 0.5}, "toy epoch 1")
        run.boundary({"epoch": 1, "step": 3}, save=True, total=1.5)
        random.random()
        expected_next = torch.randn(4)  # what the global RNG gives right after the checkpoint
        for s in range(2):
            train_step(model, opt, sched)
        want = {k: v.clone() for k, v in model.state_dict().items()}
    assert "toy epoch 1: loss 0.5" in capsys.readouterr().out
    state = torch.load(tmp_path / "state.pt", weights_only=False)
    assert (state["epoch"], state["step"], state["kind"]) == (1, 3, "toy") and set(state["rng"]) >= {"torch"}

    with ResumableRun(tmp_path, kind="toy", version=1, outputs=("model.bin",)) as run:
        model, opt, sched = start(run)
        assert run.resumed and run.position == {"epoch": 1, "step": 3} and run.extras == {"total": 1.5}
        assert run.curve == [{"epoch": 1, "loss": 0.5}] and run.resumes == [{"epoch": 1, "step": 3}]
        random.random()
        assert torch.equal(torch.randn(4), expected_next)
    assert "resuming toy from" in capsys.readouterr().out
    # the same continuation from the restored state gives the same weights, bit for bit
    with ResumableRun(tmp_path, kind="toy", version=1, outputs=("model.bin",)) as run:
        model, opt, sched = start(run)
        random.random()
        torch.randn(4)
        for s in range(2):
            train_step(model, opt, sched)
        assert all(torch.equal(want[k], v) for k, v in model.state_dict().items())
        assert sched.last_epoch == 5 and opt.state_dict()["state"]


def test_state_of_another_job_or_version_is_refused(tmp_path):
    with ResumableRun(tmp_path, kind="toy", version=1) as run:
        start(run)
        run.boundary({"epoch": 0, "step": 1}, save=True)
    with pytest.raises(RuntimeError, match=r"different toy job .*differing keys: cfg\.lr, seed"), \
            ResumableRun(tmp_path, kind="toy", version=1) as run:
        start(run, {"seed": 2, "cfg": {**KEY["cfg"], "lr": 0.2}})
    with pytest.raises(RuntimeError, match=r"different toy job or code version .*state version 1 vs 2"), \
            ResumableRun(tmp_path, kind="toy", version=2) as run:
        start(run)
    (tmp_path / "state.pt").write_bytes(b"not a torch file")
    with pytest.raises(RuntimeError, match=r"state.pt: cannot read the saved toy state"), \
            ResumableRun(tmp_path, kind="toy", version=1) as run:
        start(run)


def test_finalize_order_stale_outputs_and_temp_files(tmp_path):
    for name in ("model.bin", "metrics.json"):
        (tmp_path / name).write_text("an earlier run")
    (tmp_path / ".state.pt.abc.tmp").write_text("killed writer")
    (tmp_path / ".model.bin.xyz.tmp").write_text("killed writer")
    (tmp_path / "keep.txt").write_text("not ours")
    with pytest.raises(ValueError, match="bad input"), ResumableRun(tmp_path, kind="toy", version=1,
                                                                     outputs=("model.bin",)):
        raise ValueError("bad input")  # refused during setup: the finished outputs are kept
    assert (tmp_path / "model.bin").read_text() == "an earlier run" and (tmp_path / "metrics.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt", "metrics.json", "model.bin"]

    order = []

    def writer(path):
        assert not (tmp_path / "metrics.json").exists()  # the completion marker comes last
        order.append(path.name)
        write_marker(path)

    with ResumableRun(tmp_path, kind="toy", version=1, outputs=("model.bin",)) as run:
        start(run)
        # the earlier run's result stays until finalize() replaces it (a failed or killed run keeps it)
        assert (tmp_path / "model.bin").read_text() == "an earlier run" and (tmp_path / "metrics.json").exists()
        run.boundary({"epoch": 1, "step": 0}, save=True)
        with pytest.raises(ValueError, match="writers for"):
            run.finalize({}, {})
        with run.untimed():
            assert run.train_time == run.train_time  # the clock is stopped
        m = run.finalize({"top1": 1.0}, {"model.bin": writer})
    assert m == {"top1": 1.0} and order == ["model.bin"]
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"top1": 1.0}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt", "metrics.json", "model.bin"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_checkpoints_at_the_next_boundary_then_raises(tmp_path, capsys, sig):
    before = signal.getsignal(sig)
    with pytest.raises(Preempted) as info, ResumableRun(tmp_path, kind="toy", version=1) as run:
        model, opt, sched = start(run)
        assert signal.getsignal(sig) == run._on_signal
        train_step(model, opt, sched)
        run.boundary({"epoch": 0, "step": 1}, total=1.0)
        os.kill(os.getpid(), sig)  # delivered here; only a flag is set
        train_step(model, opt, sched)
        assert run.stop_requested and not (tmp_path / "state.pt").exists()
        want = {k: v.clone() for k, v in model.state_dict().items()}
        run.boundary({"epoch": 0, "step": 2}, total=2.0)
        pytest.fail("boundary did not stop the run")
    err = info.value
    assert isinstance(err, SystemExit) and not isinstance(err, Exception)
    assert err.code == 128 + sig and err.signum == sig
    line = capsys.readouterr().err.strip()
    assert line == str(err) and "\n" not in line
    assert line.startswith(f"toy: stopped by {signal.Signals(sig).name} at epoch 0, step 2; state saved to ")
    assert line.endswith(f"rerun the same job to resume (exit status {128 + sig})")
    assert signal.getsignal(sig) == before  # the previous handler is back
    state = torch.load(tmp_path / "state.pt", weights_only=False)
    assert (state["epoch"], state["step"], state["extras"]) == (0, 2, {"total": 2.0})
    assert all(torch.equal(want[k], v) for k, v in state["objects"]["model"].items())


def test_signal_during_setup_or_after_the_last_boundary(tmp_path, capsys):
    with pytest.raises(Preempted, match="before training started"), \
            ResumableRun(tmp_path, kind="toy", version=1) as run:
        os.kill(os.getpid(), signal.SIGTERM)  # while loading data, say
        start(run)
    assert not (tmp_path / "state.pt").exists()  # nothing new to save

    with pytest.raises(Preempted, match="at epoch 1, step 0"), \
            ResumableRun(tmp_path, kind="toy", version=1, outputs=("model.bin",)) as run:
        start(run)
        run.boundary({"epoch": 1, "step": 0})
        os.kill(os.getpid(), signal.SIGTERM)  # during the final evaluation
        run.finalize({}, {"model.bin": write_marker})
    assert (tmp_path / "state.pt").exists() and not (tmp_path / "metrics.json").exists()
    assert not (tmp_path / "model.bin").exists()
    capsys.readouterr()


def test_second_signal_and_late_signal_go_to_the_previous_handler(tmp_path):
    seen = []
    before = signal.signal(signal.SIGTERM, lambda s, f: seen.append(s))
    try:
        with pytest.raises(Preempted), ResumableRun(tmp_path, kind="toy", version=1) as run:
            start(run)
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGTERM)  # a second one: what it would have done without the run
            assert seen == [signal.SIGTERM]
            run.boundary({"epoch": 0, "step": 1})
        seen.clear()

        def late(path):  # arrives while the outputs are written: the run finishes, then hands it on
            os.kill(os.getpid(), signal.SIGTERM)
            write_marker(path)

        with ResumableRun(tmp_path / "b", kind="toy", version=1, outputs=("model.bin",)) as run:
            start(run)
            run.finalize({}, {"model.bin": late})
            assert seen == []
        assert seen == [signal.SIGTERM] and (tmp_path / "b" / "metrics.json").exists()
    finally:
        signal.signal(signal.SIGTERM, before)


def test_late_signal_without_a_python_handler_stops_the_next_run(tmp_path):
    before = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        def late(path):
            os.kill(os.getpid(), signal.SIGTERM)
            write_marker(path)

        with ResumableRun(tmp_path / "a", kind="toy", version=1, outputs=("model.bin",)) as run:
            start(run)
            run.finalize({}, {"model.bin": late})
        assert (tmp_path / "a" / "metrics.json").exists()  # finished, and this process is still alive
        with pytest.raises(Preempted, match="stopped by SIGTERM .*before training started"), \
                ResumableRun(tmp_path / "b", kind="toy", version=1) as run:
            start(run)
        with ResumableRun(tmp_path / "c", kind="toy", version=1) as run:  # consumed once
            start(run)
    finally:
        signal.signal(signal.SIGTERM, before)


def test_handlers_only_in_the_main_thread_and_ignored_signals_stay_ignored(tmp_path):
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with ResumableRun(tmp_path, kind="toy", version=1):
            assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) != signal.SIG_DFL
    finally:
        signal.signal(signal.SIGINT, before)
    seen = {}

    def in_thread():
        with ResumableRun(tmp_path / "t", kind="toy", version=1) as run:
            seen["handlers"] = run._previous

    t = threading.Thread(target=in_thread)
    t.start()
    t.join()
    assert seen["handlers"] == {}


SCRIPT = """
import os, signal, sys, torch
from augprior.runner import ResumableRun
signal.signal(signal.SIGINT, signal.default_int_handler)  # a shell may start background jobs with SIGINT ignored
model = torch.nn.Linear(2, 2)
with ResumableRun(sys.argv[1], kind="toy", version=1) as run:
    run.resume({"a": 1}, {"model": model}, {"step": 0})
    for step in range(run.position["step"], 10):
        if step == 3 and not run.resumed:
            os.kill(os.getpid(), getattr(signal, sys.argv[2]))
        run.boundary({"step": step + 1})
    run.finalize({"steps": 10}, {})
print("finished after", run.resumes)
"""


@pytest.mark.slow
@pytest.mark.parametrize("name, status", [("SIGTERM", 143), ("SIGINT", 130)])
def test_uncaught_preempted_exits_with_the_status_and_one_line(tmp_path, name, status):
    cmd = [sys.executable, "-c", SCRIPT, str(tmp_path), name]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == status, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"toy: stopped by {name} at step 4; state saved to {tmp_path / 'state.pt'}; rerun the same job to resume "
        f"(exit status {status})"]  # no traceback
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "finished after [{'step': 4}]" in proc.stdout, proc.stderr
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"steps": 10}
    assert not (tmp_path / "state.pt").exists()
