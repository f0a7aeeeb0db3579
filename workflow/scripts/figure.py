from _common import job_context

from augprior import figures, tables

with job_context(snakemake):  # noqa: F821 (injected by Snakemake)
    name = snakemake.wildcards.name  # noqa: F821
    cells = snakemake.params.cells  # noqa: F821
    df = tables.build_rows(cells)
    if name == "fig2":
        df["jpeg_kib"] = [round(figures.jpeg_kib(c.setting, snakemake.params.mirror), 1) for c in cells]  # noqa: F821
    else:
        df["depth"] = [c.extra["depth"] for c in cells]
        df["width"] = [c.extra["width"] for c in cells]
    getattr(figures, name)(df, snakemake.output.png, tables.TITLES[name])  # noqa: F821
    tables.write_table(df, snakemake.output.csv, tables.TITLES[name], snakemake.config["scale"])  # noqa: F821
