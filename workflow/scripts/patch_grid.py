from _common import job_context

from augprior.patches import load_patch_set, save_patch_grid

with job_context(snakemake):  # noqa: F821 (injected by Snakemake)
    save_patch_grid(load_patch_set(snakemake.input[0]), snakemake.output[0])  # noqa: F821
    print(f"patch grid of {snakemake.input[0]} -> {snakemake.output[0]}")  # noqa: F821
