TABLE3 = PLAN.table3()


rule table3:
    """Table 3: source image (3a), teacher signal (3b), augmentations (3c)."""
    input:
        runs=[PLAN.path(job, "metrics.json") for cell in TABLE3 for job in cell.jobs],
        teachers=[PLAN.path(PLAN.teacher(d), "metrics.json") for d in PARAMS["table3"]["datasets"]],
    output:
        csv="paper_tables/table3.csv",
        md="paper_tables/table3.md",
    params:
        cells=TABLE3,
    log:
        f"{R}/logs/table3.log",
    script:
        "../scripts/table.py"
