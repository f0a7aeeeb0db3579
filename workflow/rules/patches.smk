rule make_patches:
    """The single-image patch set: the distillation's whole training data."""
    output:
        patches=f"{R}/patches/{{job}}/patches.npy",
        meta=f"{R}/patches/{{job}}/patches.json",
    params:
        job=job_spec("patches"),
    threads: rule_threads("patches")
    resources:
        **rule_resources("patches"),
    log:
        f"{R}/logs/patches/{{job}}.log",
    script:
        "../scripts/make_patches.py"


rule make_synthetic:
    """A synthetic image set (FractalDB-style fractals, random-init StyleGAN) in the patch-set format."""
    output:
        images=f"{R}/synthetic/{{job}}/synthetic.npy",
        meta=f"{R}/synthetic/{{job}}/synthetic.json",
    params:
        job=job_spec("synthetic"),
    threads: rule_threads("patches")
    resources:
        **rule_resources("patches"),
    log:
        f"{R}/logs/synthetic/{{job}}.log",
    script:
        "../scripts/make_synthetic.py"
