rule compress:
    """Self-distillation of a trained teacher into a pruned or 8-bit quantisation-aware clone of itself (Tables 13, 14)."""
    input:
        unpack(job_inputs("compress")),
    output:
        student=job_output("compress", "student.pt"),
        metrics=job_output("compress", "metrics.json"),
    log:
        job_log("compress"),
    conda:
        "../envs/augprior.yaml"
    threads: rule_threads("distill")
    resources:
        **rule_resources("distill"),
    params:
        key=job_key("compress"),
        job=job_param("compress"),
    script:
        "../scripts/compress.py"
