"""A 224-px distillation: with the job's gpu resource > 1, torchrun runs one process per GPU (augprior.distributed);
otherwise it runs in this process like rule distill."""

import os
import shlex
import subprocess
import sys
from pathlib import Path

from _common import job_context

from augprior import fileio
from augprior.distill import distill
from augprior.distributed import launch_command

with job_context(snakemake):  # noqa: F821 (injected by Snakemake)
    job = snakemake.params.job.value  # noqa: F821
    out = Path(snakemake.output.metrics).parent  # noqa: F821
    nproc = int(snakemake.resources.gpu)  # noqa: F821
    if nproc <= 1:
        distill(job, out)
    else:
        spec = out / "job.json"  # what every rank runs; kept beside the run's outputs
        fileio.write_json(spec, job)
        cmd = launch_command(nproc, str(spec), str(out))
        threads = max(1, int(snakemake.threads) // nproc)  # noqa: F821
        print(f"launch: {shlex.join(cmd)} (OMP_NUM_THREADS={threads})", flush=True)
        sys.stdout.flush()
        rc = subprocess.run(cmd, stdout=sys.stdout, stderr=subprocess.STDOUT,
                            env={**os.environ, "OMP_NUM_THREADS": str(threads)}).returncode
        if rc:
            raise SystemExit(rc)  # 143: preempted (state.pt saved by rank 0); a rerun resumes
