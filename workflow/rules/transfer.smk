# Table 15's transfer evaluations (augprior.analysis.transfer_224): one job per 224-px model and task, reading
# the model a teacher or distillation job made and the task's data (ImageFolder layouts; COCO's own).


rule transfer:
    """A 224-px model on a transfer dataset: a linear probe or few-shot linear SVMs on its frozen features, or 1% fine-tuning, or COCO detection."""
    input:
        unpack(job_inputs("transfer")),
    output:
        metrics=job_output("transfer", "metrics.json"),
    log:
        job_log("transfer"),
    conda:
        "../envs/augprior.yaml"
    threads: rule_threads("transfer")
    resources:
        **rule_resources("transfer"),
    params:
        key=job_key("transfer"),
        job=job_param("transfer"),
    script:
        "../scripts/transfer.py"
