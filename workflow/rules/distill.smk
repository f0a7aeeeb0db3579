rule distill:
    """Student learns from the teacher on augmented patches (function matching), evaluated on the real test set."""
    input:
        unpack(job_inputs("distill")),
    output:
        student=f"{R}/distill/{{job}}/student.pt",
        metrics=f"{R}/distill/{{job}}/metrics.json",
    params:
        job=job_spec("distill"),
    threads: rule_threads("distill")
    resources:
        **rule_resources("distill"),
    log:
        f"{R}/logs/distill/{{job}}.log",
    script:
        "../scripts/distill.py"
