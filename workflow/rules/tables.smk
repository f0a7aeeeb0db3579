rule table:
    """A paper table: the paper's values next to the pipeline's, with scale, dataset and run folders."""
    input:
        lambda wc: cell_outputs(wc.name),
    output:
        csv=report(
            "paper_tables/{name}.csv",
            caption="../report/table.rst",
            category=lambda wc: EXPERIMENTS.get(wc.name).category,
        ),
        md="paper_tables/{name}.md",
        metrics="paper_tables/metrics/{name}.json",  # DVC metrics and plots (augprior.tracked)
        curves="paper_tables/curves/{name}.json",
    log:
        jobs.log_path(SCALE, "tables", "{name}"),
    wildcard_constraints:
        name="|".join(TABLES),
    conda:
        "../envs/augprior.yaml"
    params:
        key=lambda wc: RULES.table_key(wc.name),
        cells=lambda wc: RULES.table_cells(wc.name),
        title=lambda wc: EXPERIMENTS.get(wc.name).title,
    script:
        "../scripts/table.py"


rule figure:
    """A paper figure (PNG) and the numbers behind it (CSV)."""
    input:
        lambda wc: cell_outputs(wc.name),
    output:
        png=report(
            "paper_tables/{name}.png",
            caption="../report/figure.rst",
            category=lambda wc: EXPERIMENTS.get(wc.name).category,
        ),
        csv="paper_tables/{name}.csv",
        md="paper_tables/{name}.md",
        metrics="paper_tables/metrics/{name}.json",
        curves="paper_tables/curves/{name}.json",
    log:
        jobs.log_path(SCALE, "figures", "{name}"),
    wildcard_constraints:
        name="|".join(FIGURES),
    conda:
        "../envs/augprior.yaml"
    params:
        key=lambda wc: RULES.table_key(wc.name),
        cells=lambda wc: RULES.table_cells(wc.name),
        mirror=PARAMS["data"]["mirror"],
        title=lambda wc: EXPERIMENTS.get(wc.name).title,
    script:
        "../scripts/figure.py"


rule patch_grid:
    """Examples of the patches cut from one source image (like the paper's patch figures)."""
    input:
        lambda wc: jobs.job_path(jobs.patches_job(PARAMS, wc.image)),
    output:
        "paper_tables/patches/{image}.png",
    log:
        jobs.log_path(SCALE, "patch_grid", "{image}"),
    conda:
        "../envs/augprior.yaml"
    script:
        "../scripts/patch_grid.py"
