rule video_teacher:
    """An X3D-XS video teacher (pytorchvideo's Kinetics-400 weights or a user checkpoint), evaluated on the target test set."""
    input:
        unpack(job_inputs("video_teacher")),
    output:
        model=job_output("video_teacher", "model.pt"),
        metrics=job_output("video_teacher", "metrics.json"),
    log:
        job_log("video_teacher"),
    conda:
        "../envs/augprior.yaml"
    threads: rule_threads("video")
    resources:
        **rule_resources("video"),
    params:
        key=job_key("video_teacher"),
        job=job_param("video_teacher"),
    script:
        "../scripts/video_teacher.py"


rule make_fakevideos:
    """Fake videos of one image (linear pan and zoom between two random crops), stored once."""
    output:
        clips=job_output("fakevideos", "fakevideos.npy"),
        meta=job_output("fakevideos", "fakevideos.json"),
    log:
        job_log("fakevideos"),
    conda:
        "../envs/augprior.yaml"
    threads: rule_threads("patches")
    resources:
        **rule_resources("patches"),
    params:
        key=job_key("fakevideos"),
        job=job_param("fakevideos"),
    script:
        "../scripts/video_fakevideos.py"


rule video_distill:
    """The expanded X3D-XS student learns from the video teacher on fake videos of one image (Table 6)."""
    input:
        unpack(job_inputs("video_distill")),
    output:
        student=job_output("video_distill", "student.pt"),
        metrics=job_output("video_distill", "metrics.json"),
    log:
        job_log("video_distill"),
    conda:
        "../envs/augprior.yaml"
    threads: rule_threads("video")
    resources:
        **rule_resources("video"),
    params:
        key=job_key("video_distill"),
        job=job_param("video_distill"),
    script:
        "../scripts/video_distill.py"
