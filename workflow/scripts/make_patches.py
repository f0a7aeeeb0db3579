from _common import job_context

from augprior.patches import PatchSpec, make_patch_set
from augprior.patches.patchify import make_patchified_set
from augprior.runtime import select_device

with job_context(snakemake):  # noqa: F821 (injected by Snakemake)
    job = snakemake.params.job.value  # noqa: F821
    cfg = job["patches"]
    spec = PatchSpec(size=cfg["size"], jpeg_quality=cfg["jpeg_quality"], vflip=cfg["vflip"])
    common = dict(num=cfg["num"], seed=cfg["seed"], engine=cfg["engine"], mirror=job["mirror"],
                  device=str(select_device(job["device"])), geometry=cfg["geometry"], workers=cfg["workers"],
                  progress=False)
    if "patchify" in job:  # N real training images instead of one source image (Table 8's '(p)' rows)
        meta = make_patchified_set(job["patchify"]["dataset"], job["patchify"]["n"], snakemake.output.patches,  # noqa: F821
                                   spec, **common)
        src = meta["source"]
        print(f"{meta['count']} patches of {meta['size']} px ({meta['engine']} engine, seed {meta['seed']}) from "
              f"{src['images']} training images of {src['dataset']} (md5 {src['md5']}) "
              f"-> {snakemake.output.patches} in {meta['wall_time_s']:.1f} s")  # noqa: F821
    else:
        meta = make_patch_set(job["image"], snakemake.output.patches, spec, **common,  # noqa: F821
                              md5=job.get("image_md5"))  # a user's file: the content its job id was made from
        src = meta["source"]
        print(f"{meta['count']} patches of {meta['size']} px ({meta['engine']} engine, seed {meta['seed']}) from "
              f"{src['name']} ({src.get('path') or 'generated'}, {src['width']}x{src['height']}, md5 {src['md5']}) "
              f"-> {snakemake.output.patches} in {meta['wall_time_s']:.1f} s")  # noqa: F821
