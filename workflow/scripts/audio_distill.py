from pathlib import Path

from _common import job_context

from augprior.audio.train import distill_audio

with job_context(snakemake):  # noqa: F821 (injected by Snakemake)
    distill_audio(snakemake.params.job.value, Path(snakemake.output.metrics).parent)  # noqa: F821
