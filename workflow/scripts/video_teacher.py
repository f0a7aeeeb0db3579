from pathlib import Path

from _common import job_context

from augprior.video.train import video_teacher

with job_context(snakemake):  # noqa: F821 (injected by Snakemake)
    video_teacher(snakemake.params.job.value, Path(snakemake.output.metrics).parent)  # noqa: F821
