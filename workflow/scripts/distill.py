from pathlib import Path

from _common import job_context

from augprior.distill import distill

with job_context(snakemake):  # noqa: F821 (injected by Snakemake)
    distill(snakemake.params.job.value, Path(snakemake.output.metrics).parent)  # noqa: F821
