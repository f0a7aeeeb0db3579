rule train_teacher:
    """Supervised teacher on the target dataset; one artifact shared by every experiment that names it."""
    output:
        model=job_output("teacher", "model.pt"),
        metrics=job_output("teacher", "metrics.json"),
    log:
        job_log("teacher"),
    conda:
        "../envs/augprior.yaml"
    threads: rule_threads("teacher")
    resources:
        **rule_resources("teacher"),
    params:
        key=job_key("teacher"),
        job=job_param("teacher"),
    script:
        "../scripts/train_teacher.py"
