from _common import job_context

from augprior import tables, tracked
from augprior.experiments import EXPERIMENTS

with job_context(snakemake):  # noqa: F821 (injected by Snakemake)
    name = snakemake.wildcards.name  # noqa: F821
    figure = EXPERIMENTS.get(name)
    cells = snakemake.params.cells.value  # noqa: F821
    scale = snakemake.config["scale"]  # noqa: F821
    title = tables.figure_title(figure.title, scale, cells)  # the PNG says at which scale, on which data
    df = figure.plot(tables.build_rows(cells), cells, snakemake.output.png, title, snakemake.params.mirror)  # noqa: F821
    tables.write_table(df, snakemake.output.csv, title, scale)  # noqa: F821
    tracked.write(name, cells, snakemake.output.metrics, snakemake.output.curves)  # noqa: F821
    print(tables.summary_line(name, df, snakemake.output.csv) + f"; figure {snakemake.output.png}")  # noqa: F821
