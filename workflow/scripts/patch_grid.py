from augprior.patches import load_patch_set, save_patch_grid

save_patch_grid(load_patch_set(snakemake.input[0]), snakemake.output[0])  # noqa: F821
