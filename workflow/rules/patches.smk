rule make_patches:
    """The single-image patch set: the distillation's whole training data."""
    input:
        unpack(job_inputs("patches")),
    output:
        patches=job_output("patches", "patches.npy"),
        meta=job_output("patches", "patches.json"),
    log:
        job_log("patches"),
    conda:
        "../envs/augprior.yaml"
    threads: rule_threads("patches")
    resources:
        **rule_resources("patches"),
    params:
        key=job_key("patches"),
        job=job_param("patches"),
    script:
        "../scripts/make_patches.py"


rule make_patch_shards:
    """A patch set too large for one file (large_scale.patches.storage kind shards): a folder of .npy shards,
    index.json last; a killed job resumes at the first missing shard (only index.json is a declared output).
    """
    input:
        unpack(job_inputs("patches")),
    output:
        patches=job_output("patches", "shards/index.json"),
    log:
        job_log("patches"),
    conda:
        "../envs/augprior.yaml"
    threads: rule_threads("patches")
    resources:
        **rule_resources("patches"),
    params:
        key=job_key("patches"),
        job=job_param("patches"),
    script:
        "../scripts/make_patches.py"


rule make_synthetic:
    """A synthetic image set (FractalDB-style fractals, random-init StyleGAN) in the patch-set format."""
    output:
        images=job_output("synthetic", "synthetic.npy"),
        meta=job_output("synthetic", "synthetic.json"),
    log:
        job_log("synthetic"),
    conda:
        "../envs/augprior.yaml"
    threads: rule_threads("patches")
    resources:
        **rule_resources("patches"),
    params:
        key=job_key("synthetic"),
        job=job_param("synthetic"),
    script:
        "../scripts/make_synthetic.py"
