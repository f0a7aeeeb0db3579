"""What the Snakemake rules ask of the plan: the job behind a wildcard, its files, its resources.

The Snakefile builds one `RuleHelpers` from the resolved params, the cells of every table and figure and
the collected jobs, and binds its methods to the names the rules use (job_spec, job_inputs, ...), so the
snakefiles hold rules only (`snakemake --lint`).
"""

from __future__ import annotations

from typing import Any, Callable

from . import jobs
from .cells import Cell


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

    def job_spec(self, kind: str) -> Callable[[Any], dict[str, Any]]:
        return lambda wc: self.lookup(kind, wc.job).spec

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

    def cell_outputs(self, name: str) -> list[str]:
        """Every finished-run file the cells of a table or figure read."""
        return [jobs.job_path(job) for cell in self.cells[name] for job in cell.jobs]

    def empty_cell_reasons(self, datasets: list[str]) -> list[str]:
        """Why cells stay empty for want of one of `datasets` (printed once at start-up)."""
        return sorted({c.reason for cs in self.cells.values() for c in cs if c.reason.startswith(tuple(datasets))})
