from _common import job_context

from augprior import io, tables

with job_context(snakemake):  # noqa: F821 (injected by Snakemake)
    df = tables.build_rows(snakemake.params.cells)  # noqa: F821
    teacher = io.read_json(snakemake.input.teachers[0])  # noqa: F821
    md = tables.to_markdown(df, "Table 3: source image, teacher signal, augmentations", teacher)
    tables.write_table(df, snakemake.output.csv, md)  # noqa: F821
