_reasons = sorted({c.reason for cells in CELLS.values() for c in cells if c.reason.startswith(tuple(DATASETS))})
if _reasons:
    print("augprior: some cells will stay empty (set AUGPRIOR_MIRROR or data.download=true to compute them):\n  "
          + "\n  ".join(_reasons), file=sys.stderr)


def cell_outputs(name):
    """Every finished-run file the cells of a table or figure read."""
    return [jobs.job_path(job) for cell in CELLS[name] for job in cell.jobs]


rule table:
    """A paper table: the paper's values next to the pipeline's, with scale, dataset and run folders."""
    input:
        lambda wc: cell_outputs(wc.name),
    output:
        csv="paper_tables/{name}.csv",
        md="paper_tables/{name}.md",
    wildcard_constraints:
        name="|".join(TABLES),
    params:
        cells=lambda wc: CELLS[wc.name],
    log:
        jobs.log_path(SCALE, "tables", "{name}"),
    script:
        "../scripts/table.py"


rule figure:
    """A paper figure (PNG) and the numbers behind it (CSV)."""
    input:
        lambda wc: cell_outputs(wc.name),
    output:
        png="paper_tables/{name}.png",
        csv="paper_tables/{name}.csv",
        md="paper_tables/{name}.md",
    wildcard_constraints:
        name="|".join(FIGURES),
    params:
        cells=lambda wc: CELLS[wc.name],
        mirror=PARAMS["data"]["mirror"],
    log:
        jobs.log_path(SCALE, "figures", "{name}"),
    script:
        "../scripts/figure.py"


rule patch_grid:
    """Examples of the patches cut from one source image (like the paper's patch figures)."""
    input:
        lambda wc: jobs.job_path(jobs.patches_job(PARAMS, wc.image)),
    output:
        "paper_tables/patches/{image}.png",
    script:
        "../scripts/patch_grid.py"
