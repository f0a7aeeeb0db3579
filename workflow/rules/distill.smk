rule distill:
    """Student learns from the teacher on augmented patches (function matching), evaluated on the real test set."""
    input:
        unpack(job_inputs("distill")),
    output:
        student=job_output("distill", "student.pt"),
        metrics=job_output("distill", "metrics.json"),
    params:
        job=job_spec("distill"),
    threads: rule_threads("distill")
    resources:
        **rule_resources("distill"),
    log:
        job_log("distill"),
    script:
        "../scripts/distill.py"


rule zeroskd:
    """Zero-shot KD with an adversarial generator (Micaelli & Storkey 2019), Table 2."""
    input:
        unpack(job_inputs("zeroskd")),
    output:
        student=job_output("zeroskd", "student.pt"),
        metrics=job_output("zeroskd", "metrics.json"),
    params:
        job=job_spec("zeroskd"),
    threads: rule_threads("distill")
    resources:
        **rule_resources("distill"),
    log:
        job_log("zeroskd"),
    script:
        "../scripts/zeroskd.py"
