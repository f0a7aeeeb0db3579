from _common import job_context

from augprior import tables, tracked
from augprior.experiments import EXPERIMENTS

with job_context(snakemake):  # noqa: F821 (injected by Snakemake)
    name = snakemake.wildcards.name  # noqa: F821
    cells = snakemake.params.cells.value  # noqa: F821
    exp = EXPERIMENTS.get(name)
    df = tables.build_rows(cells)
    df = exp.derive(df, cells) if exp.derive else df  # e.g. Table 4's delta < 5% from its two distillation rows
    tables.write_table(df, snakemake.output.csv, exp.title, snakemake.config["scale"], exp.findings,  # noqa: F821
                       exp.measure)
    tracked.write(name, cells, snakemake.output.metrics, snakemake.output.curves)  # noqa: F821
    print(tables.summary_line(name, df, snakemake.output.csv))  # noqa: F821
