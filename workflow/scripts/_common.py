"""Shared by the rule scripts: threads and log redirection for a Snakemake job.

A training job stopped by SIGTERM / SIGINT (SLURM preemption) checkpoints and exits with status
143 / 130 (augprior.runner.Preempted); Snakemake sees a failed job, and a rerun (`--retries`, a
requeue) resumes it from its state.pt.

The rule's log is appended to, with one header line per attempt, so a requeued attempt keeps the
preempted attempt's log above its own. Failures whose message says it all (a full disk or
read-only folder, a folder in use, an unreadable model / state / patch file, a NaN or diverging
loss, a bad option) end the job with that one line, in the log and on the console, and exit
status 1, without a traceback; any other error writes its traceback to the log."""

import contextlib
import datetime
import logging
import os
import socket
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
    os.makedirs(os.path.dirname(log) or ".", exist_ok=True)
    with open(log, "a") as f, contextlib.redirect_stdout(f), contextlib.redirect_stderr(f):
        stamp = datetime.datetime.now().isoformat(timespec="seconds")
        print(f"===== attempt started {stamp} on {socket.gethostname()}, pid {os.getpid()} "
              f"(rule {getattr(snakemake, 'rule', '?')}) =====", flush=True)
        logging.basicConfig(stream=f, level=logging.INFO, force=True)
        try:
            yield
        except SystemExit as err:  # augprior.runner.Preempted: checkpointed on SIGTERM/SIGINT, exit 143/130
            print(err, file=sys.__stderr__, flush=True)  # its one line, on the console too; no traceback
            raise
        except Exception as err:
            if not one_line_failure(err):
                import traceback

                traceback.print_exc(file=f)
                sys.__stderr__.write(f"job failed; see {log}\n")
                raise
            line = " ".join(str(err).split())
            print(f"error: {line}", flush=True)
            sys.__stderr__.write(f"error: {line} (log: {log})\n")
            raise SystemExit(1) from None
        except BaseException:
            import traceback

            traceback.print_exc(file=f)
            sys.stderr.write(f"job failed; see {log}\n")
            raise


def one_line_failure(err: BaseException) -> bool:
    """An error whose message is the whole story (see the module docstring): no traceback for it."""
    from augprior.fileio import StorageError
    from augprior.manifest import DataError
    from augprior.models import CheckpointError
    from augprior.options import OptionsError
    from augprior.patches import PatchError
    from augprior.runner import RunLocked

    return isinstance(err, (StorageError, RunLocked, CheckpointError, FloatingPointError, PatchError, DataError,
                            OptionsError))
