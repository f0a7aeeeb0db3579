"""The resumable-run skeleton every training engine shares (teacher, distillation, ZeroSKD, ...).

An engine keeps only its setup and its step; the run does the rest:

    run = ResumableRun(out_dir, kind="distillation", version=STATE_VERSION, outputs=("student.pt",))
    with run:                                  # stale outputs + temp files removed, signal handlers on
        ...setup: models, optimizers, data...
        run.resume(key, {"model": m, "optimizer": opt, "scheduler": sched},
                   {"epoch": 0, "step": 0}, loss_sum=0.0)   # restores state.pt when there is one
        epoch, step = run.position["epoch"], run.position["step"]
        for ...:
            ...one step...
            run.boundary({"epoch": e, "step": s + 1}, save=periodic, loss_sum=loss_sum)
        run.finalize(metrics, {"student.pt": lambda path: save_model(path, ...)})

- A finished result is replaced only by a complete one: the files of an earlier run in out_dir
  (`outputs` and metrics.json) are left alone until finalize() (a run refused for a bad input or a
  foreign state.pt, a run that fails, or one killed before its end changes none of them; the folder
  then holds the old finished result beside the new run's state.pt, which a rerun resumes).
  finalize() removes the old metrics.json first (the completion marker: a folder never shows a
  metrics.json beside outputs it does not describe, even after a crash between two replacements),
  replaces each output atomically, writes metrics.json last, then removes state.pt (so a crash
  inside finalize() is resumed at the end of training). The temp files a killed writer left
  (`.NAME.*.tmp*`) are removed on entering and on leaving the run.
- Fingerprint: `key` (a plain dict: what must match for a saved state to be resumed) is hashed
  with provenance.params_hash; a state.pt of another key or state version is refused with a
  message naming the differing keys.
- State: every registered object's state_dict (or a torch.Generator's get_state), the global RNG
  states (python, numpy, torch, CUDA), the position, the curve, the engine's extra loop values,
  the training time and the list of resumes, written atomically to out_dir/state.pt.
- `boundary(position, save=..., **extras)`: the engine calls it whenever its state is consistent
  with `position` (where a resumed run would start). It writes state.pt when `save` is true, and
  when SIGTERM or SIGINT has arrived.
- Preemption: while the run is entered, SIGTERM and SIGINT (what SLURM sends at preemption, and
  Ctrl-C) only set a flag. At the next boundary the run writes state.pt at that position (so the
  requeued job resumes bit-identically), prints one line to stderr and raises `Preempted`, a
  SystemExit whose code is 128 + the signal number: 143 for SIGTERM, 130 for SIGINT. Uncaught
  it ends the process with that status and no traceback; Snakemake sees a failed job, which
  `--retries` (or a requeue) reruns, and the rerun resumes. A second signal does what it would
  have done without the run (SIGINT: KeyboardInterrupt, SIGTERM: the process ends), keeping the
  last state.pt. The previous handlers are restored on exit. A signal that arrives after the last
  boundary lets the run finish (its outputs are complete), then goes to the previous handler when
  that is a Python one (SIGINT: KeyboardInterrupt); otherwise the next run in the same process
  stops before it trains (a finished job is not turned into a killed one).
- `finalize(metrics, writers)`: the old metrics.json is removed, each output is written (writers
  write atomically), then metrics.json (the completion marker, always last), then state.pt is removed.
- Training time excludes evaluations and checkpoint writes (`with run.untimed(): ...`).
- Before anything is touched, entering checks that out_dir can be created and written (a
  read-only or full folder is a `fileio.StorageError` naming it, before any training) and takes
  an exclusive lock on out_dir/.lock (fcntl.flock, held until the run is left, then the file is
  removed; the kernel drops the lock when the process dies, so the .lock a killed run leaves never
  blocks the next): a second run into the same folder is refused with `RunLocked`, naming the
  holder's pid.
- Loss checks: `check_loss(loss, where, hint)` at every step stops the run at that step with one
  `LossDiverged` line (a FloatingPointError) when the loss is NaN or infinite, or above
  DIVERGENCE_FACTOR times the first step's loss (kept in state.pt across resumes); nothing is
  saved then, so state.pt stays the last good checkpoint and no finished output is written.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import torch

from . import fileio
from .checkpoint import CheckpointError, load_state, rng_state, save_state, set_rng_state
from .provenance import params_hash

PREEMPT_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_PENDING: list[int] = []  # a stop signal that arrived after a run's last boundary (no Python handler before it)
STATE_FILE = "state.pt"
METRICS_FILE = "metrics.json"
LOCK_FILE = ".lock"
DIVERGENCE_FACTOR = 1e6  # a loss this many times the first step's loss: the run is diverging
# top-level names of state.pt that the skeleton uses; position keys sit beside them
_RESERVED = ("version", "kind", "fingerprint", "resume_key", "objects", "rng", "curve", "extras", "train_time_s",
             "resumes", "loss_ref")


def exit_status(signum: int) -> int:
    """The exit status of a run stopped cleanly by `signum`: 128 + signum (SIGTERM 143, SIGINT 130)."""
    return 128 + int(signum)


class Preempted(SystemExit):
    """A run stopped by SIGTERM / SIGINT after checkpointing. A SystemExit, so that `except Exception`
    does not swallow it and, uncaught, the process exits with `code` = exit_status(signum) silently
    (the one-line message is printed to stderr when it is raised)."""

    def __init__(self, signum: int, message: str):
        super().__init__(exit_status(signum))
        self.signum, self.message = int(signum), message

    def __str__(self) -> str:
        return self.message


class RunLocked(RuntimeError):
    """Another live run holds the output folder's lock."""


class LossDiverged(FloatingPointError):
    """The loss became NaN / infinite or diverged; the message names the step and what to try."""


def check_writable(folder: str | os.PathLike) -> None:
    """Create `folder` if needed and create + remove a temp file in it; a StorageError naming the folder
    when that fails (read-only, full, not a folder, no permission)."""
    import tempfile

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".write-test.", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(name)
    except OSError as err:
        raise fileio.StorageError(err.errno, f"output folder {folder} is not writable: "
                                             f"{err.strerror or err}; nothing was run") from None


def due(every: int, done: int, total: int) -> bool:
    """Whether a periodic action (evaluation, checkpoint) every `every` units falls after `done`
    units of `total`; never at the end (the final one is done anyway) and never when every is 0."""
    return bool(every) and done % every == 0 and done < total


def key_diff(saved: Any, now: Any, prefix: str = "") -> list[str]:
    """Dotted names of the leaves that differ between two nested dicts (a key missing on one side
    counts as different)."""
    if isinstance(saved, Mapping) and isinstance(now, Mapping):
        out: list[str] = []
        for k in sorted(set(saved) | set(now), key=str):
            name = f"{prefix}.{k}" if prefix else str(k)
            if k not in saved or k not in now:
                out.append(name)
            else:
                out += key_diff(saved[k], now[k], name)
        return out
    return [] if saved == now else [prefix or "(value)"]


def _get_state(obj: Any) -> Any:
    if isinstance(obj, torch.Generator):
        return obj.get_state()
    return obj.state_dict()


def _set_state(obj: Any, state: Any) -> None:
    if isinstance(obj, torch.Generator):
        obj.set_state(state)
    else:
        obj.load_state_dict(state)


class ResumableRun:
    """One training run in `out_dir` (see the module docstring). `kind` names the engine in messages
    ("distillation", "teacher", "ZeroSKD"); `version` is the engine's state format version;
    `outputs` the files finalize() writes besides metrics.json. `writer=False` (the ranks > 0 of a
    data-parallel run, augprior.distributed): no lock and no files written, state.pt read only; `agree`
    (every rank calls it at every boundary) turns this rank's stop request into the ranks' common one."""

    def __init__(self, out_dir: str | os.PathLike, *, kind: str, version: int, outputs: tuple[str, ...] = (),
                 writer: bool = True, agree: Callable[[bool], bool] | None = None):
        self.out_dir = Path(out_dir)
        self.writer, self.agree = writer, agree
        self.kind, self.version, self.outputs = kind, version, tuple(outputs)
        self.state_path = self.out_dir / STATE_FILE
        self.key: dict[str, Any] = {}
        self.fingerprint = ""
        self.objects: dict[str, Any] = {}
        self.position: dict[str, int] = {}
        self.extras: dict[str, Any] = {}
        self.curve: list[dict[str, Any]] = []
        self.resumes: list[dict[str, int]] = []
        self.resumed = False
        self._time, self._mark = 0.0, None
        self._signal: int | None = None
        self._acted = False
        self._previous: dict[int, Any] = {}
        self._lock: Any = None
        self.loss_ref: float | None = None
        self._pending_loss: tuple | None = None  # check_loss(defer=True): (value copy, CUDA event, where, hint)

    # ------------------------------------------------------------------ entering and leaving

    def __enter__(self) -> ResumableRun:
        check_writable(self.out_dir)
        if self.writer:
            self._acquire_lock()
        try:
            if self.writer:
                self.remove_temp_files()
            self._install()
        except BaseException:
            self._restore()
            self._release_lock()
            raise
        if _PENDING and self._previous:
            self._signal = _PENDING.pop()  # a stop request an earlier run in this process finished under
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        previous = dict(self._previous)
        self._restore()
        try:
            if self.writer:
                self.remove_temp_files()
        finally:
            self._release_lock()
        if exc_type is None and self._signal is not None and not self._acted:
            # arrived after the last boundary: the run finished first; now the stop request goes on
            if callable(previous.get(self._signal)):
                signal.raise_signal(self._signal)  # to the caller's handler (SIGINT: KeyboardInterrupt)
            else:
                _PENDING.append(self._signal)  # not a kill after success: the next run here stops at once
        return False

    def _acquire_lock(self) -> None:
        """Exclusive, non-blocking flock on out_dir/.lock, removed again on leaving. The file is
        re-checked after locking (same inode as the path) so that a lock file removed by the run
        that just ended is never shared by two new runs."""
        path = self.out_dir / LOCK_FILE
        while True:
            try:
                f = open(path, "a+")
            except OSError as err:
                raise fileio.storage_error(path, err) from None
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.seek(0)
                holder = " ".join(f.read().split())[:200] or "another process"
                f.close()
                raise RunLocked(f"{self.out_dir} is in use by another run ({holder}; lock file {path}); "
                                "wait for it to finish, or use another output folder") from None
            try:
                same = os.stat(path).st_ino == os.fstat(f.fileno()).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            f.close()  # the previous holder removed it between our open and our lock: take the new one
        f.seek(0)
        f.truncate()
        f.write(f"{self.kind} run, pid {os.getpid()} on {os.uname().nodename}, "
                f"since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        f.flush()
        self._lock = f

    def _release_lock(self) -> None:
        if self._lock is not None:
            try:
                (self.out_dir / LOCK_FILE).unlink(missing_ok=True)  # while still holding it
                fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
            finally:
                self._lock.close()
                self._lock = None

    def remove_temp_files(self) -> None:
        """Temp files of a killed or interrupted writer of this run's files (fileio.atomic_path names)."""
        for name in (METRICS_FILE, STATE_FILE, *self.outputs):
            for tmp in self.out_dir.glob(f".{name}.*.tmp*"):
                tmp.unlink(missing_ok=True)

    def _install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread: no clean stop then
        for sig in PREEMPT_SIGNALS:
            prev = signal.getsignal(sig)
            if prev == signal.SIG_IGN:
                continue  # a process told to ignore the signal keeps ignoring it
            self._previous[sig] = prev
            signal.signal(sig, self._on_signal)

    def _restore(self) -> None:
        for sig, prev in self._previous.items():
            signal.signal(sig, prev if prev is not None else signal.SIG_DFL)
        self._previous = {}

    def _on_signal(self, signum: int, frame) -> None:
        if self._signal is None:
            self._signal = signum  # acted on at the next boundary (no I/O in a signal handler)
            return
        # a second signal: what it would have done without the run; state.pt keeps the last checkpoint
        prev = self._previous.get(signum, signal.SIG_DFL)
        self._restore()
        if callable(prev):
            prev(signum, frame)
        else:
            signal.raise_signal(signum)

    @property
    def stop_requested(self) -> bool:
        return self._signal is not None

    # ------------------------------------------------------------------ state

    def resume(self, key: dict[str, Any], objects: dict[str, Any], position: dict[str, int],
               **extras: Any) -> bool:
        """Register the fingerprint `key`, the objects a checkpoint holds, the starting position and
        the engine's extra loop values (their fresh-run values); restore all of them from state.pt
        when there is one. Returns whether it resumed. Starts the training clock."""
        clash = sorted(set(position) & set(_RESERVED))
        if clash:
            raise ValueError(f"position keys {clash} clash with state.pt's own keys")
        self.key, self.fingerprint = key, params_hash(key)
        self.objects, self.position, self.extras = dict(objects), dict(position), dict(extras)
        try:
            state = load_state(self.state_path, f"saved {self.kind} state")
        except CheckpointError:
            raise  # one line naming the file and what was expected
        except Exception as err:  # noqa: BLE001 - torch raises many kinds on a damaged file
            raise RuntimeError(f"{self.state_path}: cannot read the saved {self.kind} state ({err}); "
                               "delete it to start over") from None
        if state is not None:
            self._check(state)
            for name, obj in self.objects.items():
                _set_state(obj, state["objects"][name])
            set_rng_state(state["rng"])
            self.position = {k: state[k] for k in position}
            self.extras = {**self.extras, **state["extras"]}
            self.curve, self._time = state["curve"], state["train_time_s"]
            self.loss_ref = state.get("loss_ref")
            self.resumes = [*state["resumes"], dict(self.position)]
            self.resumed = True
            print(f"resuming {self.kind} from {self.state_path} at "
                  + ", ".join(f"{k} {v}" for k, v in self.position.items()), flush=True)
        if self._signal is not None:  # arrived during setup: nothing new to save
            self._acted = True
            self._stop("before training started (state.pt unchanged)")
        self._mark = time.time()
        return self.resumed

    def _check(self, state: dict[str, Any]) -> None:
        ok = (state.get("version") == self.version and state.get("fingerprint") == self.fingerprint
              and set(state.get("objects") or ()) == set(self.objects))
        if ok:
            return
        saved = state.get("resume_key")
        diff = key_diff(saved, self.key) if isinstance(saved, Mapping) else []
        version = state.get("version")
        raise RuntimeError(
            f"{self.state_path} belongs to a different {self.kind} job or code version "
            f"(fingerprint {state.get('fingerprint')} vs {self.fingerprint}"
            + (f"; state version {version} vs {self.version}" if version != self.version else "")
            + (f"; differing keys: {', '.join(diff)}" if diff else "")
            + "); delete it to start over, or use another output folder")

    def checkpoint(self) -> None:
        """Write state.pt at the current position (the last boundary), atomically."""
        self.flush_loss_check()  # a deferred bad loss is never saved
        if not self.writer:
            return
        with self.untimed():
            save_state(self.state_path, {
                "version": self.version, "kind": self.kind, "fingerprint": self.fingerprint,
                "resume_key": self.key, **self.position,
                "objects": {name: _get_state(obj) for name, obj in self.objects.items()},
                "rng": rng_state(), "curve": self.curve, "extras": self.extras,
                "train_time_s": self._time, "resumes": self.resumes, "loss_ref": self.loss_ref,
            })

    def boundary(self, position: dict[str, int], *, save: bool = False, **extras: Any) -> None:
        """The engine's state is consistent with `position` (and `extras`): checkpoint when `save`,
        and checkpoint then raise Preempted when a stop signal has arrived."""
        self.position = position
        if extras:
            self.extras.update(extras)
        if self.agree is not None and self.agree(self._signal is not None) and self._signal is None:
            self._signal = signal.SIGTERM  # another rank was told to stop: stop here, at the same step
        if save or self._signal is not None:
            self.checkpoint()
        if self._signal is not None:
            self._acted = True
            self._stop("state saved to " + str(self.state_path))

    def check_loss(self, loss: Any, where: str, hint: str, *, defer: bool = False) -> float | None:
        """The loss of the step at `where` ("epoch 3, step 17/50") as a float; raises LossDiverged when
        it is NaN or infinite, or above DIVERGENCE_FACTOR times the first step's loss. `hint`: what to
        try ("lower teacher.lr"). Call it before the checkpoint that would follow the step.

        `defer` (a tensor loss; for GPU loops that must not wait for the device every step): the value
        is copied to the host without waiting and checked at the next check_loss call, or before the
        next checkpoint or finalize, whichever comes first; the error still names this step (its
        update has been applied then, but never saved). Returns None then."""
        pending, self._pending_loss = self._pending_loss, None
        if pending is not None:
            self._check_value(*pending)
        if defer and isinstance(loss, torch.Tensor):
            loss = loss.detach()
            if loss.is_cuda:
                buf = torch.empty(loss.shape, dtype=loss.dtype, pin_memory=True)
                buf.copy_(loss, non_blocking=True)
                event = torch.cuda.Event()
                event.record()
            else:
                buf, event = loss.clone(), None
            self._pending_loss = (buf, event, where, hint)
            return None
        return self._check_value(loss, None, where, hint)

    def flush_loss_check(self) -> None:
        """Check a deferred loss now (before anything is saved)."""
        pending, self._pending_loss = self._pending_loss, None
        if pending is not None:
            self._check_value(*pending)

    def _check_value(self, loss: Any, event: Any, where: str, hint: str) -> float:
        if event is not None:
            event.synchronize()
        value = float(loss)
        if not math.isfinite(value):
            raise self.loss_failure(f"loss is {value}", where, hint)
        if self.loss_ref is None:
            if value > 0:
                self.loss_ref = value  # the first step's loss (the first positive one)
        elif value > DIVERGENCE_FACTOR * self.loss_ref:
            raise self.loss_failure(f"loss {value:.4g} is over {DIVERGENCE_FACTOR:g} x the first step's loss "
                                    f"{self.loss_ref:.4g} (diverging)", where, hint)
        return value

    def loss_failure(self, problem: str, where: str, hint: str) -> LossDiverged:
        """The one-line error of a run stopped by a bad loss at `where` (nothing saved, nothing finished)."""
        outputs = " or ".join((*self.outputs, METRICS_FILE))
        kept = (f"{self.state_path} holds the last good checkpoint" if self.state_path.exists()
                else "no checkpoint was saved yet")
        return LossDiverged(f"{self.kind}: {problem} at {where}: stopping; no {outputs} written "
                            f"({hint}; {kept})")

    def _stop(self, what: str) -> None:
        name = signal.Signals(self._signal).name
        where = ", ".join(f"{k} {v}" for k, v in self.position.items())
        message = (f"{self.kind}: stopped by {name} at {where}; {what}; rerun the same job to resume "
                   f"(exit status {exit_status(self._signal)})")
        print(message, file=sys.stderr, flush=True)
        raise Preempted(self._signal, message)

    # ------------------------------------------------------------------ time, curve, the end

    @property
    def train_time(self) -> float:
        """Seconds spent training so far, over all resumes (evaluations and checkpoint writes excluded)."""
        return self._time + (time.time() - self._mark if self._mark is not None else 0.0)

    @contextlib.contextmanager
    def untimed(self) -> Iterator[None]:
        """Stop the training clock for the duration (evaluations, checkpoint writes)."""
        if self._mark is None:
            yield
            return
        self._time += time.time() - self._mark
        self._mark = None
        try:
            yield
        finally:
            self._mark = time.time()

    def add_point(self, point: dict[str, Any], label: str | None = None) -> None:
        """Append a curve point; with `label`, print it as one line "label: key value, ..."."""
        self.curve.append(point)
        if label is not None:
            print(f"{label}: " + ", ".join(f"{k} {v:.4g}" for k, v in point.items()
                                           if k not in ("epoch", "step", "iteration") and v is not None), flush=True)

    def finalize(self, metrics: dict[str, Any], writers: dict[str, Callable[[Path], None]]) -> dict[str, Any]:
        """Replace the finished result: remove the old metrics.json (the completion marker), write the
        outputs (writers[name](path), each atomic), then metrics.json, then remove state.pt. Until
        here an earlier run's files are untouched. A stop signal that arrived since the last boundary
        checkpoints and raises Preempted instead."""
        if set(writers) != set(self.outputs):
            raise ValueError(f"finalize: writers for {sorted(writers)}, the run declared {sorted(self.outputs)}")
        self.flush_loss_check()
        if self._signal is not None:
            self.checkpoint()
            self._acted = True
            self._stop("state saved to " + str(self.state_path))
        if not self.writer:
            return metrics
        (self.out_dir / METRICS_FILE).unlink(missing_ok=True)  # old outputs are no longer described by it
        for name, write in writers.items():
            write(self.out_dir / name)
        fileio.write_json(self.out_dir / METRICS_FILE, metrics)  # the completion marker: written last
        self.state_path.unlink(missing_ok=True)
        return metrics


def _dataset_key(name: str) -> str:
    """A dataset name for comparison: imagefolder: roots as resolved absolute paths."""
    prefix = "imagefolder:"
    if name.startswith(prefix):
        return prefix + str(Path(name.removeprefix(prefix)).expanduser().resolve())
    return name


def check_teacher_dataset(teacher_path: str | os.PathLike, tmeta: Mapping[str, Any], dataset: str, test_classes: int,
                          *, allow: bool, option: str) -> dict[str, Any] | None:
    """Refuse to evaluate a teacher on a dataset other than the one its model file records (`tmeta`,
    from checkpoint.load_model) unless `allow` (the engine's option named `option`): returns None when
    they agree (or the file records no dataset), {"teacher_dataset", "eval_dataset"} for an allowed
    mismatch (to record in metrics.json), and raises ValueError (one line naming both) otherwise.
    A different class count is refused always (the teacher's outputs are other classes)."""
    recorded = tmeta.get("dataset")
    n = int(tmeta["num_classes"])
    if n != int(test_classes):
        raise ValueError(f"the teacher {teacher_path} (trained on {recorded or 'an unrecorded dataset'}) has {n} "
                         f"classes, the evaluation dataset {dataset} has {test_classes}: it cannot be evaluated there")
    if not recorded or _dataset_key(str(recorded)) == _dataset_key(str(dataset)):
        return None
    if not allow:
        raise ValueError(f"the teacher {teacher_path} was trained on {recorded}, the evaluation dataset is {dataset}; "
                         f"refused (set {option}: true, --{option.rsplit('.', 1)[-1].replace('_', '-')}, "
                         "if evaluating it there is intended)")
    return {"teacher_dataset": str(recorded), "eval_dataset": str(dataset)}


def dataset_mismatch_deviation(mismatch: Mapping[str, Any]) -> str:
    return (f"dataset_mismatch: the teacher was trained on {mismatch['teacher_dataset']} and is evaluated on "
            f"{mismatch['eval_dataset']} (allowed by allow_dataset_mismatch)")


class StudentEvaluator:
    """Student metrics (with agreement) against a teacher on a fixed test set; the teacher's logits
    are computed once, at the first call, and kept (`teacher_logits`)."""

    def __init__(self, teacher: torch.nn.Module, test, mean, std, device: torch.device, bf16: bool,
                 channels_last: bool):
        self.teacher, self.test, self.mean, self.std = teacher, test, mean, std
        self.device, self.bf16, self.channels_last = device, bf16, channels_last
        self.teacher_logits: torch.Tensor | None = None

    def _logits(self, model: torch.nn.Module) -> torch.Tensor:
        from .evaluate import predict_dataset

        return predict_dataset(model, self.test, self.mean, self.std, self.device, self.bf16,
                               channels_last=self.channels_last)

    def __call__(self, student: torch.nn.Module) -> dict[str, Any]:
        from .evaluate import student_metrics

        if self.teacher_logits is None:
            self.teacher_logits = self._logits(self.teacher)
        return student_metrics(self._logits(student), self.teacher_logits, self.test.labels, self.test.num_classes)

    def teacher_metrics(self) -> dict[str, Any]:
        from .evaluate import accuracy_metrics

        if self.teacher_logits is None:
            self.teacher_logits = self._logits(self.teacher)
        return accuracy_metrics(self.teacher_logits, self.test.labels, self.test.num_classes)
