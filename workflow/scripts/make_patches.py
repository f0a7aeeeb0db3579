from _common import job_context

from augprior.patches import PatchSpec, make_patch_set

with job_context(snakemake):  # noqa: F821 (injected by Snakemake)
    job = snakemake.params.job  # noqa: F821
    cfg = job["patches"]
    spec = PatchSpec(size=cfg["size"], jpeg_quality=cfg["jpeg_quality"], vflip=cfg["vflip"])
    make_patch_set(job["image"], snakemake.output.patches, spec, num=cfg["num"], seed=cfg["seed"],  # noqa: F821
                   engine=cfg["engine"], mirror=job["mirror"])
