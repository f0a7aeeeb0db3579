"""Patch datasets: the official single-image patch generator, as a reference and a fast engine.

    from augprior.patches import PatchSpec, generate, make_patch_set, load_patch_set
    spec = PatchSpec(size=32, jpeg_quality=75, vflip=False)
    arr = generate(image_uint8_hwc, spec, num=1000, seed=0, engine="fast")   # (N, P, P, 3) uint8
"""

from .generate import ENGINES, generate
from .params import PatchParams, sample_params
from .spec import PatchError, PatchSpec

__all__ = ["ENGINES", "PatchError", "PatchParams", "PatchSpec", "generate", "sample_params"]
