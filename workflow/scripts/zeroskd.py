from pathlib import Path

from _common import job_context

from augprior.synthetic import zeroskd

with job_context(snakemake):  # noqa: F821 (injected by Snakemake)
    zeroskd(snakemake.params.job.value, Path(snakemake.output.metrics).parent)  # noqa: F821
