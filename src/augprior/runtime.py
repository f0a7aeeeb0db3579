"""Device, precision, seeding and progress bars shared by every training loop."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import Iterable, Iterator, TypeVar

import torch

T = TypeVar("T")

# Seconds one training epoch may take at each scale before a run warns at its start: ci jobs take
# minutes, laptop ones at most about an hour, and a paper-scale epoch on a GPU well under 15 minutes
# (1000 distillation epochs). A 224-px input on a CPU blows through these by orders of magnitude.
EPOCH_TIME_BUDGET_S = {"ci": 120.0, "laptop": 1200.0, "paper": 900.0}
ESTIMATE_STEPS = 3  # steps timed for the estimate (the first includes one-off allocations)


def epoch_time_warning(what: str, scale: str | None, seconds_per_step: float, steps_per_epoch: int,
                       epochs: int, hint: str = "") -> str | None:
    """A one-line warning when the measured step time predicts an epoch longer than the scale's
    budget (EPOCH_TIME_BUDGET_S; an unknown scale counts as paper), else None."""
    budget = EPOCH_TIME_BUDGET_S.get(scale or "paper", EPOCH_TIME_BUDGET_S["paper"])
    epoch_s = seconds_per_step * steps_per_epoch
    if epoch_s <= budget:
        return None
    return (f"slow run: the first steps of this {what} took {seconds_per_step:.2f} s each, so one epoch "
            f"({steps_per_epoch} steps) will take about {_duration(epoch_s)} and {epochs} epochs about "
            f"{_duration(epoch_s * epochs)}, beyond the {_duration(budget)} per epoch expected at scale "
            f"{scale or 'paper'}" + (f"; {hint}" if hint else ""))


class EpochEstimate:
    """Times the first ESTIMATE_STEPS steps a process runs and then, once, makes the epoch-time
    warning (`warning`, logged; None when the run is within its scale's budget)."""

    def __init__(self, what: str, scale: str | None, steps_per_epoch: int, epochs: int, device: torch.device,
                 hint: str = ""):
        self.what, self.scale, self.steps, self.epochs, self.device, self.hint = what, scale, steps_per_epoch, epochs, \
            device, hint
        self.count, self.start, self.warning = 0, time.time(), None

    def tick(self, last: bool = False) -> bool:
        """After each step; True when the estimate was made at this step (after ESTIMATE_STEPS, or at
        the last step of a shorter run)."""
        self.count += 1
        if self.count != ESTIMATE_STEPS and not (last and self.count < ESTIMATE_STEPS):
            return False
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.warning = epoch_time_warning(self.what, self.scale, (time.time() - self.start) / self.count, self.steps,
                                          self.epochs, self.hint)
        if self.warning:
            log_warning(self.warning)
        return True


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def log_warning(message: str) -> None:
    """One `warning: ...` line on stderr (the rule's log under Snakemake), flushed at once."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def num_threads(n: int | None) -> Iterator[None]:
    """torch CPU threads for the duration (None or 0: leave as is)."""
    if not n:
        yield
        return
    prev = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(prev)


def select_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} requested but CUDA is not available")
    return device


def use_bf16(device: torch.device, precision: str = "auto") -> bool:
    """`precision` is 'fp32', 'bf16' or 'auto' (bf16 on CUDA and on CPUs with bf16 units)."""
    if precision not in ("auto", "fp32", "bf16"):
        raise ValueError(f"precision must be auto, fp32 or bf16, not {precision!r}")
    if precision != "auto":
        return precision == "bf16"
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return cpu_has_bf16()


def cpu_has_bf16() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def quiet() -> bool:
    """Progress bars stay quiet under CI, SLURM batch jobs and when stderr is not a terminal."""
    if os.environ.get("TQDM_DISABLE") or os.environ.get("CI"):
        return True
    if os.environ.get("SLURM_JOB_ID") and not os.environ.get("SLURM_PTY_PORT"):
        return True
    return not sys.stderr.isatty()


def progress(iterable: Iterable[T], **kwargs) -> Iterator[T]:
    from tqdm.auto import tqdm

    return iter(tqdm(iterable, disable=quiet(), mininterval=kwargs.pop("mininterval", 1.0),
                     dynamic_ncols=True, **kwargs))
