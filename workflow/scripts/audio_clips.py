from _common import job_context

from augprior.audio.clipset import make_clip_set

with job_context(snakemake):  # noqa: F821 (injected by Snakemake)
    job = snakemake.params.job.value  # noqa: F821
    cfg = job["clips"]
    meta = make_clip_set(job["source"], snakemake.output.clips, num=cfg["num"], sample_rate=job["sample_rate"],  # noqa: F821
                         crop_seconds=cfg["crop_seconds"], source_seconds=cfg["source_seconds"], seed=cfg["seed"],
                         workers=min(cfg["workers"], snakemake.threads))  # noqa: F821
    print(f"{meta['count']} clips of {meta['crop_seconds']} s at {meta['sample_rate']} Hz from "
          f"{meta['source_description']} -> {snakemake.output.clips} in {meta['seconds']:.1f} s")  # noqa: F821
