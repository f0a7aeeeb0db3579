"""Patch datasets: the official single-image patch generator, as a reference and a fast engine.

    from augprior.patches import PatchSpec, generate, make_patch_set, load_patch_set
    spec = PatchSpec(size=32, jpeg_quality=75, vflip=False)
    arr = generate(image_uint8_hwc, spec, num=1000, seed=0, engine="fast")   # (N, P, P, 3) uint8
    meta = make_patch_set("animals", "results/x/patches.npy", spec, num=1000, seed=0)
    x = load_patch_set("results/x/patches.npy")                              # uint8 (N, 3, P, P)
"""

from .generate import ENGINES, Producer, generate
from .grid import patch_mosaic, save_patch_grid
from .onthefly import OnTheFlyPatches
from .params import PatchParams, sample_params
from .spec import PatchError, PatchSpec
from .store import PatchShards, load_patch_meta, load_patch_set, make_patch_set, remove_patch_set

__all__ = ["ENGINES", "OnTheFlyPatches", "PatchError", "PatchParams", "PatchShards", "PatchSpec", "Producer",
           "generate", "load_patch_meta", "load_patch_set", "make_patch_set", "patch_mosaic",
           "remove_patch_set", "sample_params", "save_patch_grid"]
