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


rule zeroskd:
    """Zero-shot KD with an adversarial generator (Micaelli & Storkey 2019), Table 2."""
    input:
        unpack(job_inputs("zeroskd")),
    output:
        student=f"{R}/zeroskd/{{job}}/student.pt",
        metrics=f"{R}/zeroskd/{{job}}/metrics.json",
    params:
        job=job_spec("zeroskd"),
    threads: rule_threads("distill")
    resources:
        **rule_resources("distill"),
    log:
        f"{R}/logs/zeroskd/{{job}}.log",
    script:
        "../scripts/zeroskd.py"
