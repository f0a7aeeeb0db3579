from _common import job_context

from augprior.synthetic import make_synthetic_set

with job_context(snakemake):  # noqa: F821 (injected by Snakemake)
    job = snakemake.params.job  # noqa: F821
    make_synthetic_set(job["kind"], snakemake.output.images, num=job["num"], size=job["size"], seed=job["seed"])  # noqa: F821
