from _common import job_context

from augprior.runtime import select_device
from augprior.synthetic import make_synthetic_set

with job_context(snakemake):  # noqa: F821 (injected by Snakemake)
    job = snakemake.params.job.value  # noqa: F821
    options = dict(job["options"])
    if job["kind"] == "stylegan":
        options["device"] = str(select_device(job["device"]))
    meta = make_synthetic_set(job["kind"], snakemake.output.images, num=job["num"], size=job["size"],  # noqa: F821
                       seed=job["seed"], **options)
    print(f"{job['num']} {job['kind']} images of {job['size']} px (seed {job['seed']}) -> "
          f"{snakemake.output.images}" + (f" in {meta['wall_time_s']:.1f} s" if "wall_time_s" in (meta or {}) else ""))  # noqa: F821
