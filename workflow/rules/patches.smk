rule make_patches:
    """The single-image patch set: the distillation's whole training data."""
    output:
        patches=job_output("patches", "patches.npy"),
        meta=job_output("patches", "patches.json"),
    params:
        job=job_spec("patches"),
    threads: rule_threads("patches")
    resources:
        **rule_resources("patches"),
    log:
        job_log("patches"),
    script:
        "../scripts/make_patches.py"


rule make_synthetic:
    """A synthetic image set (FractalDB-style fractals, random-init StyleGAN) in the patch-set format."""
    output:
        images=job_output("synthetic", "synthetic.npy"),
        meta=job_output("synthetic", "synthetic.json"),
    params:
        job=job_spec("synthetic"),
    threads: rule_threads("patches")
    resources:
        **rule_resources("patches"),
    log:
        job_log("synthetic"),
    script:
        "../scripts/make_synthetic.py"
