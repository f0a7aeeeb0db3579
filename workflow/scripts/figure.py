from _common import job_context

from augprior import tables, tracked
from augprior.experiments import EXPERIMENTS

with job_context(snakemake):  # noqa: F821 (injected by Snakemake)
    figure = EXPERIMENTS.get(snakemake.wildcards.name)  # noqa: F821
    cells = snakemake.params.cells  # noqa: F821
    df = figure.plot(tables.build_rows(cells), cells, snakemake.output.png, figure.title,  # noqa: F821
                     snakemake.params.mirror)  # noqa: F821
    tables.write_table(df, snakemake.output.csv, figure.title, snakemake.config["scale"])  # noqa: F821
    tracked.write(snakemake.wildcards.name, cells, snakemake.output.metrics, snakemake.output.curves)  # noqa: F821
