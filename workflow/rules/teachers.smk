rule train_teacher:
    """Supervised teacher on the target dataset; one artifact shared by every experiment that names it."""
    output:
        model=job_output("teacher", "model.pt"),
        metrics=job_output("teacher", "metrics.json"),
    params:
        job=job_spec("teacher"),
    threads: rule_threads("teacher")
    resources:
        **rule_resources("teacher"),
    log:
        job_log("teacher"),
    script:
        "../scripts/train_teacher.py"
