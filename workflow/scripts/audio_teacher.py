from pathlib import Path

from _common import job_context

from augprior.audio.train import train_audio_teacher

with job_context(snakemake):  # noqa: F821 (injected by Snakemake)
    train_audio_teacher(snakemake.params.job.value, Path(snakemake.output.metrics).parent)  # noqa: F821
