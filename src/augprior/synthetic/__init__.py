"""Synthetic distillation data for Table 2: FractalDB-style fractals, random-init StyleGAN images,
and zero-shot KD with an adversarial generator (ZeroSKD).

    from augprior.synthetic import fractal_images, stylegan_images, make_synthetic_set, zeroskd
"""

from .fractal import fractal_images
from .store import KINDS, load_synthetic_set, make_synthetic_set
from .stylegan import stylegan_images


def zeroskd(job, out_dir, **kwargs):
    """Zero-shot KD (Micaelli & Storkey 2019); see augprior.synthetic.zeroskd."""
    from .zeroskd import zeroskd as _run

    return _run(job, out_dir, **kwargs)


__all__ = ["KINDS", "fractal_images", "load_synthetic_set", "make_synthetic_set", "stylegan_images", "zeroskd"]
