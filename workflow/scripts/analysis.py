from _common import job_context

from augprior.cells import Context
from augprior.experiments import EXPERIMENTS

with job_context(snakemake):  # noqa: F821 (injected by Snakemake)
    name = snakemake.wildcards.name  # noqa: F821
    ctx = Context(snakemake.params.resolved.value, name, snakemake.params.block)  # noqa: F821
    EXPERIMENTS.get(name).analysis(snakemake.params.cells.value, ctx, snakemake.output)  # noqa: F821
    print(f"{name}: wrote {', '.join(map(str, snakemake.output))}")  # noqa: F821
