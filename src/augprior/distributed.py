"""Data-parallel training under torchrun (torch DistributedDataParallel), one process per device.

    torchrun --standalone --nproc_per_node=2 -m augprior.distributed job.json out_dir

`context()` reads torchrun's WORLD_SIZE / RANK / LOCAL_RANK; with WORLD_SIZE > 1 it starts the process
group (nccl on CUDA, gloo on CPU) and gives each rank its device (cuda:LOCAL_RANK). The engines then:
- wrap the student in DistributedDataParallel (gradients averaged over ranks),
- give each rank its contiguous slice of every global batch (training_inputs.Inputs.shard), so the
  global batch size, the steps per epoch and the sample order are those of a 1-process run,
- average the loss and sum the teacher's class histogram over ranks every step (every rank sees the
  same loss, so a NaN or divergence stops all of them at the same step),
- agree on a stop signal at every step boundary (SLURM's SIGTERM may reach the ranks at different steps),
- write state.pt, student.pt and metrics.json from rank 0 only; every rank resumes from the same state.pt.

What differs from a 1-process run of the same global batch: BatchNorm normalises with each rank's
batch statistics (the official ImageNet code's Lightning DDP does the same: no SyncBatchNorm), and each
rank draws its augmentation (crops, flips, MixUp/CutMix coefficient and box, partner = its own slice
reversed) from its own stream (seed, epoch, step, rank). Without BatchNorm and random augmentation the
runs are equal up to float rounding (tests/test_distributed.py).
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from typing import Any, Iterator

import torch


@dataclass(frozen=True)
class Dist:
    world: int = 1
    rank: int = 0
    local_rank: int = 0
    backend: str | None = None

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """Rank's device: cuda:LOCAL_RANK when training on CUDA, else `device`."""
        if self.enabled and device.type == "cuda":
            return torch.device("cuda", self.local_rank)
        return device

    def mean_(self, x: torch.Tensor) -> torch.Tensor:
        if self.enabled:
            torch.distributed.all_reduce(x, op=torch.distributed.ReduceOp.SUM)
            x.div_(self.world)
        return x

    def sum_(self, x: torch.Tensor) -> torch.Tensor:
        if self.enabled:
            torch.distributed.all_reduce(x, op=torch.distributed.ReduceOp.SUM)
        return x

    def any(self, flag: bool, device: torch.device) -> bool:
        """Whether `flag` is true on any rank (every rank must call it)."""
        if not self.enabled:
            return flag
        t = torch.tensor([1 if flag else 0], device=device)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item())

    def barrier(self) -> None:
        if self.enabled:
            torch.distributed.barrier()

    def describe(self) -> dict[str, Any]:
        return {"world_size": self.world, "backend": self.backend}


SINGLE = Dist()


def from_env() -> Dist:
    """torchrun's WORLD_SIZE / RANK / LOCAL_RANK (1 process when unset)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return SINGLE
    return Dist(world, int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", os.environ["RANK"])))


@contextlib.contextmanager
def context(device: torch.device) -> Iterator[Dist]:
    """The process group of this torchrun worker for training on `device` (no-op for one process)."""
    d = from_env()
    if not d.enabled:
        yield d
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(d.local_rank)
    started = not torch.distributed.is_initialized()
    if started:
        torch.distributed.init_process_group(backend)
    try:
        yield Dist(d.world, d.rank, d.local_rank, backend)
    finally:
        if started:
            torch.distributed.destroy_process_group()


def launch_command(nproc: int, job_file: str, out_dir: str) -> list[str]:
    """The torchrun command line that runs the distillation `job_file` on `nproc` local devices."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
            "-m", "augprior.distributed", job_file, out_dir]


def main(argv: list[str] | None = None) -> None:
    """torchrun worker: `python -m augprior.distributed JOB.json OUT_DIR` (one process per rank)."""
    import json

    from .distill import distill

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        raise SystemExit("usage: torchrun --nproc_per_node=N -m augprior.distributed JOB.json OUT_DIR")
    with open(args[0]) as f:
        job = json.load(f)
    distill(job, args[1])


if __name__ == "__main__":
    main()
