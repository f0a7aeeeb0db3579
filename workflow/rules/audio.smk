rule audio_teacher:
    """The paper's audio CNN trained with labels on the target's clips (log-Mel of random 1-s crops)."""
    input:
        unpack(job_inputs("audio_teacher")),
    output:
        model=job_output("audio_teacher", "model.pt"),
        metrics=job_output("audio_teacher", "metrics.json"),
    log:
        job_log("audio_teacher"),
    conda:
        "../envs/augprior.yaml"
    threads: rule_threads("teacher")
    resources:
        **rule_resources("teacher"),
    params:
        key=job_key("audio_teacher"),
        job=job_param("audio_teacher"),
    script:
        "../scripts/audio_teacher.py"


rule audio_clips:
    """The clip set of one source clip: random 2-s crops, one of the 14 AugLy augmentations each."""
    input:
        unpack(job_inputs("audio_clips")),
    output:
        clips=job_output("audio_clips", "clips.npy"),
        meta=job_output("audio_clips", "clips.json"),
        source=job_output("audio_clips", "source.wav"),
    log:
        job_log("audio_clips"),
    conda:
        "../envs/augprior.yaml"
    threads: rule_threads("patches")
    resources:
        **rule_resources("patches"),
    params:
        key=job_key("audio_clips"),
        job=job_param("audio_clips"),
    script:
        "../scripts/audio_clips.py"


rule audio_distill:
    """An audio student learns from the audio teacher (KD, MixUp) on a clip set or the full training clips."""
    input:
        unpack(job_inputs("audio_distill")),
    output:
        student=job_output("audio_distill", "student.pt"),
        metrics=job_output("audio_distill", "metrics.json"),
    log:
        job_log("audio_distill"),
    conda:
        "../envs/augprior.yaml"
    threads: rule_threads("distill")
    resources:
        **rule_resources("distill"),
    params:
        key=job_key("audio_distill"),
        job=job_param("audio_distill"),
    script:
        "../scripts/audio_distill.py"
