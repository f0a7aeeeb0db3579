rule train_teacher:
    """Supervised teacher on the target dataset; one artifact shared by every experiment that names it."""
    output:
        model=f"{R}/teacher/{{job}}/model.pt",
        metrics=f"{R}/teacher/{{job}}/metrics.json",
    params:
        job=job_spec("teacher"),
    threads: rule_threads("teacher")
    resources:
        **rule_resources("teacher"),
    log:
        f"{R}/logs/teacher/{{job}}.log",
    script:
        "../scripts/train_teacher.py"
