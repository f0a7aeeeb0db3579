from _common import job_context

from augprior.video.fakevideo import FakeVideoSpec, write_fakevideos

with job_context(snakemake):  # noqa: F821 (injected by Snakemake)
    job = snakemake.params.job.value  # noqa: F821
    fake = job["fake"]
    spec = FakeVideoSpec(frames=fake["frames"], size=fake["size"], initcrop=fake["initcrop"],
                         scale=tuple(fake["scale"]), seed=fake["seed"])
    meta = write_fakevideos(snakemake.output.clips, fake["image"], spec, fake["num"], mirror=job["mirror"],  # noqa: F821
                            workers=min(fake["workers"], snakemake.threads))  # noqa: F821
    print(f"{meta['num']} fake videos ({spec.frames} x {spec.size} px) of {meta['image']} "
          f"({meta['image_path']}, md5 {meta['image_md5']}) -> {snakemake.output.clips} "  # noqa: F821
          f"in {meta['seconds']:.1f} s ({meta['clips_per_s']} clips/s)")
