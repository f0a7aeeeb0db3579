from pathlib import Path

from _common import job_context

from augprior.imagenet_c import evaluate

with job_context(snakemake):  # noqa: F821 (injected by Snakemake)
    evaluate(snakemake.params.job.value, Path(snakemake.output.metrics).parent)  # noqa: F821
