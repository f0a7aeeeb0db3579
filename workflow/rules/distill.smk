rule distill:
    """Student learns from the teacher on augmented patches (function matching), evaluated on the real test set."""
    input:
        unpack(job_inputs("distill")),
    output:
        student=job_output("distill", "student.pt"),
        metrics=job_output("distill", "metrics.json"),
    log:
        job_log("distill"),
    wildcard_constraints:
        job=torchrun_jobs(False),
    conda:
        "../envs/augprior.yaml"
    threads: rule_threads("distill")
    resources:
        **rule_resources("distill"),
    params:
        key=job_key("distill"),
        job=job_param("distill"),
    script:
        "../scripts/distill.py"


rule distill_torchrun:
    """A 224-px distillation (Tables 7, 8, 10) on resources.distill_224's GPUs: with gpu > 1, torchrun starts one
    process per GPU (DDP, augprior.distributed); rank 0 writes the outputs."""
    input:
        unpack(job_inputs("distill")),
    output:
        student=job_output("distill", "student.pt"),
        metrics=job_output("distill", "metrics.json"),
    log:
        job_log("distill"),
    wildcard_constraints:
        job=torchrun_jobs(True),
    conda:
        "../envs/augprior.yaml"
    threads: rule_threads("distill_224")
    resources:
        **rule_resources("distill_224"),
    params:
        key=job_key("distill"),
        job=job_param("distill"),
    script:
        "../scripts/distill_torchrun.py"


rule zeroskd:
    """Zero-shot KD with an adversarial generator (Micaelli & Storkey 2019), Table 2."""
    input:
        unpack(job_inputs("zeroskd")),
    output:
        student=job_output("zeroskd", "student.pt"),
        metrics=job_output("zeroskd", "metrics.json"),
    log:
        job_log("zeroskd"),
    conda:
        "../envs/augprior.yaml"
    threads: rule_threads("distill")
    resources:
        **rule_resources("distill"),
    params:
        key=job_key("zeroskd"),
        job=job_param("zeroskd"),
    script:
        "../scripts/zeroskd.py"
