"""Worker processes do not change a single byte (spawned processes: a few seconds to start).

Both engines go through the same Producer; the reference engine is the one that needs workers."""

import numpy as np

from augprior.source_images import load_source_image
from augprior.patches import PatchSpec, generate


def test_reference_with_two_workers_gives_the_same_bytes():
    img = load_source_image("skimage:coffee")
    spec = PatchSpec(size=32)
    one = generate(img, spec, 36, seed=3, engine="reference", batch_size=5)
    two = generate(img, spec, 36, seed=3, engine="reference", batch_size=6, workers=2)
    assert np.array_equal(one, two)
