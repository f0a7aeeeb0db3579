# Analysis figures (augprior.analysis: CKA, per-class accuracy, confidence, ...): they read the teachers,
# students and patch sets the tables train (the same jobs, as inputs) and add no training of their own.
from augprior.experiments import ANALYSES


rule analysis:
    """An analysis figure: the PNG, every number behind it (CSV) and a note on the paper's claim (md)."""
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
        metrics="paper_tables/metrics/{name}.json",  # DVC metrics (augprior.analysis.report)
    log:
        jobs.log_path(SCALE, "figures", "{name}"),
    wildcard_constraints:
        name="|".join(ANALYSES),
    conda:
        "../envs/augprior.yaml"
    threads: rule_threads("analysis")
    resources:
        **rule_resources("analysis"),
    params:
        key=lambda wc: RULES.table_key(wc.name, PARAMS),
        cells=lambda wc: RULES.table_cells(wc.name),
        block=lambda wc: experiments.context(PARAMS, wc.name).block,
        resolved=RULES.untracked(PARAMS),
        title=lambda wc: EXPERIMENTS.get(wc.name).title,
    script:
        "../scripts/analysis.py"


ruleorder: analysis > figure
