"""Synthetic distillation data for Table 2: FractalDB-style fractals, random-init StyleGAN images,
and zero-shot KD with an adversarial generator (ZeroSKD).

    from augprior.synthetic import fractal_images, stylegan_images, make_synthetic_set, zeroskd
    metrics = zeroskd(job, out_dir)        # the zeroskd module is callable: runs zeroskd.zeroskd
"""

from . import zeroskd
from .fractal import fractal_images
from .store import KINDS, load_synthetic_set, make_synthetic_set
from .stylegan import stylegan_images

__all__ = ["KINDS", "fractal_images", "load_synthetic_set", "make_synthetic_set", "stylegan_images", "zeroskd"]
