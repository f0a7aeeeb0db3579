from pathlib import Path

from _common import job_context

from augprior.teacher import train_teacher

with job_context(snakemake):  # noqa: F821 (injected by Snakemake)
    train_teacher(snakemake.params.job.value, Path(snakemake.output.model).parent)  # noqa: F821
