"""Shared by the rule scripts: threads and log redirection for a Snakemake job.

A training job stopped by SIGTERM / SIGINT (SLURM preemption) checkpoints and exits with status
143 / 130 (augprior.runner.Preempted); Snakemake sees a failed job, and a rerun (`--retries`, a
requeue) resumes it from its state.pt."""

import contextlib
import logging
import os
import sys


@contextlib.contextmanager
def job_context(snakemake):
    """Route stdout/stderr to the rule's log (if any) and give torch the job's threads."""
    import torch

    threads = max(1, min(int(snakemake.threads), os.cpu_count() or 1))
    torch.set_num_threads(threads)
    log = snakemake.log[0] if len(snakemake.log) else None
    if log is None:
        yield
        return
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, "w") as f, contextlib.redirect_stdout(f), contextlib.redirect_stderr(f):
        logging.basicConfig(stream=f, level=logging.INFO, force=True)
        try:
            yield
        except SystemExit as err:  # augprior.runner.Preempted: checkpointed on SIGTERM/SIGINT, exit 143/130
            print(err, file=sys.__stderr__, flush=True)  # its one line, on the console too; no traceback
            raise
        except BaseException:
            import traceback

            traceback.print_exc(file=f)
            sys.stderr.write(f"job failed; see {log}\n")
            raise
