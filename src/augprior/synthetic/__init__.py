"""Synthetic distillation data for Table 2: FractalDB-style fractals, random-init StyleGAN images,
and zero-shot KD with an adversarial generator (ZeroSKD).

    from augprior.synthetic import fractal_images, stylegan_images, make_synthetic_set
    from augprior.synthetic.zeroskd import zeroskd     # (job, out_dir, test_set=None) -> metrics

(`zeroskd` is not re-exported here: the submodule of the same name would shadow it.)
"""

from .fractal import fractal_images
from .store import KINDS, load_synthetic_set, make_synthetic_set
from .stylegan import stylegan_images

__all__ = ["KINDS", "fractal_images", "load_synthetic_set", "make_synthetic_set", "stylegan_images"]
