"""What the Snakemake rules ask of the plan: the job behind a wildcard, its files, its resources.

The Snakefile builds one `RuleHelpers` from the resolved params, the cells of every table and figure and
the collected jobs, and binds its methods to the names the rules use (job_key, job_param, job_inputs, ...), so the
snakefiles hold rules only (`snakemake --lint`).

Rule parameters come in pairs: a compact `key` (a hash of everything the job or table is made from),
which Snakemake records and compares, so a changed setting still reruns the job and `snakemake -n`
names only the hash that changed; and the value itself wrapped in `Untracked`, which the script reads
(`snakemake.params.job.value`) but Snakemake neither records nor prints (its persistence keeps only
parameters of builtin types; a job spec or a table's cells printed whole made 40 KB of reason text).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Callable

from . import jobs
from .cells import Cell
from .provenance import params_hash


class Untracked:
    """A rule parameter's value for the script, invisible to Snakemake's params tracking (see above)."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __repr__(self) -> str:
        return f"{type(self).__name__}(...)"


def key(*values: Any) -> str:
    """The compact tracked parameter of `values` (job specs, cells, params): 16 hex digits of a hash of
    their repr (dataclasses and dicts print every field, in a fixed order)."""
    return hashlib.sha256(repr(values).encode()).hexdigest()[:16]


class RuleHelpers:
    def __init__(self, params: dict[str, Any], cells: dict[str, list[Cell]], collected: dict[str, dict[str, jobs.Job]]):
        self.params, self.cells, self.jobs = params, cells, collected
        self.scale = params["scale"]

    def lookup(self, kind: str, job_id: str) -> jobs.Job:
        try:
            return self.jobs[kind][job_id]
        except KeyError:
            raise KeyError(f"no {kind} job {job_id!r} in the plan for scale {self.scale!r}; request a table target "
                           "(or a patch grid of a manifest or library image) instead of an intermediate path") from None

    def job_param(self, kind: str) -> Callable[[Any], Untracked]:
        """The job's spec for the script (`snakemake.params.job.value`), untracked: pair it with job_key."""
        return lambda wc: Untracked(self.lookup(kind, wc.job).spec)

    def job_key(self, kind: str) -> Callable[[Any], str]:
        """The tracked parameter of a job: the hash of its whole spec (settings outside the job's id too)."""
        return lambda wc: params_hash(self.lookup(kind, wc.job).spec)

    @staticmethod
    def untracked(value: Any) -> Untracked:
        return Untracked(value)

    def table_cells(self, name: str) -> Untracked:
        """A table's or figure's cells for the script (`snakemake.params.cells.value`), untracked."""
        return Untracked(self.cells[name])

    def table_key(self, name: str, *extra: Any) -> str:
        """The tracked parameter of a table or figure: its cells (their jobs' specs included) and `extra`."""
        return key(self.cells[name], *extra)

    def job_inputs(self, kind: str) -> Callable[[Any], dict[str, str]]:
        return lambda wc: jobs.inputs(self.lookup(kind, wc.job))

    def job_output(self, kind: str, name: str) -> str:
        """The rule output pattern of file `name` of a `kind` job: the one results layout (augprior.jobs)."""
        return jobs.layout(self.scale, kind, "{job}", name)

    def job_log(self, kind: str) -> str:
        return jobs.log_path(self.scale, kind, "{job}")

    def rule_resources(self, kind: str) -> dict[str, Any]:
        res = self.params["resources"][kind]
        return {"mem_mb": res["mem_mb"], "runtime": res["runtime"], "gpu": res["gpu"]}

    def rule_threads(self, kind: str) -> int:
        return self.params["resources"][kind]["cpus"]

    def torchrun_jobs(self, member: bool) -> str:
        """The `job` wildcard constraint of rule distill_torchrun (member: the distillations on the 224-px datasets
        of augprior.large_scale, run on resources.distill_224's GPUs) and of rule distill (not member: the rest)."""
        from . import large_scale

        names = {large_scale.dataset_name(self.params, d) for d in large_scale.LABELS}
        ids = sorted(i for i, job in self.jobs["distill"].items() if job.spec.get("dataset") in names)
        alt = "|".join(re.escape(i) for i in ids)
        if member:
            return f"(?:{alt})" if ids else "(?!)"
        return f"(?!(?:{alt})/[^/]+$).+" if ids else ".+"

    def cell_outputs(self, name: str) -> list[str]:
        """Every finished-run file the cells of a table or figure read."""
        return [jobs.job_path(job) for cell in self.cells[name] for job in cell.jobs]

    def empty_cell_reasons(self, datasets: list[str], targets: list[str] | None = None) -> list[str]:
        """Why cells stay empty for want of one of `datasets` (printed once at start-up), in the tables and
        figures that `targets` (Snakemake's requested files; none: every one) produce."""
        names = [n for n in self.cells if not targets or any(_produces(n, t) for t in targets)]
        return sorted({c.reason for n in names for c in self.cells[n] if c.reason.startswith(tuple(datasets))})


def _produces(name: str, target: str) -> bool:
    """Whether `target` (a requested file, or rule `all`) is a file of table or figure `name`, or all of them."""
    from pathlib import PurePosixPath

    return target == "all" or PurePosixPath(target).stem == name


def requested_targets(argv: list[str]) -> list[str] | None:
    """The targets on Snakemake's command line `argv` (read with Snakemake's own parser: the Snakefile is
    parsed before Snakemake hands it its DAG settings); [] for none, None when they cannot be told."""
    try:
        from snakemake.cli import get_argument_parser

        args, _ = get_argument_parser().parse_known_args(argv)
        return [str(t) for t in args.targets or ()]
    except (Exception, SystemExit):  # noqa: BLE001 - not Snakemake's command line: warn about every table
        return None
