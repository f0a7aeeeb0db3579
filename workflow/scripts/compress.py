from pathlib import Path

from _common import job_context

from augprior.compress import compress

with job_context(snakemake):  # noqa: F821 (injected by Snakemake)
    compress(snakemake.params.job.value, Path(snakemake.output.metrics).parent)  # noqa: F821
