import math

import pytest
import torch

from augprior.analysis import gist


def _grating(angle, side=64, period=6.0):
    y, x = torch.meshgrid(torch.arange(side, dtype=torch.float64), torch.arange(side, dtype=torch.float64), indexing="ij")
    v = torch.sin(2 * math.pi * (x * math.cos(angle) + y * math.sin(angle)) / period)
    return ((v + 1) * 127.5).round().to(torch.uint8)[None, None].repeat(1, 3, 1, 1)


def _orientation_energy(images):
    return gist.gist(images, side=64).view(len(images), 4, 8, 16).sum((1, 3))  # (N, 8 orientations)


def test_descriptor_shape_and_normalisation():
    d = gist.describe(torch.randint(0, 256, (3, 3, 40, 40), dtype=torch.uint8), side=32)
    assert d.shape == (3, 4 * 8 * 16) and torch.allclose(d.norm(dim=1), torch.ones(3, dtype=torch.float64))


def test_a_gratings_energy_peaks_in_its_orientation_channel():
    e = _orientation_energy(torch.cat([_grating(0.0), _grating(math.pi / 2)]))
    assert e[0].argmax() == 0 and e[1].argmax() == 4  # 8 orientations: 90 degrees apart = 4 channels
    assert e[0, 0] > 2 * e[0, 1:].max()  # a clear peak


def test_rotating_by_90_degrees_moves_energy_to_the_orthogonal_channel():
    img = _grating(math.pi / 8)
    e0, e90 = _orientation_energy(torch.cat([img, torch.rot90(img, 1, dims=(2, 3))]))
    assert (e90.argmax() - e0.argmax()) % 8 == 4
    assert torch.allclose(e90, e0.roll(4), rtol=0.05, atol=1e-3 * e0.max())


def test_distance_to_itself_is_zero():
    x = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    d = gist.describe(torch.cat([x, x]))
    dist = gist.pairwise_distances(d)
    i, j = torch.triu_indices(8, 8, 1)
    assert dist[(j - i) == 4].abs().max() < 1e-12 and dist[(j - i) != 4].min() > 0
    assert len(gist.pairwise_distances(d, pairs=10)) == 10 and (gist.pairwise_distances(d, pairs=10) >= 0).all()
    assert gist.pairwise_distances(d, pairs=10) == pytest.approx(gist.pairwise_distances(d, pairs=10))


def test_agrees_with_torchgist_a_port_of_the_reference_lmgist():
    """Oracle: torchgist 1.0.0 (one image at a time, float32); its features are in MATLAB's column-major block
    order. It silences every warning on import, so it is imported under catch_warnings."""
    import warnings

    with warnings.catch_warnings():
        from torchgist.models.models import GIST

    images = torch.randint(0, 256, (3, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    ours = gist.gist(images, side=64)
    filters = ours.shape[1] // 16
    ours = ours.view(3, filters, 4, 4).transpose(2, 3).reshape(3, -1)
    theirs = GIST(image_size=(64, 64), boundary_extension=16)(images.double()).double()
    assert (ours - theirs).abs().max() < 1e-5 * theirs.abs().max()
