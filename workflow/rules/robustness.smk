# ImageNet-C evaluations (Table 16; augprior.imagenet_c): one job per 224-px teacher or student, reading the model
# that Table 7's jobs train and the released benchmark's folders (or corrupting the val set where they are absent).


rule imagenet_c:
    """A 224-px model on ImageNet-C: clean error, top-1 error per corruption and severity, CE and mCE (AlexNet-normalised)."""
    input:
        unpack(job_inputs("imagenet_c")),
    output:
        metrics=job_output("imagenet_c", "metrics.json"),
    log:
        job_log("imagenet_c"),
    conda:
        "../envs/augprior.yaml"
    threads: rule_threads("imagenet_c")
    resources:
        **rule_resources("imagenet_c"),
    params:
        key=job_key("imagenet_c"),
        job=job_param("imagenet_c"),
    script:
        "../scripts/imagenet_c.py"
